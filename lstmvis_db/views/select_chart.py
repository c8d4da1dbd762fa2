"""The Select view as ONE layered Vega-Lite chart that fills the page width (docs/app.md §The Select view).

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
drawn view in place.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from lstmvis_db.views import palette

__all__ = ["BRUSH", "CELL_PICK", "PAD", "THRESHOLD", "WORD_CLICK", "Layout", "SelectParts", "TrackRow", "datasets",
           "layout", "selections", "spec", "threshold_levels"]

BRUSH, THRESHOLD, PAD, CELL_PICK, WORD_CLICK = "brush", "thr", "pad", "cell_pick", "word_click"
PLOT_H, WORD_H, SIG_H, TRACK_H, TOPK_H, ONR_H, JAC_H, GAP = 200, 24, 16, 18, 13, 5, 30, 5
LEVELS = 161  # steps of the threshold handle over the plot's y-domain


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


def _rows(frame: pd.DataFrame | None, col: str) -> int:
    return int(frame[col].max()) + 1 if frame is not None and len(frame) else 1


def layout(p: SelectParts) -> Layout:
    def fin(v):
        return None if v is None or not np.isfinite(v) else float(v)

    tracks = tuple((t.name, t.kind, tuple(t.colors.items()), fin(t.vmin), fin(t.vmax),
                    _rows(t.frame, "rank") - 1 if t.kind == "topk" else 1) for t in p.tracks)
    return Layout(p.n, p.n_cells, tuple(p.y_domain), p.axis_title, tracks,  # type: ignore[arg-type]
                  min(_rows(p.ranges, "order"), 21), p.ranges is not None, p.mask, p.per_cell)


def threshold_levels(y_domain: Sequence[float]) -> pd.DataFrame:
    """The threshold handle's steps: displayed level and its band (level0, level1)."""
    lo, hi = float(y_domain[0]), float(y_domain[1])
    lv = np.linspace(lo, hi, LEVELS)
    half = (hi - lo) / (LEVELS - 1) / 2
    return pd.DataFrame({"level": lv.round(6), "level0": lv - half, "level1": lv + half})


def _empty(*cols: str) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in cols})


