"""The Select view as layered Vega-Lite charts that fill the page width (docs/app.md §The Select view).

Rows are pixel bands of one view sharing the x scale (token slot ``x`` = position - window
start): the pattern plot with its threshold handle on the y-axis (press or drag it: point
selection ``THRESHOLD``), the words (the ``BRUSH`` interval, started only on the words), the
padding signature with its handles (point selection ``PAD``), the annotation tracks with their
names on the left and a colour legend each, the on-range rows and the Jaccard preview.  A click
on a selected line is the point selection ``CELL_PICK``.  Tokens and labels shrink to fit their
slot and are abbreviated with a trailing "." (the full text is in the tooltip).

The spec depends only on the :class:`Layout` (window size, source scale, tracks shown, ...) and
is cached by it; the values travel as named datasets (:func:`datasets`), so a rerun that moves
the threshold or the brush sends new data under an unchanged spec and the browser updates the
drawn view in place.  :func:`spec` is the whole view as one chart (the SVG export); the app draws
it as two (:func:`spec_parts`): the plot, words and signature, and under them the rows
(:mod:`select_rows`), so that a change of the rows alone leaves the plot's chart untouched.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import altair as alt
import numpy as np
import pandas as pd

from lstmvis_db.views import palette
from lstmvis_db.views.select_rows import GAP, NAME_GAP, named, pixel_y, row_dicts, row_layers, slot_text, slot_x, spans

__all__ = ["BRUSH", "CELL_PICK", "GAP", "PAD", "THRESHOLD", "WORD_CLICK", "Layout", "SelectParts", "TrackRow",
           "datasets", "gutter", "layout", "selections", "spec", "spec_parts", "threshold_levels"]

BRUSH, THRESHOLD, PAD, CELL_PICK, WORD_CLICK = "brush", "thr", "pad", "cell_pick", "word_click"
PLOT_H, WORD_H, SIG_H = 200, 24, 16
AXIS_EXTENT = 32  # px of the y-axis' ticks and labels, beyond its 16 px offset (fixed: see gutter())
LEVELS = 161  # steps of the threshold handle over the plot's y-domain
#: the on-ranges strip has room for whole groups of RANGE_STEP rows (at most MAX_RANGE_ROWS): the
#: number of rows is part of the rows chart's layout, and a threshold change that repacks the
#: ranges into one row more or less would otherwise send a new spec, which the browser compiles
#: afresh (threshold change 414 -> 270 ms median, quiet, bench_latency)
RANGE_STEP, MAX_RANGE_ROWS = 6, 21


@dataclass(frozen=True)
class TrackRow:
    """One annotation row: ``frame`` has x, pos, label (categorical/ordinal), value (scalar) or
    rank/label/token/score (topk), and count (selected cells on, for the mask)."""

    name: str
    kind: str
    frame: pd.DataFrame
    colors: Mapping[str, str] = field(default_factory=dict)
    vmin: float | None = None
    vmax: float | None = None


@dataclass(frozen=True)
class SelectParts:
    """Everything the Select chart draws; x values are slots 0..n-1 of the window."""

    n: int
    n_cells: int
    lines: pd.DataFrame  # x, pos, cell, value (displayed), raw, status
    words: pd.DataFrame  # x, pos, token, label, count
    threshold: pd.DataFrame  # one row: value (displayed), raw
    y_domain: tuple[float, float]
    axis_title: str = "activation"
    marks: pd.DataFrame | None = None  # x, strong: dashed verticals (position, brushed range)
    band: pd.DataFrame | None = None  # x0, x1: the brushed range on the words (clipped)
    signature: pd.DataFrame | None = None  # x, level
    handles: pd.DataFrame | None = None  # x, side
    tracks: Sequence[TrackRow] = ()
    ranges: pd.DataFrame | None = None  # cell, start, end, x0, x1, order
    jaccard: pd.DataFrame | None = None  # x, pos, jaccard
    mask: bool = True
    per_cell: bool = False  # per-cell display scaling: no threshold line or handle, a threshold per line


@dataclass(frozen=True)
class Layout:
    """What the spec depends on (hashable); everything else is data."""

    n: int
    n_cells: int
    y_domain: tuple[float, float]
    axis_title: str
    tracks: tuple[tuple[str, str, tuple[tuple[str, str], ...], float | None, float | None, int], ...]
    range_rows: int
    query: bool
    mask: bool
    per_cell: bool = False
    gutter: int = 64


def gutter(names: Sequence[str]) -> int:
    """The charts' left margin in px: the y-axis (16 px offset, AXIS_EXTENT, its title), or the
    longest row name (10 px font, about 5 px a character, right-aligned at -NAME_GAP, cut at 110
    px) if it needs more; in steps of 16 px, so that most tracks leave it, and the plot's spec with
    it, unchanged."""
    need = max([64, *(NAME_GAP + min(5 * len(n) + 2, 110) for n in names)])
    return int(-(-need // 16) * 16)


def _rows(frame: pd.DataFrame | None, col: str) -> int:
    return int(frame[col].max()) + 1 if frame is not None and len(frame) else 1


def _range_rows(ranges: pd.DataFrame | None) -> int:
    """Rows of the on-ranges strip: the packed rows rounded up to a whole RANGE_STEP."""
    return min(-(-_rows(ranges, "order") // RANGE_STEP) * RANGE_STEP, MAX_RANGE_ROWS)


def layout(p: SelectParts) -> Layout:
    def fin(v):
        return None if v is None or not np.isfinite(v) else float(v)

    tracks = tuple((t.name, t.kind, tuple(t.colors.items()), fin(t.vmin), fin(t.vmax),
                    _rows(t.frame, "rank") - 1 if t.kind == "topk" else 1) for t in p.tracks)
    names = [t.name for t in p.tracks] + (["on-ranges", "Jaccard"] if p.ranges is not None else [])
    return Layout(p.n, p.n_cells, tuple(p.y_domain), p.axis_title, tracks,  # type: ignore[arg-type]
                  _range_rows(p.ranges), p.ranges is not None, p.mask, p.per_cell, gutter(names))


def threshold_levels(y_domain: Sequence[float]) -> pd.DataFrame:
    """The threshold handle's steps: displayed level and its band (level0, level1)."""
    lo, hi = float(y_domain[0]), float(y_domain[1])
    lv = np.linspace(lo, hi, LEVELS)
    half = (hi - lo) / (LEVELS - 1) / 2
    return pd.DataFrame({"level": lv.round(6), "level0": lv - half, "level1": lv + half})


