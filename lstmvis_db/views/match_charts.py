"""Vega-Lite specs of the Match view: the length histogram, the result matrix, its row links and
the heatmaps beside it (docs/app.md §Match).  Colours and the shared hover come from ``charts``.

A click on a histogram bar filters by its length and a click on the chosen bar again clears the
filter (:func:`chosen_length`; the page redraws the chart under a new key after each change).  The matrix
and the heatmaps are one horizontal row that the page lets scroll sideways; every heatmap has its
track's name as title and a colour legend under it.

As in the Select view (:mod:`select_chart`), a spec depends only on its layout (:class:`MatrixLayout`,
the histogram's axis labels) and is built once per layout with Altair and kept as a dict; the values
travel as named datasets (``mat``, ``links``, ``hist``).  The number of result rows and the highest
match count are not part of the layout: the rank scale's domain comes from the data and each view's
height (``ROW`` px a row) is set on a shallow copy of the kept spec; the count scales' domain is the
data's extent united with [0, 1] (the same [0, max(count, 1)] as before, counts being >= 0), so
another result count or query keeps the spec.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import pandas as pd

from lstmvis_db.views import palette
from lstmvis_db.views.charts import HIST, HOVER, _hover, _hover_stroke

__all__ = ["CIRCLE_HOVER", "HIST", "HOVER", "ROW", "Circles", "MatrixLayout", "Paint", "axis_lengths",
           "chosen_length", "circle_opacity", "length_histogram", "match_datasets", "match_spec", "match_view",
           "matrix_cell_width", "paint"]

ROW = 22  # px per result row (matrix and heatmaps)
CIRCLE_HOVER = "circle_hover"  # the dots' hover: every dot of the hovered value grows
MAX_LABELS = 24  # at most this many labels on the histogram's length axis
LEGEND_SYMBOLS = 12  # a categorical heatmap legend lists this many labels, then "…"
MAT, LINKS, HIST_DATA = "mat", "links", "hist"  # the named datasets
#: from the data's extent united with [0, 1]: [0, max(count, 1)] for counts >= 0
_COUNT_DOMAIN = alt.DomainUnionWith(unionWith=[0, 1])


def axis_lengths(lengths: Sequence[int], most: int = MAX_LABELS) -> list[int]:
    """The lengths that get an axis label: all when there are at most ``most``, else the multiples of
    the smallest step of 1, 2, 5, 10, 20, 50, ... that leaves at most ``most`` (and the first length)."""
    ls = sorted({int(x) for x in lengths})
    if len(ls) <= most:
        return ls
    steps = (m * 10 ** k for k in range(12) for m in (1, 2, 5))
    step = next(st for st in steps if sum(1 for x in ls if x % st == 0) < most)
    return sorted({ls[0], *(x for x in ls if x % step == 0)})


def chosen_length(current: int, selected: Sequence[int]) -> int:
    """The length filter after a click on a freshly drawn histogram (no bar selected when drawn):
    ``selected`` are the lengths its selection holds now.  The chosen bar clicked again or an
    emptied selection clears the filter (0); another bar becomes the filter."""
    if not selected:
        return 0
    newest = int(selected[-1])
    return 0 if newest == int(current) else newest


def _named(name: str) -> alt.NamedData:
    return alt.NamedData(name=name)


@functools.lru_cache(maxsize=64)
def _histogram_spec(labels: tuple[int, ...], selection_name: str) -> dict:
    sel = alt.selection_point(name=selection_name, fields=["length"], on="click", clear=False)
    x = alt.X("length:O", title="match length (tokens)",
              axis=alt.Axis(values=list(labels), labelAngle=0, labelOverlap="greedy", labelFontSize=10))
    tips = [alt.Tooltip("length:O", title="length"), alt.Tooltip("all:Q", title="all candidates", format=","),
            alt.Tooltip("strict:Q", title="strict (no cell missing)", format=",")]
    allb = alt.Chart(_named(HIST_DATA)).mark_bar(color="#9ecae1", cursor="pointer").encode(
        x, alt.Y("all:Q", title="candidates", scale=alt.Scale(type="sqrt")), tooltip=tips,
        stroke=alt.condition(alt.datum.chosen, alt.value("#e66101"), alt.value(None)),
        strokeWidth=alt.value(2)).add_params(sel)
    strict = alt.Chart(_named(HIST_DATA)).mark_bar(color=palette.SEQ_HIGH, width=alt.RelativeBandSize(0.5),
                                                   cursor="pointer").encode(
        x, alt.Y("strict:Q", scale=alt.Scale(type="sqrt")), tooltip=tips)
    title = "length distribution: light = all, dark = strict · click a bar to filter, click it again to clear"
    return alt.layer(allb, strict).properties(height=140, width="container", title=alt.TitleParams(
        title, fontSize=12, anchor="start")).to_dict(validate=False)


def length_histogram(hist: pd.DataFrame, selected: int = 0, selection_name: str = HIST) -> dict:
    """Length distribution (√ scale): light bars = all candidates, dark = strict.  A click on a bar
    selects it in the point selection ``selection_name`` on ``length`` (no double-click clearing: two
    clicks would clear and set the filter again);
    the chosen length (``selected``, 0 = none) is outlined.  The page draws the chart afresh (a new
    key) whenever the chosen length changes, so every click is a change (:func:`chosen_length`).
    The spec is kept per axis labels; the bars are the dataset ``hist``."""
    wide = hist.pivot_table(index="length", columns="kind", values="n", fill_value=0).reset_index() if len(hist) else \
        pd.DataFrame({"length": [], "all": [], "strict": []})
    for k in ("all", "strict"):
        if k not in wide:
            wide[k] = 0
    wide["chosen"] = wide["length"] == selected
    labels = tuple(axis_lengths(wide["length"].astype(int).tolist()))
    return {**_histogram_spec(labels, selection_name), "datasets": {HIST_DATA: wide}}


def matrix_cell_width(labels: Sequence[str], lo: int = 22, hi: int = 52) -> int:
    """Width of a result-matrix column for these token labels: about 7.5 px a character of the
    longest label (the 90th percentile, so one long token does not widen every column)."""
    if not len(labels):
        return lo
    lens = sorted(len(str(t)) for t in labels)
    longest = lens[min(len(lens) - 1, int(0.9 * len(lens)))]
    return int(min(max(7.5 * longest + 10, lo), hi))


@dataclass(frozen=True)
class Paint:
    """A colour mapping of the matrix's words, a heatmap or the dots: the data column ``field``, its
    ``kind`` (count / categorical / scalar), a categorical track's (label, colour) pairs, a scalar
    track's range, and the name shown (``title``)."""

    field: str
    kind: str
    colors: tuple[tuple[str, str], ...] = ()
    vmin: float | None = None
    vmax: float | None = None
    title: str | None = None


