"""The Select view as ONE layered Altair chart that fills the page width (docs/app.md §The Select view).

Rows are pixel bands of one view sharing the x scale (token slot ``x`` = position - window start,
so the spec is the same for every window and only the named datasets change on a rerun):
the pattern plot with its threshold handle on the y-axis (drag it: point selection
``THRESHOLD``), the words (the ``BRUSH`` interval, started only on the words), the padding
signature with its handles (point selection ``PAD``: drag either end), the annotation tracks
with their names on the left and a colour legend each, the on-range rows and the Jaccard
preview.  A click on a selected line is the point selection ``CELL_PICK``.  Tokens and labels
shrink to fit their slot and are abbreviated with a trailing "." (full text in the tooltip).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import altair as alt
import numpy as np
import pandas as pd

from lstmvis_db.views import palette

__all__ = ["BRUSH", "CELL_PICK", "PAD", "THRESHOLD", "SelectParts", "TrackRow", "select_chart", "threshold_levels"]

BRUSH, THRESHOLD, PAD, CELL_PICK = "brush", "thr", "pad", "cell_pick"
PLOT_H, WORD_H, SIG_H, TRACK_H, TOPK_H, ONR_H, JAC_H, GAP = 200, 24, 16, 18, 13, 5, 30, 5
LEVELS = 161  # steps of the threshold handle over the plot's y-domain


@dataclass(frozen=True)
class TrackRow:
    """One annotation row: ``frame`` has x, pos, label (categorical/ordinal), value (scalar) or
    rank/label/score (topk), and count (selected cells on, for the mask)."""

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
    lines: pd.DataFrame  # x, pos, cell, value (displayed), raw, status
    words: pd.DataFrame  # x, pos, token, label, count
    threshold: pd.DataFrame  # one row: value (displayed), raw
    y_domain: tuple[float, float]
    axis_title: str = "activation"
    marks: pd.DataFrame | None = None  # x, strong: dashed verticals (position, brushed range)
    band: pd.DataFrame | None = None  # x0, x1: the brushed range on the words (clipped)
    signature: pd.DataFrame | None = None  # x, level; handles: x, side
    handles: pd.DataFrame | None = None
    tracks: Sequence[TrackRow] = ()
    ranges: pd.DataFrame | None = None  # cell, x0, x1, order
    jaccard: pd.DataFrame | None = None  # x, pos, jaccard
    mask: bool = True
    max_count: int = 1


def threshold_levels(y_domain: Sequence[float], scale: float = 1.0) -> pd.DataFrame:
    """The threshold handle's steps: displayed level, its band (level0, level1) and raw value."""
    lo, hi = float(y_domain[0]), float(y_domain[1])
    lv = np.linspace(lo, hi, LEVELS)
    half = (hi - lo) / (LEVELS - 1) / 2
    return pd.DataFrame({"level": lv.round(6), "level0": lv - half, "level1": lv + half, "raw": (lv * scale).round(6)})


def _x(field: str = "x") -> alt.X:
    return alt.X(f"{field}:Q", axis=None, scale=alt.Scale(nice=False, zero=False))


def _px(field: str) -> alt.Y:
    return alt.Y(f"{field}:Q", scale=None, axis=None)


def _slot_expr(n: int, base: float, chars: str) -> dict:
    """Font size that fits a label of ``length(chars)`` characters into one slot (7..base px)."""
    return {"expr": f"clamp(width / {n} / max(1, 0.62 * length({chars})), 7, {base})"}


def _text(d: pd.DataFrame, n: int, y_px: float, base: float, **kw) -> alt.Chart:
    """Slot-fitted labels (``label``) at pixel row ``y_px``: shrink, then abbreviate with ".",
    never a bare ellipsis (at least one character stays)."""
    return alt.Chart(d).mark_text(baseline="middle", fontSize=_slot_expr(n, base, "datum.label"),  # type: ignore
                                  limit={"expr": f"max(width / {n} - 1, 9)"}, ellipsis=".", **kw).encode(
        _x(), y=alt.value(y_px), text="label:N")


