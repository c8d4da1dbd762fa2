"""Pure Altair builders of the app's views: each takes tidy frames and returns an ``alt`` chart.

Colours follow docs/app.md §Colours (``palette`` holds the scales).  The Match view is
:mod:`lstmvis_db.views.match_charts` (this module holds its shared hover), the Select view
:mod:`lstmvis_db.views.select_chart`.
"""

from __future__ import annotations

import warnings

import altair as alt
import pandas as pd

from lstmvis_db.views import palette

# The hover parameter is shared on purpose by the matrix and every heatmap (one param, many views).
warnings.filterwarnings("ignore", message="Automatically deduplicated selection parameter")

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