#: the V1 circle mapping: a dot on every word of the result matrix coloured as a heatmap would be
Circles = Paint


def paint(field: str, kind: str, colors: Mapping[str, str] | None = None, vmin: float | None = None,
          vmax: float | None = None, title: str | None = None) -> Paint:
    """A :class:`Paint` from a colour dict (kept as pairs, in order, so that the layout is hashable)."""
    fin = [None if v is None or pd.isna(v) else float(v) for v in (vmin, vmax)]  # NaN / NA: no bound
    return Paint(field, kind, tuple((colors or {}).items()), fin[0], fin[1], title)


@dataclass(frozen=True)
class MatrixLayout:
    """What the result view's spec depends on (hashable); the rows, tokens and values are data.
    ``right_max`` is the last step drawn (offsets -left..right_max), ``cw`` a column's width,
    ``tracks`` the (column, title) pairs of the tooltips."""

    left: int
    right_max: int
    cw: int
    mask: bool
    color: Paint
    tracks: tuple[tuple[str, str], ...] = ()
    circles: Paint | None = None
    heatmaps: tuple[Paint, ...] = field(default_factory=tuple)


def _x(L: MatrixLayout) -> alt.X:
    return alt.X("offset:O", scale=alt.Scale(domain=list(range(-L.left, L.right_max + 1))),
                 axis=alt.Axis(title=None, labels=False, ticks=False, domain=False))


def _y(rank_axis: bool) -> alt.Y:
    """Result rows: ``rank`` in the data's order, one ``ROW`` px step each (the chart's height)."""
    return alt.Y("rank:O", axis=alt.Axis(title="rank", labelFontSize=10) if rank_axis else None)


def _legend(kind: str, title: str) -> alt.Legend:
    common: dict[str, Any] = {"orient": "bottom", "title": title, "titleFontSize": 11, "labelFontSize": 10,
                              "titleLimit": 300}
    if kind == "categorical":
        return alt.Legend(**common, columns=2, symbolLimit=LEGEND_SYMBOLS, labelLimit=90, symbolType="square")
    return alt.Legend(**common, direction="horizontal", gradientLength=120, gradientThickness=8)