def _plot(p: SelectParts) -> list:
    """The pattern plot: lines, zero and threshold rules, the draggable handle, dashed marks."""
    yscale = alt.Scale(domain=list(p.y_domain), nice=False, clamp=True, range=[PLOT_H, 0])
    y = alt.Y("value:Q", title=p.axis_title, axis=alt.Axis(offset=16, grid=False, tickCount=5), scale=yscale)
    d = max(int(p.lines["cell"].nunique()) if len(p.lines) else 1, 1)
    faint = min(max(1.0 / np.sqrt(d), 0.06), 0.6)
    hover = alt.selection_point(name="cell_hover", on="pointerover", fields=["cell"], empty=False, clear="pointerout")
    pick = alt.selection_point(name=CELL_PICK, on="click", fields=["cell"], empty=False)
    base = alt.Chart(p.lines).encode(_x(), y, detail="cell:N")
    other = base.transform_filter(alt.datum.status == "other").mark_line(
        color="#888888", strokeWidth=1, opacity=faint, interpolate="monotone")
    excl = base.transform_filter(alt.datum.status == "excluded").mark_line(
        color=palette.DIV_LOW, strokeWidth=1.2, strokeDash=[4, 3], opacity=0.6, interpolate="monotone")
    sel = base.transform_filter(alt.datum.status == "selected").mark_line(
        interpolate="monotone", cursor="pointer").encode(
        color=alt.condition(hover, alt.value("#e66101"), alt.value(palette.SEQ_HIGH)),
        strokeWidth=alt.condition(hover, alt.value(3.5), alt.value(2)),
        tooltip=[alt.Tooltip("cell:N", title="cell (click: its profile)"), alt.Tooltip("pos:Q", title="position"),
                 alt.Tooltip("raw:Q", title="value", format=".3f")]).add_params(hover, pick)
    zero = alt.Chart(pd.DataFrame({"value": [0.0]})).mark_rule(color="#bbbbbb").encode(y=y)
    thr = alt.Chart(p.threshold).mark_rule(color=palette.DIV_LOW, strokeDash=[6, 3], strokeWidth=1.5).encode(
        y=y, tooltip=[alt.Tooltip("raw:Q", title="threshold", format=".3f")])
    layers = [other, excl, sel, zero, thr, *_threshold_handle(p, y, yscale)]
    if p.marks is not None and len(p.marks):
        layers.append(alt.Chart(p.marks).mark_rule(strokeDash=[3, 3], color="#555555").encode(
            _x(), y=alt.value(0), y2=alt.value(PLOT_H),
            opacity=alt.condition(alt.datum.strong, alt.value(0.8), alt.value(0.35))))
    return layers


def _threshold_handle(p: SelectParts, y: alt.Y, yscale: alt.Scale) -> list:
    """The y-axis strip: press or drag on it to move the threshold (selection ``THRESHOLD``)."""
    sel = alt.selection_point(name=THRESHOLD, fields=["level"], empty=False, nearest=False, toggle=False, clear=False,
                              on="pointerdown, pointermove[event.buttons > 0]")
    levels = threshold_levels(p.y_domain)
    strip = alt.Chart(levels).mark_rect(color="#dddddd", opacity=0.35, cursor="ns-resize").encode(
        x=alt.value(-12), x2=alt.value(-2), y=alt.Y("level0:Q", scale=yscale), y2="level1:Q",
        tooltip=[alt.Tooltip("level:Q", title="drag: threshold (shown)", format=".3f")]).add_params(sel)
    live = alt.Chart(levels).transform_filter(sel).mark_rule(color="#e66101", strokeWidth=1.5).encode(
        y=alt.Y("level:Q", scale=yscale))
    knob = alt.Chart(p.threshold).mark_point(shape="triangle-right", size=90, filled=True, color=palette.DIV_LOW,
                                             cursor="ns-resize").encode(x=alt.value(-7), y=y)
    return [strip, live, knob]