def datasets(p: SelectParts) -> dict[str, pd.DataFrame]:
    """The named datasets of the spec for these parts (small dtypes: they go to the browser)."""
    lines = p.lines
    slim = pd.DataFrame({"x": lines["x"].astype("int16"), "cell": lines["cell"].astype("int16"),
                         "value": lines["value"].astype("float32"),
                         "status": lines["status"].astype("category")})
    sel = lines[lines["status"] == "selected"]
    out = {
        "frame": pd.DataFrame({"x": [-0.5, p.n - 0.5]}),
        "lines": slim[slim["status"] != "selected"],
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


def _d(name: str) -> alt.NamedData:
    return alt.NamedData(name=name)


def _x(f: str = "x") -> alt.X:
    return alt.X(f"{f}:Q", axis=None, scale=alt.Scale(nice=False, zero=False))


def _px(f: str) -> alt.Y:
    return alt.Y(f"{f}:Q", scale=None, axis=None)


def _spans(c: alt.Chart, half: float = 0.5) -> alt.Chart:
    return c.transform_calculate(x0=f"datum.x - {half}", x1=f"datum.x + {half}")


def _text(data: str, n: int, y: object, base: float, **kw) -> alt.Chart:
    """Slot-fitted labels (``label``): shrink to 7 px, then abbreviate with ".", never a bare
    ellipsis (at least one character stays; the tooltip holds the full text)."""
    size = {"expr": f"clamp(width / {n} / max(1, 0.62 * length(datum.label)), 7, {base})"}
    return alt.Chart(_d(data)).mark_text(baseline="middle", fontSize=size,  # type: ignore[arg-type]
                                         limit={"expr": f"max(width / {n} - 1, 9)"}, ellipsis=".", **kw).encode(
        _x(), y=y, text="label:N")


def _plot(L: Layout) -> list:
    """The pattern plot: lines, zero and threshold rules, the draggable handle, dashed marks."""
    yscale = alt.Scale(domain=list(L.y_domain), nice=False, clamp=True, range=[PLOT_H, 0])
    y = alt.Y("value:Q", title=L.axis_title, axis=alt.Axis(offset=16, grid=False, tickCount=5), scale=yscale)
    faint = min(max(1.0 / np.sqrt(max(L.n_cells, 1)), 0.06), 0.6)
    hover = alt.selection_point(name="cell_hover", on="pointerover", fields=["cell"], empty=False, clear="pointerout")
    pick = alt.selection_point(name=CELL_PICK, on=f"click[y() <= {PLOT_H}]", fields=["cell"], empty=False)
    base = alt.Chart(_d("lines")).encode(_x(), y, detail="cell:N")
    other = base.transform_filter(alt.datum.status == "other").mark_line(
        color="#888888", strokeWidth=1, opacity=faint, interpolate="monotone")
    excl = base.transform_filter(alt.datum.status == "excluded").mark_line(
        color=palette.DIV_LOW, strokeWidth=1.2, strokeDash=[4, 3], opacity=0.6, interpolate="monotone")
    sel = alt.Chart(_d("sel")).mark_line(interpolate="monotone", cursor="pointer").encode(
        _x(), y, detail="cell:N",
        color=alt.condition(hover, alt.value("#e66101"), alt.value(palette.SEQ_HIGH)),
        strokeWidth=alt.condition(hover, alt.value(3.5), alt.value(2)),
        tooltip=[alt.Tooltip("cell:N", title="cell (click: its profile)"), alt.Tooltip("pos:Q", title="position"),
                 alt.Tooltip("raw:Q", title="value", format=".3f"),
                 *([alt.Tooltip("value:Q", title="shown (÷ this cell's 99.5% |value|)", format=".3f"),
                    alt.Tooltip("thr:Q", title="threshold on this cell's scale", format=".3f")] if L.per_cell else [])]
    ).add_params(hover, pick)
    zero = alt.Chart(_d("zero")).mark_rule(color="#bbbbbb").encode(y=y)
    thr = alt.Chart(_d("thr")).mark_rule(color=palette.DIV_LOW, strokeDash=[6, 3], strokeWidth=1.5).encode(
        y=y, tooltip=[alt.Tooltip("raw:Q", title="threshold", format=".3f")])
    marks = alt.Chart(_d("marks")).mark_rule(strokeDash=[3, 3], color="#555555").encode(
        _x(), y=alt.value(0), y2=alt.value(PLOT_H), opacity=alt.condition(alt.datum.strong, alt.value(0.8),
                                                                           alt.value(0.35)))
    if L.per_cell:  # no single threshold level: no line, no handle (the tooltip has each cell's)
        return [other, excl, sel, zero, marks]
    return [other, excl, sel, zero, thr, marks, *_threshold_handle(y, yscale)]


def _threshold_handle(y: alt.Y, yscale: alt.Scale) -> list:
    """The y-axis strip: press or drag on it to move the threshold (selection ``THRESHOLD``)."""
    sel = alt.selection_point(name=THRESHOLD, fields=["level"], empty=False, toggle=False, clear=False,
                              on="pointerdown[x() < 0], pointermove[event.buttons > 0 && x() < 0]")
    strip = alt.Chart(_d("levels")).mark_rect(color="#dddddd", opacity=0.35, cursor="ns-resize").encode(
        x=alt.value(-12), x2=alt.value(-2), y=alt.Y("level0:Q", scale=yscale), y2="level1:Q",
        tooltip=[alt.Tooltip("level:Q", title="drag: threshold (shown)", format=".3f")]).add_params(sel)
    live = alt.Chart(_d("levels")).transform_filter(sel).mark_rule(color="#e66101", strokeWidth=1.5).encode(
        y=alt.Y("level:Q", scale=yscale))
    knob = alt.Chart(_d("thr")).mark_point(shape="triangle-right", size=90, filled=True, color=palette.DIV_LOW,
                                           cursor="ns-resize").encode(x=alt.value(-7), y=y)
    return [strip, live, knob]


def _words(L: Layout, top: float) -> list:
    """Word backgrounds by count, tokens, the brushed range; the brush starts only here."""
    on = f"[pointerdown[y() >= {top} && y() <= {top + WORD_H}], window:pointerup] > window:pointermove!"
    brush = alt.selection_interval(name=BRUSH, encodings=["x"], on=on, translate=False, zoom=False, clear=False,
                                   mark=alt.BrushConfig(fill="#fdae61", fillOpacity=0.12, stroke="#e66101",
                                                        strokeOpacity=0.4))
    bg = _spans(alt.Chart(_d("words"))).mark_rect(stroke="white", strokeWidth=0.5).encode(
        _x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + WORD_H),
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
    band = alt.Chart(_d("band")).mark_rect(fill=None, stroke="#e66101", strokeWidth=2.5).encode(
        _x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + WORD_H))
    return [bg, band, _text("words", L.n, alt.value(top + WORD_H / 2), 12)]


