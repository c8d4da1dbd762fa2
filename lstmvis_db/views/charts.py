"""Pure Altair builders of the app's views: each takes tidy frames and returns an ``alt`` chart.

Colours follow docs/app.md §Colours (``palette`` holds the scales).  The Select view is one vertical stack on
a shared position axis (pattern plot, word strip with the ``brush`` interval selection, the
padding signature, annotation tracks, on-range view, Jaccard preview), so everything lines up
under the words; the Match view is the result matrix with its heatmaps beside it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from lstmvis_db.views import palette

# The hover parameter is shared on purpose by the matrix and every heatmap (one param, many views).
warnings.filterwarnings("ignore", message="Automatically deduplicated selection parameter")

#: What the builders return (and the composers accept).
AnyChart = alt.Chart | alt.LayerChart | alt.FacetChart | alt.VConcatChart | alt.HConcatChart

BRUSH = "brush"
HIST = "hist"
HOVER = "hover"


#: (rank, step) under the pointer: cross-highlighted in the matrix and every heatmap (one shared
#: parameter object, so Altair lists every view that uses it).
_HOVER_PARAM = alt.selection_point(name=HOVER, on="pointerover", fields=["rank", "offset"], empty=False,
                                   clear="pointerout")


#: the selected cell under the pointer: its line and its on-range row are highlighted together.
_CELL_HOVER = alt.selection_point(name="cell_hover", on="pointerover", fields=["cell"], empty=False,
                                  clear="pointerout")


def _hover() -> alt.Parameter:
    return _HOVER_PARAM


def _hover_stroke(hover: alt.Parameter, base: str = "white", width: float = 0.5) -> dict:
    return {"stroke": alt.condition(hover, alt.value("#e66101"), alt.value(base)),
            "strokeWidth": alt.condition(hover, alt.value(2.5), alt.value(width))}
_AXISLESS = alt.Axis(labels=False, ticks=False, title=None, grid=False, domain=False)


def _x(lo: int, hi: int, axis: alt.Axis | None = _AXISLESS, field: str = "pos") -> alt.X:
    return alt.X(f"{field}:Q", scale=alt.Scale(domain=[lo - 0.5, hi + 0.5], nice=False, zero=False), axis=axis)


def _spans(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the x-extent ``x0``, ``x1`` of each token's rectangle (its ``pos`` +- 0.5)."""
    return df.assign(x0=df["pos"] - 0.5, x1=df["pos"] + 0.5)


def _fade(mask: bool, max_count: int, floor: float) -> dict[str, alt.Opacity]:
    """With ``mask``, the encoding that fades a word from opacity 1 down to ``floor`` as fewer
    selected cells are on (by its ``count``); else no encoding."""
    if not mask:
        return {}
    return {"opacity": alt.Opacity("count:Q", legend=None, scale=alt.Scale(domain=[0, max(max_count, 1)],
                                                                          range=[floor, 1]))}


def _width(lo: int, hi: int, cw: int) -> int:
    return max(int(cw) * (hi - lo + 1), 60)


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


# --------------------------------------------------------------------------- Select view rows


def pattern_plot(lines: pd.DataFrame, lo: int, hi: int, threshold: float, y_domain: Sequence[float],
                 cw: int = 30, height: int = 220, pos: int | None = None,
                 brush: tuple[int, int] | None = None, n_cells: int | None = None) -> AnyChart:
    """Every cell as a line; others faint grey, selected highlighted, the threshold rule."""
    width = _width(lo, hi, cw)
    d = n_cells or max(int(lines["cell"].nunique()) if len(lines) else 1, 1)
    faint = min(max(1.0 / math.sqrt(d), 0.06), 0.6)
    y = alt.Y("value:Q", title="activation", scale=alt.Scale(domain=list(y_domain), nice=False, clamp=True))
    base = alt.Chart(lines).encode(_x(lo, hi), y, detail="cell:N")
    other = base.transform_filter(alt.datum.status == "other").mark_line(
        color="#888888", strokeWidth=1, opacity=faint, interpolate="monotone")
    excl = base.transform_filter(alt.datum.status == "excluded").mark_line(
        color=palette.DIV_LOW, strokeWidth=1.2, strokeDash=[4, 3], opacity=0.6, interpolate="monotone")
    sel = base.transform_filter(alt.datum.status == "selected").mark_line(
        interpolate="monotone").encode(
        color=alt.condition(_CELL_HOVER, alt.value("#e66101"), alt.value(palette.SEQ_HIGH)),
        strokeWidth=alt.condition(_CELL_HOVER, alt.value(3.5), alt.value(2)),
        tooltip=[alt.Tooltip("cell:N", title="cell"), alt.Tooltip("pos:Q", title="position"),
                 alt.Tooltip("value:Q", title="value", format=".4f")]).add_params(_CELL_HOVER)
    rules = pd.DataFrame({"y": [0.0, float(threshold)], "kind": ["zero", "threshold"]})
    zero = alt.Chart(rules[rules.kind == "zero"]).mark_rule(color="#bbbbbb").encode(y="y:Q")
    thr = alt.Chart(rules[rules.kind == "threshold"]).mark_rule(
        color=palette.DIV_LOW, strokeDash=[6, 3], strokeWidth=1.5).encode(
        y="y:Q", tooltip=[alt.Tooltip("y:Q", title="threshold", format=".3f")])
    layers = [other, excl, sel, zero, thr]
    marks = []
    if pos is not None and lo <= pos <= hi:
        marks.append(pos - 0.5)
    if brush is not None:
        marks += [brush[0] - 0.5, brush[1] + 0.5]
    if marks:  # dashed verticals: the window's position (faint) and the brushed range
        n_pos = len(marks) - (2 if brush else 0)
        layers.append(alt.Chart(pd.DataFrame({"pos": marks, "strong": [False] * n_pos + [True] * (len(marks) - n_pos)}))
                      .mark_rule(strokeDash=[3, 3], color="#555555").encode(
            _x(lo, hi), opacity=alt.condition(alt.datum.strong, alt.value(0.8), alt.value(0.35))))
    return alt.layer(*layers).properties(width=width, height=height)


