"""Colours of the views (docs/app.md §Colours): the sequential, diverging and categorical scales, the same in
every view.  Standard library only."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["CATEGORICAL", "DIV_HIGH", "DIV_LOW", "DIV_MID", "SEQ_HIGH", "SEQ_LOW", "WORD_HIGH", "category_colors",
           "is_ordinal", "ordinal_colors", "scalar_scale", "track_colors"]

SEQ_LOW, SEQ_HIGH = "#f7f7f7", "#0571b0"
DIV_LOW, DIV_MID, DIV_HIGH = "#ca0020", "#f7f7f7", "#0571b0"
WORD_HIGH = "#1399e4"
#: 20 categorical colours (d3 category20), then greys #333 -> #eee for further categories.
CATEGORICAL = [
    "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896",
    "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7",
    "#bcbd22", "#dbdb8d", "#17becf", "#9edae5",
]


def category_colors(categories: Sequence[str]) -> dict[str, str]:
    """A fixed colour per category (in the track's category order), the same in every view."""
    cats = list(dict.fromkeys(str(c) for c in categories))
    out = {}
    extra = max(len(cats) - len(CATEGORICAL), 0)
    for i, c in enumerate(cats):
        if i < len(CATEGORICAL):
            out[c] = CATEGORICAL[i]
        else:
            j = i - len(CATEGORICAL)
            g = int(0x33 + (0xEE - 0x33) * (j / max(extra - 1, 1)))
            out[c] = f"#{g:02x}{g:02x}{g:02x}"
    return out


def scalar_scale(lo: float | None, hi: float | None) -> tuple[list[float], list[str]]:
    """Domain and range of a scalar track: white->blue, or red-white-blue if it straddles 0."""
    lo = 0.0 if lo is None or not math.isfinite(lo) else float(lo)
    hi = 1.0 if hi is None or not math.isfinite(hi) else float(hi)
    if hi <= lo:
        hi = lo + 1.0
    if lo < 0 < hi:
        m = max(-lo, hi)
        return [-m, 0.0, m], [DIV_LOW, DIV_MID, DIV_HIGH]
    return [lo, hi], [SEQ_LOW, SEQ_HIGH]


#: sequential steps for ordinal tracks (nesting depth ...): light to dark blue, ColorBrewer Blues.
ORDINAL = ["#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]


def is_ordinal(categories: Sequence[str]) -> bool:
    """True when every category is an integer (a depth, a count): drawn with a sequential palette."""
    cats = [str(c).strip() for c in categories]
    return bool(cats) and all(c.lstrip("-").isdigit() for c in cats)


def ordinal_colors(categories: Sequence[str]) -> dict[str, str]:
    """Light-to-dark colours in numeric order of the categories (evenly spread over ``ORDINAL``)."""
    cats = sorted(dict.fromkeys(str(c).strip() for c in categories), key=int)
    k = len(cats)
    return {c: ORDINAL[round(i * (len(ORDINAL) - 1) / max(k - 1, 1))] for i, c in enumerate(cats)}


def track_colors(categories: Sequence[str]) -> tuple[str, dict[str, str]]:
    """(kind, colours) of a categorical track: ``ordinal`` with a sequential palette when its
    categories are integers, else ``categorical`` with the fixed categorical colours."""
    if is_ordinal(categories):
        return "ordinal", ordinal_colors(categories)
    return "categorical", category_colors(categories)