def _signature(top: float) -> list:
    """The off/on/off line and its two handles; press or drag under the words to set the padding."""
    band = f"y() >= {top} && y() <= {top + SIG_H}"
    pad = alt.selection_point(name=PAD, fields=["x"], empty=False, toggle=False, clear=False,
                              on=f"pointerdown[{band}], pointermove[event.buttons > 0 && {band}]")
    area = _spans(alt.Chart(_d("hit"))).mark_rect(color="white", opacity=0.01, cursor="ew-resize").encode(
        _x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + SIG_H)).add_params(pad)
    line = alt.Chart(_d("sig")).transform_calculate(y=f"{top + SIG_H - 3} - datum.level * {SIG_H - 6}").mark_line(
        color="#e66101", strokeWidth=2, interpolate="linear").encode(_x(), _px("y"))
    knobs = alt.Chart(_d("handles")).mark_point(shape="diamond", size=70, filled=True, color="#e66101",
                                                cursor="ew-resize").encode(
        _x(), y=alt.value(top + SIG_H - 3), tooltip=[alt.Tooltip("side:N", title="drag to set")])
    return [area, line, knobs]


def _name(name: str, y_px: float) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"name": [name]})).mark_text(
        align="right", baseline="middle", fontSize=10, color="#555555", limit=110).encode(
        x=alt.value(-20), y=alt.value(y_px), text="name:N", tooltip=alt.Tooltip("name:N", title="track"))


def _fade(L: Layout) -> dict:
    if not L.mask:
        return {}
    return {"opacity": alt.Opacity("count:Q", legend=None,
                                   scale=alt.Scale(domain=alt.DomainUnionWith(unionWith=[0, 1]), range=[0.2, 1]))}


def _topk(L: Layout, i: int, name: str, rows: int, top: float) -> tuple[list, float]:
    c = _spans(alt.Chart(_d(f"track{i}"))).transform_calculate(
        y0=f"{top} + (datum.rank - 1) * {TOPK_H}", y1=f"{top} + datum.rank * {TOPK_H}",
        ym=f"{top} + (datum.rank - 0.5) * {TOPK_H}")
    rect = c.mark_rect(stroke="white", strokeWidth=0.5).encode(
        _x("x0"), x2="x1:Q", y=_px("y0"), y2="y1:Q",
        color=alt.Color("score:Q", scale=alt.Scale(range=[palette.SEQ_LOW, palette.SEQ_HIGH], zero=True),
                        legend=alt.Legend(title=f"{name} score", orient="bottom", gradientLength=100)),
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("rank:O", title="rank"),
                 alt.Tooltip("token:N", title="prediction"), alt.Tooltip("score:Q", title="score", format=".3f")])
    text = _text(f"track{i}", L.n, _px("ym"), 9).transform_calculate(ym=f"{top} + (datum.rank - 0.5) * {TOPK_H}")
    return [rect, text, _name(name, top + rows * TOPK_H / 2)], rows * TOPK_H


