"""The rows of the Select chart under the words and the signature (:mod:`select_chart`): each
annotation track with its name on the left and its legend, the on-ranges of the query cells and
the Jaccard preview; and the mark helpers both modules build with (token slots on x, pixel rows
on y)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

from lstmvis_db.views import palette

if TYPE_CHECKING:
    from lstmvis_db.views.select_chart import Layout

__all__ = ["GAP", "JAC_H", "NAME_GAP", "ONR_H", "TOPK_H", "TRACK_H", "named", "pixel_y", "row_layers", "slot_text",
           "slot_x", "spans"]

TRACK_H, TOPK_H, ONR_H, JAC_H, GAP = 18, 13, 5, 30, 5
NAME_GAP = 6  # px between a row's name (right-aligned) and the plot's left edge


def named(name: str) -> alt.NamedData:
    return alt.NamedData(name=name)


def slot_x(f: str = "x") -> alt.X:
    return alt.X(f"{f}:Q", axis=None, scale=alt.Scale(nice=False, zero=False))


def pixel_y(f: str) -> alt.Y:
    return alt.Y(f"{f}:Q", scale=None, axis=None)


def spans(c: alt.Chart, half: float = 0.5) -> alt.Chart:
    return c.transform_calculate(x0=f"datum.x - {half}", x1=f"datum.x + {half}")


def slot_text(data: str, n: int, y: object, base: float, **kw) -> alt.Chart:
    """Slot-fitted labels (``label``): shrink to 7 px, then abbreviate with ".", never a bare
    ellipsis (at least one character stays; the tooltip holds the full text)."""
    size = {"expr": f"clamp(width / {n} / max(1, 0.62 * length(datum.label)), 7, {base})"}
    return alt.Chart(named(data)).mark_text(baseline="middle", fontSize=size,  # type: ignore[arg-type]
                                         limit={"expr": f"max(width / {n} - 1, 9)"}, ellipsis=".", **kw).encode(
        slot_x(), y=y, text="label:N")


def _name(name: str, y_px: float) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"name": [name]})).mark_text(
        align="right", baseline="middle", fontSize=10, color="#555555", limit=110).encode(
        x=alt.value(-NAME_GAP), y=alt.value(y_px), text="name:N", tooltip=alt.Tooltip("name:N", title="track"))


def _fade(L: Layout) -> dict:
    if not L.mask:
        return {}
    return {"opacity": alt.Opacity("count:Q", legend=None,
                                   scale=alt.Scale(domain=alt.DomainUnionWith(unionWith=[0, 1]), range=[0.2, 1]))}


def _topk(L: Layout, i: int, name: str, rows: int, top: float) -> tuple[list, float]:
    c = spans(alt.Chart(named(f"track{i}"))).transform_calculate(
        y0=f"{top} + (datum.rank - 1) * {TOPK_H}", y1=f"{top} + datum.rank * {TOPK_H}",
        ym=f"{top} + (datum.rank - 0.5) * {TOPK_H}")
    rect = c.mark_rect(stroke="white", strokeWidth=0.5).encode(
        slot_x("x0"), x2="x1:Q", y=pixel_y("y0"), y2="y1:Q",
        color=alt.Color("score:Q", scale=alt.Scale(range=[palette.SEQ_LOW, palette.SEQ_HIGH], zero=True),
                        legend=alt.Legend(title=f"{name} score", orient="bottom", gradientLength=100)),
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("rank:O", title="rank"),
                 alt.Tooltip("token:N", title="prediction"), alt.Tooltip("score:Q", title="score", format=".3f")])
    text = slot_text(f"track{i}", L.n, pixel_y("ym"), 9).transform_calculate(
        ym=f"{top} + (datum.rank - 0.5) * {TOPK_H}")
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
    rect = spans(alt.Chart(named(f"track{i}"))).mark_rect(stroke="white", strokeWidth=0.5).encode(
        slot_x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + TRACK_H), color=color, tooltip=tip, **_fade(L))
    layers = [rect, _name(name, top + TRACK_H / 2)]
    if kind != "scalar":
        layers.append(slot_text(f"track{i}", L.n, alt.value(top + TRACK_H / 2), 9).encode(
            color=alt.Color("ink:N", scale=None)))
    return layers, TRACK_H


def _ranges(L: Layout, top: float) -> tuple[list, float]:
    bars = alt.Chart(named("ranges")).transform_calculate(
        y0=f"{top} + datum.order * {ONR_H} + 1", y1=f"{top} + (datum.order + 1) * {ONR_H} - 1").mark_rect(
        color=palette.SEQ_HIGH, opacity=0.8, cornerRadius=1).encode(
        slot_x("x0"), x2="x1:Q", y=pixel_y("y0"), y2="y1:Q",
        tooltip=[alt.Tooltip("cell:N", title="cell"), alt.Tooltip("start:Q", title="on from"),
                 alt.Tooltip("end:Q", title="to")])
    return [bars, _name("on-ranges", top + L.range_rows * ONR_H / 2)], L.range_rows * ONR_H


def _jaccard(top: float) -> tuple[list, float]:
    area = alt.Chart(named("jaccard")).transform_calculate(
        y=f"{top + JAC_H} - datum.jaccard * {JAC_H}", y0=f"{top + JAC_H}").mark_area(
        interpolate="step", color=palette.SEQ_HIGH, opacity=0.55, line=True).encode(
        slot_x(), pixel_y("y"), y2="y0:Q",
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("jaccard:Q", title="Jaccard", format=".3f")])
    return [area, _name("Jaccard", top + JAC_H / 2)], JAC_H


def row_layers(L: Layout, top: float) -> tuple[list, float]:
    """The rows under the signature (tracks, on-ranges, Jaccard) from ``top``; the height they end at."""
    layers: list = []
    for i in range(len(L.tracks)):
        more, h = _track(L, i, top)
        layers += more
        top += h + 3
    if L.query:
        for more, h in (_ranges(L, top + GAP), _jaccard(top + GAP + L.range_rows * ONR_H + 2 * GAP)):
            layers += more
            top += h + 2 * GAP
    return layers, top