def _color(p: Paint, legend_title: str | None = None) -> alt.Color:
    name = p.title or p.field
    if p.kind == "count":
        scale = alt.Scale(domain=_COUNT_DOMAIN, range=[palette.SEQ_LOW, palette.SEQ_HIGH])
        c = alt.Color(f"{p.field}:Q", title="cells on", scale=scale)
    elif p.kind == "categorical":
        c = alt.Color(f"{p.field}:N", title=name, scale=alt.Scale(domain=[k for k, _ in p.colors],
                                                                  range=[v for _, v in p.colors]))
    else:
        domain, rng = palette.scalar_scale(p.vmin, p.vmax)
        c = alt.Color(f"{p.field}:Q", title=name, scale=alt.Scale(domain=domain, range=rng))
    return c.legend(_legend(p.kind, legend_title or ("cells on" if p.kind == "count" else name)))


def _fade(floor: float) -> dict[str, alt.Opacity]:
    """The encoding that fades a word from opacity 1 down to ``floor`` as fewer selected cells are on."""
    return {"opacity": alt.Opacity("count:Q", legend=None, scale=alt.Scale(domain=_COUNT_DOMAIN, range=[floor, 1]))}


def _tips(L: MatrixLayout) -> list[alt.Tooltip]:
    """Tooltip of a matrix/heatmap cell; ``L.tracks`` maps a track's column to its title."""
    return ([alt.Tooltip("rank:O", title="rank"), alt.Tooltip("pos:Q", title="position", format=","),
             alt.Tooltip("label:N", title="token"), alt.Tooltip("count:Q", title="cells on")]
            + [alt.Tooltip(f"{f}:N", title=t) for f, t in L.tracks])


def circle_opacity(df: pd.DataFrame) -> pd.Series:
    """The original's opacity rule for the dots: opaque inside the matched phrase and one step on
    either side of it, 0.1 elsewhere (``offset`` from the match start, ``length`` of the match)."""
    inside = (df["offset"] >= -1) & (df["offset"] <= df["length"])
    return inside.map({True: 1.0, False: 0.1}).astype("float64")


def _circles(L: MatrixLayout, c: Paint, x: alt.X, y: alt.Y, hover: alt.Parameter) -> alt.Chart:
    """Dots near the bottom of each matrix cell; hovering one enlarges every dot of the same value
    (the point selection ``hover`` on the mapped field; it is defined on the matrix's rect layer,
    which shares the frame: Altair 6 lists a second layer's own selection under its sibling's
    too, and Vega then refuses the duplicate signal).  Its events come from any mark of the
    layered view, so the dot under the pointer sets it."""
    name = "cells on" if c.kind == "count" else (c.title or c.field)
    enc: dict[str, Any] = {"opacity": alt.Opacity("dot_opacity:Q", scale=None, legend=None)} if L.mask else {}
    return alt.Chart(_named(MAT)).mark_circle(yOffset=ROW / 2 - 4, stroke="#333333", strokeWidth=0.4,
                                              cursor="pointer").encode(
        x, y, color=_color(c, f"dots: {name}"), size=alt.condition(hover, alt.value(150), alt.value(24)),
        tooltip=_tips(L), **enc)


def _result_matrix(L: MatrixLayout) -> alt.LayerChart:
    """Rows = results, columns = steps (left context | match + right context); word backgrounds
    by ``L.color`` (count or a track, with its legend under the matrix) (the V1 "rect" mapping);
    with ``mask`` and a track mapped, words fade by count.  With ``L.circles`` (the V1 "circle"
    mapping) a dot on every word coloured by another field, with ``mask`` opaque only inside the
    match and one step around it (:func:`circle_opacity`)."""
    x, y, cw = _x(L), _y(rank_axis=True), L.cw
    enc = _fade(0.1) if L.mask and L.color.kind != "count" else {}
    hover = _hover()
    dots = None
    if L.circles is not None:
        dots = alt.selection_point(name=CIRCLE_HOVER, on="pointerover", fields=[L.circles.field], empty=False,
                                   clear="pointerout")
    rect = alt.Chart(_named(MAT)).mark_rect().encode(x, y, color=_color(L.color), tooltip=_tips(L), **enc,
                                                     **_hover_stroke(hover))
    rect = rect.add_params(hover, *([dots] if dots else []))
    font = 12 if cw >= 24 else 11
    text = alt.Chart(_named(MAT)).transform_filter(~alt.datum.in_match).mark_text(
        fontSize=font, limit=max(cw - 2, 6)).encode(x, y, text="label:N", tooltip=_tips(L))
    bold = alt.Chart(_named(MAT)).transform_filter(alt.datum.in_match).mark_text(
        fontSize=font, limit=max(cw - 2, 6), fontWeight="bold").encode(x, y, text="label:N", tooltip=_tips(L))
    sep = (alt.Chart(alt.Data(values=[{"offset": 0}]))
           .mark_rule(color="#333333", strokeWidth=1.5, xOffset=-cw / 2).encode(x))
    head = L.color.title or ("match count" if L.color.kind == "count" else L.color.field)
    layers: list[alt.Chart] = [rect, text, bold, sep]
    if L.circles is not None and dots is not None:
        layers.append(_circles(L, L.circles, x, y, dots))
        head += f" · dots by {L.circles.title or L.circles.field}"
    return alt.layer(*layers).resolve_scale(color="independent", opacity="independent", size="independent").properties(
        width=cw * (L.left + L.right_max + 1), height=alt.Step(ROW),
        title=alt.TitleParams(f"results · words coloured by {head}", anchor="start", fontSize=12))