def _track(L: Layout, i: int, top: float) -> tuple[list, float]:
    """One annotation row with its name and legend; returns its layers and height."""
    name, kind, colors, vmin, vmax, rows = L.tracks[i]
    if kind == "topk":
        return _topk(L, i, name, rows, top)
    if kind == "scalar":
        dom, rng = palette.scalar_scale(vmin, vmax)
        color = alt.Color("value:Q", scale=alt.Scale(domain=dom, range=rng),
                          legend=alt.Legend(title=name, orient="bottom", gradientLength=100))
        tip = [alt.Tooltip("pos:Q", title="position"), alt.Tooltip("value:Q", title=name, format=".3f")]
    else:
        cats = [c for c, _ in colors]
        color = alt.Color("label:N", scale=alt.Scale(domain=cats, range=[v for _, v in colors]), sort=cats,
                          legend=alt.Legend(title=name, orient="bottom", columns=10, symbolType="square",
                                            labelLimit=140))
        tip = [alt.Tooltip("pos:Q", title="position"), alt.Tooltip("label:N", title=name)]
    rect = _spans(alt.Chart(_d(f"track{i}"))).mark_rect(stroke="white", strokeWidth=0.5).encode(
        _x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + TRACK_H), color=color, tooltip=tip, **_fade(L))
    layers = [rect, _name(name, top + TRACK_H / 2)]
    if kind != "scalar":
        layers.append(_text(f"track{i}", L.n, alt.value(top + TRACK_H / 2), 9).encode(
            color=alt.Color("ink:N", scale=None)))
    return layers, TRACK_H


def _ranges(L: Layout, top: float) -> tuple[list, float]:
    bars = alt.Chart(_d("ranges")).transform_calculate(
        y0=f"{top} + datum.order * {ONR_H} + 1", y1=f"{top} + (datum.order + 1) * {ONR_H} - 1").mark_rect(
        color=palette.SEQ_HIGH, opacity=0.8, cornerRadius=1).encode(
        _x("x0"), x2="x1:Q", y=_px("y0"), y2="y1:Q",
        tooltip=[alt.Tooltip("cell:N", title="cell"), alt.Tooltip("start:Q", title="on from"),
                 alt.Tooltip("end:Q", title="to")])
    return [bars, _name("on-ranges", top + L.range_rows * ONR_H / 2)], L.range_rows * ONR_H


def _jaccard(top: float) -> tuple[list, float]:
    area = alt.Chart(_d("jaccard")).transform_calculate(
        y=f"{top + JAC_H} - datum.jaccard * {JAC_H}", y0=f"{top + JAC_H}").mark_area(
        interpolate="step", color=palette.SEQ_HIGH, opacity=0.55, line=True).encode(
        _x(), _px("y"), y2="y0:Q",
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("jaccard:Q", title="Jaccard", format=".3f")])
    return [area, _name("Jaccard", top + JAC_H / 2)], JAC_H


@functools.lru_cache(maxsize=64)
def _spec_json(L: Layout) -> dict:
    layers = _plot(L)
    top: float = PLOT_H + GAP
    layers += _words(L, top)
    top += WORD_H + 2
    layers += _signature(top)
    top += SIG_H + GAP
    for i in range(len(L.tracks)):
        more, h = _track(L, i, top)
        layers += more
        top += h + 3
    if L.query:
        for more, h in (_ranges(L, top + GAP), _jaccard(top + GAP + L.range_rows * ONR_H + 2 * GAP)):
            layers += more
            top += h + 2 * GAP
    frame = alt.Chart(_d("frame")).mark_point(opacity=0).encode(_x())
    chart = (alt.layer(frame, *layers).resolve_scale(color="independent", opacity="independent")
             .properties(height=int(top), width="container",
                         autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
             .configure_view(stroke=None).configure_legend(orient="bottom", labelFontSize=10, titleFontSize=10))
    return chart.to_dict(validate=False)


def selections(spec: dict) -> list[str]:
    """The names of the selections this spec has, of those the app reacts to (without a threshold
    handle under per-cell scaling there is no ``THRESHOLD``)."""
    names = {prm.get("name") for layer in spec.get("layer", []) for prm in layer.get("params", [])}
    names |= {prm.get("name") for prm in spec.get("params", [])}
    return [n for n in (BRUSH, THRESHOLD, PAD, CELL_PICK, WORD_CLICK) if n in names]


def spec(p: SelectParts) -> dict:
    """The full Vega-Lite spec of these parts: the cached spec of their layout plus their datasets."""
    base = _spec_json(layout(p))
    return {**base, "datasets": {**base.get("datasets", {}), **datasets(p)}}
