"""The rows of the Select chart under the words and the signature (:mod:`select_chart`): each
annotation track with its name on the left and its legend, the on-ranges of the query cells and
the Jaccard preview; and the mark helpers both modules build with (token slots on x, pixel rows
on y)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

from lstmvis_db.views import palette

if TYPE_CHECKING:
    from lstmvis_db.views.select_chart import Layout

#: one entry of ``Layout.tracks``: name, kind, colours, vmin, vmax, rows (of a top-k track)
TrackLayout = tuple[str, str, tuple[tuple[str, str], ...], float | None, float | None, int]

__all__ = ["GAP", "JAC_H", "NAME_GAP", "ONR_H", "TOPK_H", "TRACK_H", "TrackLayout", "named", "pixel_y", "row_dicts",
           "row_layers", "slot_text", "slot_x", "spans"]

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


def _fade(mask: bool) -> dict:
    if not mask:
        return {}
    return {"opacity": alt.Opacity("count:Q", legend=None,
                                   scale=alt.Scale(domain=alt.DomainUnionWith(unionWith=[0, 1]), range=[0.2, 1]))}


def _topk(n: int, i: int, name: str, rows: int, top: float) -> tuple[list, float]:
    c = spans(alt.Chart(named(f"track{i}"))).transform_calculate(
        y0=f"{top} + (datum.rank - 1) * {TOPK_H}", y1=f"{top} + datum.rank * {TOPK_H}",
        ym=f"{top} + (datum.rank - 0.5) * {TOPK_H}")
    rect = c.mark_rect(stroke="white", strokeWidth=0.5).encode(
        slot_x("x0"), x2="x1:Q", y=pixel_y("y0"), y2="y1:Q",
        color=alt.Color("score:Q", scale=alt.Scale(range=[palette.SEQ_LOW, palette.SEQ_HIGH], zero=True),
                        legend=alt.Legend(title=f"{name} score", orient="bottom", gradientLength=100)),
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("rank:O", title="rank"),
                 alt.Tooltip("token:N", title="prediction"), alt.Tooltip("score:Q", title="score", format=".3f")])
    text = slot_text(f"track{i}", n, pixel_y("ym"), 9).transform_calculate(
        ym=f"{top} + (datum.rank - 0.5) * {TOPK_H}")
    return [rect, text, _name(name, top + rows * TOPK_H / 2)], rows * TOPK_H


def _track(row: TrackLayout, i: int, top: float, n: int, mask: bool) -> tuple[list, float]:
    """One annotation row (``Layout.tracks[i]``) with its name and legend; its layers and height."""
    name, kind, colors, vmin, vmax, rows = row
    if kind == "topk":
        return _topk(n, i, name, rows, top)
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
        slot_x("x0"), x2="x1:Q", y=alt.value(top), y2=alt.value(top + TRACK_H), color=color, tooltip=tip, **_fade(mask))
    layers = [rect, _name(name, top + TRACK_H / 2)]
    if kind != "scalar":
        layers.append(slot_text(f"track{i}", n, alt.value(top + TRACK_H / 2), 9).encode(
            color=alt.Color("ink:N", scale=None)))
    return layers, TRACK_H


def _ranges(range_rows: int, top: float) -> tuple[list, float]:
    bars = alt.Chart(named("ranges")).transform_calculate(
        y0=f"{top} + datum.order * {ONR_H} + 1", y1=f"{top} + (datum.order + 1) * {ONR_H} - 1").mark_rect(
        color=palette.SEQ_HIGH, opacity=0.8, cornerRadius=1).encode(
        slot_x("x0"), x2="x1:Q", y=pixel_y("y0"), y2="y1:Q",
        tooltip=[alt.Tooltip("cell:N", title="cell"), alt.Tooltip("start:Q", title="on from"),
                 alt.Tooltip("end:Q", title="to")])
    return [bars, _name("on-ranges", top + range_rows * ONR_H / 2)], range_rows * ONR_H


def _jaccard(top: float) -> tuple[list, float]:
    area = alt.Chart(named("jaccard")).transform_calculate(
        y=f"{top + JAC_H} - datum.jaccard * {JAC_H}", y0=f"{top + JAC_H}").mark_area(
        interpolate="step", color=palette.SEQ_HIGH, opacity=0.55, line=True).encode(
        slot_x(), pixel_y("y"), y2="y0:Q",
        tooltip=[alt.Tooltip("pos:Q", title="position"), alt.Tooltip("jaccard:Q", title="Jaccard", format=".3f")])
    return [area, _name("Jaccard", top + JAC_H / 2)], JAC_H


def _rows(L: Layout, top: float) -> Iterator[tuple[Callable[[], tuple[list, float]], tuple, float]]:
    """Each row under the signature: the function making its layers and height, its cache key, the
    gap after it."""
    for i, row in enumerate(L.tracks):
        yield functools.partial(_track, row, i, top, L.n, L.mask), ("track", row, i, top, L.n, L.mask), 3
        top += (row[5] * TOPK_H if row[1] == "topk" else TRACK_H) + 3
    if L.query:
        top += GAP
        yield functools.partial(_ranges, L.range_rows, top), ("ranges", L.range_rows, top), 2 * GAP
        top += L.range_rows * ONR_H + 2 * GAP
        yield functools.partial(_jaccard, top), ("jaccard", top), 2 * GAP


def row_layers(L: Layout, top: float) -> tuple[list, float]:
    """The rows under the signature (tracks, on-ranges, Jaccard) from ``top``; the height they end at."""
    layers: list = []
    end = top
    for make, _, after in _rows(L, top):
        more, h = make()
        layers += more
        end += h + after
    return layers, end


_CACHE: dict[tuple, tuple[tuple[dict, ...], dict, float]] = {}


def row_dicts(L: Layout, top: float) -> tuple[list[dict], dict, float]:
    """:func:`row_layers` as the layer dicts of a layered spec and the inline datasets they name,
    each row's kept by its own key (the track, its index and place, the window size, the mask):
    showing another track makes that row's layers only, not every row's and not the layered chart
    in Altair (most of the cost)."""
    out: list[dict] = []
    data: dict = {}
    end = top
    for make, key, after in _rows(L, top):
        got = _CACHE.get(key)  # one look-up: another session's thread may clear the cache meanwhile
        if got is None:
            if len(_CACHE) > 512:
                _CACHE.clear()
            charts, h = make()
            units = [c.to_dict(validate=False) for c in charts]
            got = (tuple({k: v for k, v in d.items() if k not in ("$schema", "config", "datasets")} for d in units),
                   {k: v for d in units for k, v in d.get("datasets", {}).items()}, h)
            _CACHE[key] = got
        dicts, sets, h = got
        out += [dict(d) for d in dicts]
        data.update(sets)
        end += h + after
    return out, data, end