def _row_links() -> alt.Chart:
    """A link icon per result row (dataset ``links``: rank, link): opens the Select view at that match."""
    return alt.Chart(_named(LINKS)).mark_text(fontSize=14, color=palette.SEQ_HIGH, cursor="pointer").encode(
        alt.Y("rank:O", axis=None), text=alt.value("↗"), href="link:N",
        tooltip=[alt.Tooltip("link:N", title="open in Select")],
    ).properties(width=16, height=alt.Step(ROW), title=alt.TitleParams(" ", fontSize=12))


def _heatmap(L: MatrixLayout, h: Paint, cell: int = 6) -> alt.Chart:
    """One heatmap beside the matrix: rows = results, columns = steps (``cell`` x ``ROW`` px cells),
    titled by its track with the colour legend under it."""
    hover = _hover()
    name = h.title or h.field
    return alt.Chart(_named(MAT)).mark_rect().encode(
        _x(L), _y(rank_axis=False), color=_color(h), tooltip=_tips(L),
        **_hover_stroke(hover, width=0.3)).add_params(hover).properties(
        width=cell * (L.left + L.right_max + 1), height=alt.Step(ROW),
        title=alt.TitleParams(name, anchor="start", fontSize=12))


def _build_spec(L: MatrixLayout) -> dict:
    """The matrix (after its row links) with its heatmaps to the right, as a Vega-Lite dict."""
    view = (alt.hconcat(_row_links(), _result_matrix(L), *(_heatmap(L, h) for h in L.heatmaps), spacing=16)
            .resolve_scale(color="independent", opacity="independent").configure_view(stroke=None))
    return view.to_dict(validate=False)


_cached_spec = functools.lru_cache(maxsize=64)(_build_spec)


def match_spec(L: MatrixLayout, shared: bool = True) -> dict:
    """The result view's spec (without data) for this layout; kept in a cache shared by every
    session when ``shared`` (pass False when the layout holds a visitor's own track names: it is
    then built afresh)."""
    return _cached_spec(L) if shared else _build_spec(L)


def match_datasets(mat: pd.DataFrame, links: pd.DataFrame, L: MatrixLayout) -> dict[str, pd.DataFrame]:
    """The named datasets of the result view: ``mat`` (rank, offset, pos, label, count, in_match and
    the shown tracks' columns of ``views.matrix_frame``; the dots' opacity when there are dots and a
    mask) and ``links`` (rank, link)."""
    cols = ["rank", "offset", "pos", "label", "count", "in_match", *(f for f, _ in L.tracks if f in mat)]
    data = mat[cols].reset_index(drop=True)
    if L.circles is not None and L.mask:
        data["dot_opacity"] = circle_opacity(mat).to_numpy()
    return {MAT: data, LINKS: links[["rank", "link"]].reset_index(drop=True)}


def match_view(L: MatrixLayout, mat: pd.DataFrame, links: pd.DataFrame, shared: bool = True) -> dict:
    """The result view: :func:`match_spec` of ``L`` with :func:`match_datasets` of ``mat`` and ``links``,
    each chart's height set to ``ROW`` px a result row."""
    spec = match_spec(L, shared)
    n_rows = int(links["rank"].nunique()) or 1
    return {**spec, "hconcat": [{**c, "height": ROW * n_rows} for c in spec["hconcat"]],
            "datasets": match_datasets(mat, links, L)}