def _words(p: SelectParts, top: float) -> list:
    """Word backgrounds by count, tokens, the brushed range; the brush starts only here."""
    on = (f"[pointerdown[y() >= {top} && y() <= {top + WORD_H}], window:pointerup] > window:pointermove!")
    brush = alt.selection_interval(name=BRUSH, encodings=["x"], on=on, translate=False, zoom=False, clear=False,
                                   mark=alt.BrushConfig(fill="#fdae61", fillOpacity=0.12, stroke="#e66101",
                                                        strokeOpacity=0.4))
    w = p.words.assign(x0=p.words["x"] - 0.5, x1=p.words["x"] + 0.5)
    mc = max(int(w["count"].max()) if len(w) else 1, 1)
    bg = alt.Chart(w).mark_rect(stroke="white", strokeWidth=0.5).encode(
        _x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + WORD_H),
        color=alt.Color("count:Q", scale=alt.Scale(domain=[0, mc], range=[palette.SEQ_LOW, palette.WORD_HIGH]),
                        legend=alt.Legend(title="selected cells on", orient="bottom", gradientLength=120,
                                          tickCount=min(mc, 4))),
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("token:N", title="token"),
                 alt.Tooltip("count:Q", title="selected cells on")]).add_params(brush)
    layers = [bg]
    if p.band is not None and len(p.band):
        layers.append(alt.Chart(p.band).mark_rect(fill=None, stroke="#e66101", strokeWidth=2.5).encode(
            _x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + WORD_H)))
    layers.append(_text(w, p.n, top + WORD_H / 2, 12))
    return layers


def _signature(p: SelectParts, top: float) -> list:
    """The off/on/off line and its two handles; press or drag under the words to set the padding."""
    pad = alt.selection_point(name=PAD, fields=["x"], empty=False, toggle=False, clear=False,
                              on="pointerdown, pointermove[event.buttons > 0]")
    hit = pd.DataFrame({"x": np.arange(p.n), "x0": np.arange(p.n) - 0.5, "x1": np.arange(p.n) + 0.5})
    area = alt.Chart(hit).mark_rect(color="white", opacity=0.01, cursor="ew-resize").encode(
        _x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + SIG_H)).add_params(pad)
    sig = p.signature if p.signature is not None else pd.DataFrame({"x": [], "level": []})
    sig = sig.assign(y=top + SIG_H - 3 - sig["level"] * (SIG_H - 6))
    line = alt.Chart(sig).mark_line(color="#e66101", strokeWidth=2, interpolate="linear").encode(_x(), _px("y"))
    handles = p.handles if p.handles is not None else pd.DataFrame({"x": [], "side": []})
    knobs = alt.Chart(handles).mark_point(shape="diamond", size=70, filled=True, color="#e66101",
                                          cursor="ew-resize").encode(
        _x(), y=alt.value(top + SIG_H - 3), tooltip=[alt.Tooltip("side:N", title="drag to set")])
    return [area, line, knobs]


def _name(name: str, y_px: float) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"name": [name]})).mark_text(
        align="right", baseline="middle", fontSize=10, color="#555555", limit=110).encode(
        x=alt.value(-20), y=alt.value(y_px), text="name:N", tooltip=alt.Tooltip("name:N", title="track"))


def _fade(p: SelectParts) -> dict:
    if not p.mask:
        return {}
    return {"opacity": alt.Opacity("count:Q", legend=None, scale=alt.Scale(domain=[0, max(p.max_count, 1)],
                                                                          range=[0.2, 1]))}