def _empty(*cols: str) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in cols})


def datasets(p: SelectParts) -> dict[str, pd.DataFrame]:
    """The named datasets of the spec for these parts (small dtypes: they go to the browser).
    ``lines`` holds every drawn cell's line whatever its status, so that a change of threshold,
    range or padding leaves its bytes as they were and the browser keeps it (Streamlit replaces only
    the datasets whose bytes changed); the selected and excluded lines are drawn over it from
    ``sel`` and ``excl``."""
    lines = p.lines
    slim = pd.DataFrame({"x": lines["x"].astype("int16"), "cell": lines["cell"].astype("int16"),
                         "value": lines["value"].astype("float32")}).reset_index(drop=True)
    sel = lines[lines["status"] == "selected"]
    out = {
        "frame": pd.DataFrame({"x": [-0.5, p.n - 0.5]}),
        "lines": slim,
        "excl": slim[(lines["status"] == "excluded").to_numpy()].reset_index(drop=True),
        "sel": sel[["x", "pos", "cell", "value", "raw", *(["thr"] if p.per_cell else [])]],
        "zero": pd.DataFrame({"value": [0.0]}),
        "thr": p.threshold,
        "levels": threshold_levels(p.y_domain),
        "marks": p.marks if p.marks is not None else _empty("x", "strong"),
        "words": p.words[["x", "pos", "token", "label", "count"]],
        "band": p.band if p.band is not None else _empty("x0", "x1"),
        "hit": pd.DataFrame({"x": np.arange(p.n, dtype="int16")}),
        "sig": p.signature if p.signature is not None else _empty("x", "level"),
        "handles": p.handles if p.handles is not None else _empty("x", "side"),
        "ranges": p.ranges if p.ranges is not None else _empty("cell", "start", "end", "x0", "x1", "order"),
        "jaccard": p.jaccard if p.jaccard is not None else _empty("x", "pos", "jaccard"),
    }
    for i, t in enumerate(p.tracks):
        out[f"track{i}"] = t.frame
    return out