def word_strip(words: pd.DataFrame, lo: int, hi: int, cw: int = 30, pos: int | None = None,
               brush: tuple[int, int] | None = None, selection_name: str = BRUSH) -> AnyChart:
    """Tokens under the plot, background = how many selected cells are on; the interval
    selection ``selection_name`` (x only) is the hypothesis brush."""
    width = _width(lo, hi, cw)
    df = _spans(words)
    sel = alt.selection_interval(name=selection_name, encodings=["x"],
                                 mark=alt.BrushConfig(fill="#fdae61", fillOpacity=0.2, stroke="#e66101",
                                                      strokeOpacity=0.4))
    mc = int(df["count"].max()) if len(df) else 1
    bg = alt.Chart(df).mark_rect(stroke="white", strokeWidth=0.5).encode(
        _x(lo, hi, field="x0"),
        x2="x1:Q", color=count_color("count", mc, high=palette.WORD_HIGH, title="cells on"),
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("token:N", title="token"),
                 alt.Tooltip("count:Q", title="selected cells on")])
    text = alt.Chart(df).mark_text(fontSize=12, limit=max(cw - 2, 6), baseline="middle").encode(
        _x(lo, hi), text="label:N").add_params(sel)
    layers = [bg]
    if brush is not None:  # the current hypothesis range, drawn whatever the selection's state
        band = pd.DataFrame({"x0": [max(brush[0], lo - 0.5) - 0.5], "x1": [min(brush[1], hi + 0.5) + 0.5]})
        layers.append(alt.Chart(band).mark_rect(fill=None, stroke="#e66101", strokeWidth=2.5).encode(
            _x(lo, hi, field="x0"), x2="x1:Q"))
    layers.append(text)
    if pos is not None and lo <= pos <= hi:
        rule = alt.Chart(pd.DataFrame({"pos": [pos - 0.5]})).mark_rule(color="#333333", strokeWidth=1.5)
        layers.append(rule.encode(_x(lo, hi)))
    return alt.layer(*layers).properties(width=width, height=26)


def signature_row(sig: pd.DataFrame, lo: int, hi: int, cw: int = 30) -> alt.Chart:
    """The off/on/off step line of the hypothesis (off-padding widths)."""
    df = sig.assign(pos=sig["x"].clip(lo - 0.5, hi + 0.5))
    return alt.Chart(df).mark_line(interpolate="linear", color="#e66101", strokeWidth=2, point=False).encode(
        _x(lo, hi), alt.Y("level:Q", scale=alt.Scale(domain=[-0.15, 1.15]), axis=None),
    ).properties(width=_width(lo, hi, cw), height=14)


def _row_title(name: str) -> alt.TitleParams:
    return alt.TitleParams(name, anchor="start", fontSize=11, fontWeight="normal", color="#555555", offset=2)