def _track(p: SelectParts, t: TrackRow, top: float) -> tuple[list, float]:
    """One annotation row with its name and legend; returns its layers and height."""
    legend = alt.Legend(title=t.name, orient="bottom", columns=10, symbolType="square", labelLimit=140)
    d = t.frame.assign(x0=t.frame["x"] - 0.5, x1=t.frame["x"] + 0.5)
    if t.kind == "topk":
        d = d.assign(y0=top + (d["rank"] - 1) * TOPK_H, y1=top + d["rank"] * TOPK_H,
                     ym=top + (d["rank"] - 0.5) * TOPK_H)
        rows = int(d["rank"].max()) if len(d) else 1
        rect = alt.Chart(d).mark_rect(stroke="white", strokeWidth=0.5).encode(
            _x("x0"), x2="x1:Q", y=_px("y0"), y2="y1:Q",
            color=alt.Color("score:Q", scale=alt.Scale(range=[palette.SEQ_LOW, palette.SEQ_HIGH], zero=True),
                            legend=alt.Legend(title=f"{t.name} score", orient="bottom", gradientLength=100)),
            tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("rank:O", title="rank"),
                     alt.Tooltip("token:N", title="prediction"), alt.Tooltip("score:Q", title="score", format=".3f")])
        text = alt.Chart(d).mark_text(baseline="middle", fontSize=_slot_expr(p.n, 9, "datum.label"),  # type: ignore
                                      limit={"expr": f"max(width / {p.n} - 1, 9)"}, ellipsis=".").encode(
            _x(), y=_px("ym"), text="label:N")
        return [rect, text, _name(t.name, top + rows * TOPK_H / 2)], rows * TOPK_H
    if t.kind == "scalar":
        dom, rng = palette.scalar_scale(t.vmin, t.vmax)
        color = alt.Color("value:Q", scale=alt.Scale(domain=dom, range=rng),
                          legend=alt.Legend(title=t.name, orient="bottom", gradientLength=100))
        tip = [alt.Tooltip("pos:Q", title="position"), alt.Tooltip("value:Q", title=t.name, format=".3f")]
    else:
        color = alt.Color("label:N", scale=alt.Scale(domain=list(t.colors), range=list(t.colors.values())),
                          legend=legend, sort=list(t.colors))
        tip = [alt.Tooltip("pos:Q", title="position"), alt.Tooltip("label:N", title=t.name)]
    rect = alt.Chart(d).mark_rect(stroke="white", strokeWidth=0.5).encode(
        _x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + TRACK_H), color=color, tooltip=tip, **_fade(p))
    layers = [rect, _name(t.name, top + TRACK_H / 2)]
    if t.kind != "scalar":
        layers.append(_text(d, p.n, top + TRACK_H / 2, 9, color="#222222"))
    return layers, TRACK_H


def _ranges(p: SelectParts, top: float) -> tuple[list, float]:
    r = p.ranges if p.ranges is not None else pd.DataFrame({"order": []})
    n = int(r["order"].max()) + 1 if len(r) else 1
    d = r.assign(y0=top + r["order"] * ONR_H + 1, y1=top + (r["order"] + 1) * ONR_H - 1)
    bars = alt.Chart(d).mark_rect(color=palette.SEQ_HIGH, opacity=0.8, cornerRadius=1).encode(
        _x("x0"), x2="x1:Q", y=_px("y0"), y2="y1:Q",
        tooltip=[alt.Tooltip("cell:N", title="cell"), alt.Tooltip("start:Q", title="on from"),
                 alt.Tooltip("end:Q", title="to")])
    return [bars, _name("on-ranges", top + n * ONR_H / 2)], n * ONR_H


def _jaccard(p: SelectParts, top: float) -> tuple[list, float]:
    j = p.jaccard if p.jaccard is not None else pd.DataFrame({"x": [], "jaccard": []})
    d = j.assign(y=top + JAC_H - j["jaccard"] * JAC_H, y0=top + JAC_H)
    area = alt.Chart(d).mark_area(interpolate="step", color=palette.SEQ_HIGH, opacity=0.55, line=True).encode(
        _x(), _px("y"), y2="y0:Q",
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("jaccard:Q", title="Jaccard", format=".3f")])
    return [area, _name("Jaccard", top + JAC_H / 2)], JAC_H


def select_chart(p: SelectParts) -> alt.LayerChart:
    """All rows of the Select view in one layered chart of page width (see the module doc)."""
    layers = _plot(p)
    top = PLOT_H + GAP
    layers += _words(p, top)
    top += WORD_H + 2
    if p.signature is not None:
        layers += _signature(p, top)
        top += SIG_H + GAP
    for t in p.tracks:
        more, h = _track(p, t, top)
        layers += more
        top += h + 3
    for part in ((_ranges,) if p.ranges is not None else ()) + ((_jaccard,) if p.jaccard is not None else ()):
        more, h = part(p, top + GAP)
        layers += more
        top += h + 2 * GAP
    frame = alt.Chart(pd.DataFrame({"x": [-0.5, p.n - 0.5]})).mark_point(opacity=0).encode(_x())
    return (alt.layer(frame, *layers).resolve_scale(color="independent", opacity="independent")
            .properties(height=int(top), width="container", autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
            .configure_view(stroke=None).configure_legend(orient="bottom", labelFontSize=10, titleFontSize=10))
