"""Pure Altair builders of the app's views: each takes tidy frames and returns an ``alt`` chart.

Colours follow docs/app.md §Colours (``palette`` holds the scales).  The Match view is the result matrix with
its heatmaps beside it; the Select view is :mod:`lstmvis_db.views.select_chart`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import altair as alt
import pandas as pd

from lstmvis_db.views import palette

# The hover parameter is shared on purpose by the matrix and every heatmap (one param, many views).
warnings.filterwarnings("ignore", message="Automatically deduplicated selection parameter")

#: What the builders return (and the composers accept).
AnyChart = alt.Chart | alt.LayerChart | alt.FacetChart | alt.VConcatChart | alt.HConcatChart

HIST = "hist"
HOVER = "hover"


#: (rank, step) under the pointer: cross-highlighted in the matrix and every heatmap (one shared
#: parameter object, so Altair lists every view that uses it).
_HOVER_PARAM = alt.selection_point(name=HOVER, on="pointerover", fields=["rank", "offset"], empty=False,
                                   clear="pointerout")


def _hover() -> alt.Parameter:
    return _HOVER_PARAM


def _hover_stroke(hover: alt.Parameter, base: str = "white", width: float = 0.5) -> dict:
    return {"stroke": alt.condition(hover, alt.value("#e66101"), alt.value(base)),
            "strokeWidth": alt.condition(hover, alt.value(2.5), alt.value(width))}


def _fade(mask: bool, max_count: int, floor: float) -> dict[str, alt.Opacity]:
    """With ``mask``, the encoding that fades a word from opacity 1 down to ``floor`` as fewer
    selected cells are on (by its ``count``); else no encoding."""
    if not mask:
        return {}
    return {"opacity": alt.Opacity("count:Q", legend=None, scale=alt.Scale(domain=[0, max(max_count, 1)],
                                                                          range=[floor, 1]))}


def count_color(field: str, max_count: int, title: str | None = None, high: str = palette.SEQ_HIGH) -> alt.Color:
    """Sequential white->blue over [0, max] (word backgrounds, count heatmaps)."""
    return alt.Color(f"{field}:Q", title=title or field, legend=None,
                     scale=alt.Scale(domain=[0, max(int(max_count), 1)], range=[palette.SEQ_LOW, high]))


def category_color(field: str, colors: Mapping[str, str], title: str | None = None) -> alt.Color:
    return alt.Color(f"{field}:N", title=title or field, legend=None,
                     scale=alt.Scale(domain=list(colors), range=list(colors.values())))


def scalar_color(field: str, lo: float | None, hi: float | None, title: str | None = None) -> alt.Color:
    domain, rng = palette.scalar_scale(lo, hi)
    return alt.Color(f"{field}:Q", title=title or field, legend=None, scale=alt.Scale(domain=domain, range=rng))




# --------------------------------------------------------------------------- SQL console


def quick_chart(df: pd.DataFrame, x: str, y: str, kind: str = "bar", limit: int = 200) -> alt.Chart:
    """A quick look at a query result: bar (x categories) or line/point (numeric x)."""
    d = df[[x, y]].head(limit).copy() if x != y else df[[x]].head(limit).copy()
    xnum = pd.api.types.is_numeric_dtype(d[x])
    marks = {"bar": alt.Chart(d).mark_bar(color=palette.SEQ_HIGH),
             "line": alt.Chart(d).mark_line(color=palette.SEQ_HIGH, point=True),
             "point": alt.Chart(d).mark_point(color=palette.SEQ_HIGH)}
    mark = marks.get(kind) or alt.Chart(d).mark_bar(color=palette.SEQ_HIGH)
    xt = "Q" if (xnum and kind != "bar") else ("O" if xnum else "N")
    yt = "Q" if pd.api.types.is_numeric_dtype(d[y]) else "N"
    enc_x = alt.X(f"{x}:{xt}", title=x, sort=None if xt != "N" else "-y")
    return mark.encode(enc_x, alt.Y(f"{y}:{yt}", title=y), tooltip=[f"{x}:{xt}", f"{y}:{yt}"]).properties(
        height=280, width="container")