def category_track(df: pd.DataFrame, name: str, colors: Mapping[str, str], lo: int, hi: int, cw: int = 30,
                   mask: bool = False, max_count: int = 1) -> AnyChart:
    """A categorical annotation row: coloured labels aligned with the words (columns pos, label,
    count).  With ``mask`` the colours fade where few selected cells are on."""
    d = _spans(df)
    enc = _fade(mask, max_count, 0.2)
    rect = alt.Chart(d).mark_rect(stroke="white", strokeWidth=0.5).encode(
        _x(lo, hi, field="x0"), x2="x1:Q",
        color=category_color("label", colors, title=name),
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("label:N", title=name)], **enc)
    text = alt.Chart(d).mark_text(fontSize=9, limit=max(cw - 2, 6), color="#222222").encode(_x(lo, hi), text="label:N")
    return alt.layer(rect, text).properties(width=_width(lo, hi, cw), height=18, title=_row_title(name))


def scalar_track(df: pd.DataFrame, name: str, vmin: float | None, vmax: float | None, lo: int, hi: int,
                 cw: int = 30, mask: bool = False, max_count: int = 1) -> alt.Chart:
    """A scalar annotation row (columns pos, value, count)."""
    d = _spans(df)
    enc = _fade(mask, max_count, 0.2)
    return alt.Chart(d).mark_rect(stroke="white", strokeWidth=0.5).encode(
        _x(lo, hi, field="x0"), x2="x1:Q",
        color=scalar_color("value", vmin, vmax, title=name),
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("value:Q", title=name, format=".4f")], **enc,
    ).properties(width=_width(lo, hi, cw), height=18, title=_row_title(name))


def topk_track(df: pd.DataFrame, name: str, lo: int, hi: int, cw: int = 30, k: int = 5) -> AnyChart:
    """Top-k prediction rows (columns pos, rank, label, score), coloured by score."""
    d = df[df["rank"] <= k].assign(x0=lambda f: f["pos"] - 0.5, x1=lambda f: f["pos"] + 0.5)
    y = alt.Y("rank:O", axis=None)
    rect = alt.Chart(d).mark_rect(stroke="white", strokeWidth=0.5).encode(
        _x(lo, hi, field="x0"), x2="x1:Q", y=y,
        color=alt.Color("score:Q", legend=None, scale=alt.Scale(range=[palette.SEQ_LOW, palette.SEQ_HIGH], zero=True)),
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("rank:O", title="rank"),
                 alt.Tooltip("token:N", title="prediction"), alt.Tooltip("score:Q", title="score", format=".4f")])
    text = alt.Chart(d).mark_text(fontSize=9, limit=max(cw - 2, 6)).encode(_x(lo, hi), y=y, text="label:N")
    rows = max(min(k, int(d["rank"].max()) if len(d) else 1), 1)
    return alt.layer(rect, text).properties(width=_width(lo, hi, cw), height=15 * rows, title=_row_title(name))


def on_range_view(ranges: pd.DataFrame, lo: int, hi: int, cw: int = 30) -> alt.Chart:
    """V1 cell-by-cell range view: one thin bar per on-run of each selected cell."""
    d = ranges.assign(x0=ranges["start"] - 0.45, x1=ranges["end"] + 0.45)
    n = int(ranges["order"].max()) + 1 if len(ranges) else 1
    return alt.Chart(d).mark_rect(opacity=0.8, cornerRadius=1).encode(
        _x(lo, hi, field="x0"),
        alt.Y("order:O", axis=None, scale=alt.Scale(paddingInner=0.35)), x2="x1:Q",
        color=alt.condition(_CELL_HOVER, alt.value("#e66101"), alt.value(palette.SEQ_HIGH)),
        tooltip=[alt.Tooltip("cell:N", title="cell"), alt.Tooltip("start:Q", title="on from"),
                 alt.Tooltip("end:Q", title="to")],
    ).add_params(_CELL_HOVER).properties(width=_width(lo, hi, cw), height=max(6 * n, 6),
                                         title=_row_title("on-ranges of the selected cells"))


def jaccard_preview(df: pd.DataFrame, lo: int, hi: int, cw: int = 30) -> alt.Chart:
    """V1 mini preview: per-step Jaccard of the cells on with the query cells (columns pos, jaccard)."""
    return alt.Chart(df).mark_area(interpolate="step", color=palette.SEQ_HIGH, opacity=0.55, line=True).encode(
        _x(lo, hi),
        alt.Y("jaccard:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(title=None, tickCount=2, grid=False)),
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("jaccard:Q", title="Jaccard", format=".3f")],
    ).properties(width=_width(lo, hi, cw), height=36, title=_row_title("Jaccard with the query cells"))


def select_view(rows: Sequence[AnyChart]) -> alt.VConcatChart:
    """Stack the Select-view rows on the shared position axis."""
    return alt.vconcat(*rows, spacing=3).resolve_scale(color="independent", opacity="independent").configure_view(
        stroke=None).configure_concat(spacing=3)


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