def _plot(L: Layout) -> list:
    """The pattern plot: lines, zero and threshold rules, the draggable handle, dashed marks."""
    yscale = alt.Scale(domain=list(L.y_domain), nice=False, clamp=True, range=[PLOT_H, 0])
    y = alt.Y("value:Q", title=L.axis_title, axis=alt.Axis(offset=16, grid=False, tickCount=5, minExtent=AXIS_EXTENT,
                                                           maxExtent=AXIS_EXTENT), scale=yscale)
    faint = min(max(1.0 / np.sqrt(max(L.n_cells, 1)), 0.06), 0.6)
    hover = alt.selection_point(name="cell_hover", on="pointerover", fields=["cell"], empty=False, clear="pointerout")
    pick = alt.selection_point(name=CELL_PICK, on=f"click[y() <= {PLOT_H}]", fields=["cell"], empty=False)
    other = alt.Chart(named("lines")).encode(slot_x(), y, detail="cell:N").mark_line(
        color="#888888", strokeWidth=1, opacity=faint, interpolate="monotone")
    excl = alt.Chart(named("excl")).encode(slot_x(), y, detail="cell:N").mark_line(
        color=palette.DIV_LOW, strokeWidth=1.2, strokeDash=[4, 3], opacity=0.6, interpolate="monotone")
    sel = alt.Chart(named("sel")).mark_line(interpolate="monotone", cursor="pointer").encode(
        slot_x(), y, detail="cell:N",
        color=alt.condition(hover, alt.value("#e66101"), alt.value(palette.SEQ_HIGH)),
        strokeWidth=alt.condition(hover, alt.value(3.5), alt.value(2)),
        tooltip=[alt.Tooltip("cell:N", title="cell (click: its profile)"), alt.Tooltip("pos:Q", title="position"),
                 alt.Tooltip("raw:Q", title="value", format=".3f"),
                 *([alt.Tooltip("value:Q", title="shown (÷ this cell's 99.5% |value|)", format=".3f"),
                    alt.Tooltip("thr:Q", title="threshold on this cell's scale", format=".3f")] if L.per_cell else [])]
    ).add_params(hover, pick)
    zero = alt.Chart(named("zero")).mark_rule(color="#bbbbbb").encode(y=y)
    thr = alt.Chart(named("thr")).mark_rule(color=palette.DIV_LOW, strokeDash=[6, 3], strokeWidth=1.5).encode(
        y=y, tooltip=[alt.Tooltip("raw:Q", title="threshold", format=".3f")])
    marks = alt.Chart(named("marks")).mark_rule(strokeDash=[3, 3], color="#555555").encode(
        slot_x(), y=alt.value(0), y2=alt.value(PLOT_H), opacity=alt.condition(alt.datum.strong, alt.value(0.8),
                                                                           alt.value(0.35)))
    if L.per_cell:  # no single threshold level: no line, no handle (the tooltip has each cell's)
        return [other, excl, sel, zero, marks]
    return [other, excl, sel, zero, thr, marks, *_threshold_handle(y, yscale)]


def _threshold_handle(y: alt.Y, yscale: alt.Scale) -> list:
    """The y-axis strip: press or drag on it to move the threshold (selection ``THRESHOLD``)."""
    sel = alt.selection_point(name=THRESHOLD, fields=["level"], empty=False, toggle=False, clear=False,
                              on="pointerdown[x() < 0], pointermove[event.buttons > 0 && x() < 0]")
    strip = alt.Chart(named("levels")).mark_rect(color="#dddddd", opacity=0.35, cursor="ns-resize").encode(
        x=alt.value(-12), x2=alt.value(-2), y=alt.Y("level0:Q", scale=yscale), y2="level1:Q",
        tooltip=[alt.Tooltip("level:Q", title="drag: threshold (shown)", format=".3f")]).add_params(sel)
    live = alt.Chart(named("levels")).transform_filter(sel).mark_rule(color="#e66101", strokeWidth=1.5).encode(
        y=alt.Y("level:Q", scale=yscale))
    knob = alt.Chart(named("thr")).mark_point(shape="triangle-right", size=90, filled=True, color=palette.DIV_LOW,
                                           cursor="ns-resize").encode(x=alt.value(-7), y=y)
    return [strip, live, knob]


def _words(L: Layout, top: float) -> list:
    """Word backgrounds by count, tokens, the brushed range; the brush starts only here."""
    on = f"[pointerdown[y() >= {top} && y() <= {top + WORD_H}], window:pointerup] > window:pointermove!"
    brush = alt.selection_interval(name=BRUSH, encodings=["x"], on=on, translate=False, zoom=False, clear=False,
                                   mark=alt.BrushConfig(fill="#fdae61", fillOpacity=0.12, stroke="#e66101",
                                                        strokeOpacity=0.4))
    bg = spans(alt.Chart(named("words"))).mark_rect(stroke="white", strokeWidth=0.5).encode(
        slot_x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + WORD_H),
        color=alt.Color("count:Q", scale=alt.Scale(domain=alt.DomainUnionWith(unionWith=[0, 1]),
                                                   range=[palette.SEQ_LOW, palette.WORD_HIGH]),
                        legend=alt.Legend(title="selected cells on", orient="bottom", gradientLength=120,
                                          tickMinStep=1, format="d",
                                          labelExpr="datum.value % 1 ? '' : datum.label")),  # no 0, 1, 1
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("token:N", title="token"),
                 alt.Tooltip("count:Q", title="selected cells on")]).add_params(brush)
    click = alt.selection_point(name=WORD_CLICK, fields=["x"], on=f"click[y() >= {top} && y() <= {top + WORD_H}]",
                                empty=False, toggle=False, clear=False)
    bg = bg.add_params(click)
    band = alt.Chart(named("band")).mark_rect(fill=None, stroke="#e66101", strokeWidth=2.5).encode(
        slot_x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + WORD_H))
    return [bg, band, slot_text("words", L.n, alt.value(top + WORD_H / 2), 12)]


def _signature(top: float) -> list:
    """The off/on/off line and its two handles; press or drag under the words to set the padding."""
    band = f"y() >= {top} && y() <= {top + SIG_H}"
    pad = alt.selection_point(name=PAD, fields=["x"], empty=False, toggle=False, clear=False,
                              on=f"pointerdown[{band}], pointermove[event.buttons > 0 && {band}]")
    area = spans(alt.Chart(named("hit"))).mark_rect(color="white", opacity=0.01, cursor="ew-resize").encode(
        slot_x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + SIG_H)).add_params(pad)
    line = alt.Chart(named("sig")).transform_calculate(y=f"{top + SIG_H - 3} - datum.level * {SIG_H - 6}").mark_line(
        color="#e66101", strokeWidth=2, interpolate="linear").encode(slot_x(), pixel_y("y"))
    knobs = alt.Chart(named("handles")).mark_point(shape="diamond", size=70, filled=True, color="#e66101",
                                                cursor="ew-resize").encode(
        slot_x(), y=alt.value(top + SIG_H - 3), tooltip=[alt.Tooltip("side:N", title="drag to set")])
    return [area, line, knobs]


def _plot_layers(L: Layout) -> tuple[list, float]:
    """The plot, the words and the signature row: every layer the user acts on; their height."""
    layers = _plot(L)
    top: float = PLOT_H + GAP
    layers += _words(L, top)
    top += WORD_H + 2
    layers += _signature(top)
    return layers, top + SIG_H + GAP


def _chart(layers: list, height: float, left: int) -> dict:
    """One page-wide layered chart of ``layers``.  Its left margin is ``left`` px (an invisible mark
    there; nothing is drawn further left, :func:`gutter`), so that charts stacked under each other
    with the same margin share the plot's left edge and width, and with it every slot's x."""
    frame = alt.Chart(named("frame")).mark_point(opacity=0).encode(slot_x())
    gutter = alt.Chart(named("frame")).mark_rule(strokeOpacity=0).encode(x=alt.value(-left), y=alt.value(0),
                                                                      y2=alt.value(1))
    chart = (alt.layer(frame, gutter, *layers).resolve_scale(color="independent", opacity="independent")
             .properties(height=int(height), width="container",
                         autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
             .configure_view(stroke=None).configure_legend(orient="bottom", labelFontSize=10, titleFontSize=10))
    return chart.to_dict(validate=False)


@functools.lru_cache(maxsize=64)
def _spec_json(L: Layout) -> dict:
    layers, top = _plot_layers(L)
    more, top = row_layers(L, top)
    return _chart(layers + more, top, L.gutter)


def _plot_layout(L: Layout) -> Layout:
    """The part of a layout the plot chart depends on (the rest set to constants: one cache entry)."""
    return replace(L, tracks=(), range_rows=0, query=False, mask=False)


def _rows_layout(L: Layout) -> Layout:
    return replace(L, n_cells=0, y_domain=(0.0, 1.0), axis_title="", per_cell=False)


@functools.lru_cache(maxsize=64)
def _plot_json(L: Layout) -> dict:
    return _chart(*_plot_layers(L), L.gutter)


@functools.lru_cache(maxsize=64)
def _rows_json(L: Layout) -> dict | None:
    """The rows' chart: :func:`_chart` of :func:`row_layers`, put together from each row's kept layer
    dicts (:func:`row_dicts`) around an empty chart's frame, not by Altair."""
    layers, data, top = row_dicts(L, 0.0)
    if not layers:
        return None
    base = _chart([], top, L.gutter)
    return _with_data({**base, "layer": [*base["layer"], *layers]}, data)


def selections(spec: dict) -> list[str]:
    """The names of the selections this spec has, of those the app reacts to (without a threshold
    handle under per-cell scaling there is no ``THRESHOLD``)."""
    names = {prm.get("name") for layer in spec.get("layer", []) for prm in layer.get("params", [])}
    names |= {prm.get("name") for prm in spec.get("params", [])}
    return [n for n in (BRUSH, THRESHOLD, PAD, CELL_PICK, WORD_CLICK) if n in names]


def _with_data(base: dict, data: Mapping[str, pd.DataFrame]) -> dict:
    return {**base, "datasets": {**base.get("datasets", {}), **data}}


def spec(p: SelectParts) -> dict:
    """The full Vega-Lite spec of these parts as one chart (the SVG export, layers side by side): the
    cached spec of their layout plus their datasets."""
    return _with_data(_spec_json(layout(p)), datasets(p))


#: the datasets of the rows chart (the rest, and ``frame``, belong to the plot chart)
_ROWS = ("ranges", "jaccard")


def spec_parts(p: SelectParts) -> tuple[dict, dict | None]:
    """The same view as two charts drawn one under the other, each spec cached by only the part of
    the layout it depends on: the plot with the words and the signature row (every selection the
    user makes is there), and the rows under them (tracks, on-ranges, Jaccard; None when there are
    none).  Showing or hiding a track, or a brush that changes the number of on-range rows, then
    leaves the plot's spec and data as they were: Streamlit sends that chart as a reference to the
    message the browser already has, and the browser neither rebuilds nor redraws it."""
    L, data = layout(p), datasets(p)
    rows = {"frame", *_ROWS, *(f"track{i}" for i in range(len(p.tracks)))}
    plot = _with_data(_plot_json(_plot_layout(L)), {k: v for k, v in data.items() if k not in rows or k == "frame"})
    base = _rows_json(_rows_layout(L))
    return plot, (None if base is None else _with_data(base, {k: v for k, v in data.items() if k in rows}))
