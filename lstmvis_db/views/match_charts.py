"""Pure Altair builders of the Match view: the length histogram, the result matrix, its row links and
the heatmaps beside it (docs/app.md §Match).  Colours and the shared hover come from ``charts``.

A click on a histogram bar filters by its length and a click on the chosen bar again clears the
filter (:func:`chosen_length`; the page redraws the chart under a new key after each change).  The matrix
and the heatmaps are one horizontal row that the page lets scroll sideways; every heatmap has its
track's name as title and a colour legend under it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

from lstmvis_db.views import palette
from lstmvis_db.views.charts import (
    HIST,
    HOVER,
    AnyChart,
    _fade,
    _hover,
    _hover_stroke,
    category_color,
    count_color,
    scalar_color,
)

__all__ = ["CIRCLE_HOVER", "HIST", "HOVER", "ROW", "Circles", "axis_lengths", "chosen_length", "circle_opacity",
           "heatmap", "length_histogram", "match_view", "matrix_cell_width", "result_matrix", "row_links"]

ROW = 22  # px per result row (matrix and heatmaps)
CIRCLE_HOVER = "circle_hover"  # the dots' hover: every dot of the hovered value grows
MAX_LABELS = 24  # at most this many labels on the histogram's length axis
LEGEND_SYMBOLS = 12  # a categorical heatmap legend lists this many labels, then "…"


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


def length_histogram(hist: pd.DataFrame, selected: int = 0, selection_name: str = HIST) -> AnyChart:
    """Length distribution (√ scale): light bars = all candidates, dark = strict.  A click on a bar
    selects it in the point selection ``selection_name`` on ``length`` (no double-click clearing: two
    clicks would clear and set the filter again);
    the chosen length (``selected``, 0 = none) is outlined.  The page draws the chart afresh (a new
    key) whenever the chosen length changes, so every click is a change (:func:`chosen_length`)."""
    sel = alt.selection_point(name=selection_name, fields=["length"], on="click", clear=False)
    wide = hist.pivot_table(index="length", columns="kind", values="n", fill_value=0).reset_index() if len(hist) else \
        pd.DataFrame({"length": [], "all": [], "strict": []})
    for k in ("all", "strict"):
        if k not in wide:
            wide[k] = 0
    wide["chosen"] = wide["length"] == selected
    labels = axis_lengths(wide["length"].astype(int).tolist())
    x = alt.X("length:O", title="match length (tokens)",
              axis=alt.Axis(values=labels, labelAngle=0, labelOverlap="greedy", labelFontSize=10))
    tips = [alt.Tooltip("length:O", title="length"), alt.Tooltip("all:Q", title="all candidates", format=","),
            alt.Tooltip("strict:Q", title="strict (no cell missing)", format=",")]
    allb = alt.Chart(wide).mark_bar(color="#9ecae1", cursor="pointer").encode(
        x, alt.Y("all:Q", title="candidates", scale=alt.Scale(type="sqrt")), tooltip=tips,
        stroke=alt.condition(alt.datum.chosen, alt.value("#e66101"), alt.value(None)),
        strokeWidth=alt.value(2)).add_params(sel)
    strict = alt.Chart(wide).mark_bar(color=palette.SEQ_HIGH, width=alt.RelativeBandSize(0.5), cursor="pointer").encode(
        x, alt.Y("strict:Q", scale=alt.Scale(type="sqrt")), tooltip=tips)
    title = "length distribution: light = all, dark = strict · click a bar to filter, click it again to clear"
    return alt.layer(allb, strict).properties(height=140, width="container",
                                              title=alt.TitleParams(title, fontSize=12, anchor="start"))


def matrix_cell_width(labels: Sequence[str], lo: int = 22, hi: int = 52) -> int:
    """Width of a result-matrix column for these token labels: about 7.5 px a character of the
    longest label (the 90th percentile, so one long token does not widen every column)."""
    if not len(labels):
        return lo
    lens = sorted(len(str(t)) for t in labels)
    longest = lens[min(len(lens) - 1, int(0.9 * len(lens)))]
    return int(min(max(7.5 * longest + 10, lo), hi))


def _matrix_base(df: pd.DataFrame, left: int, right_max: int, rank_axis: bool) -> tuple[alt.X, alt.Y, int, int]:
    x = alt.X("offset:O", scale=alt.Scale(domain=list(range(-left, right_max + 1))),
              axis=alt.Axis(title=None, labels=False, ticks=False, domain=False))
    n_rows = int(df["rank"].max()) if len(df) else 1
    y = alt.Y("rank:O", scale=alt.Scale(domain=list(range(1, n_rows + 1))),
              axis=alt.Axis(title="rank", labelFontSize=10) if rank_axis else None)
    return x, y, (left + right_max + 1), n_rows


def _legend(kind: str, title: str) -> alt.Legend:
    common: dict[str, Any] = {"orient": "bottom", "title": title, "titleFontSize": 11, "labelFontSize": 10,
                              "titleLimit": 300}
    if kind == "categorical":
        return alt.Legend(**common, columns=2, symbolLimit=LEGEND_SYMBOLS, labelLimit=90, symbolType="square")
    return alt.Legend(**common, direction="horizontal", gradientLength=120, gradientThickness=8)


def _field_color(field: str, kind: str, max_count: int, colors: Mapping[str, str] | None,
                 vmin: float | None, vmax: float | None, title: str | None = None) -> alt.Color:
    if kind == "count":
        c = count_color(field, max_count, title="cells on")
    elif kind == "categorical":
        c = category_color(field, colors or {}, title=title or field)
    else:
        c = scalar_color(field, vmin, vmax, title=title or field)
    return c.legend(_legend(kind, "cells on" if kind == "count" else title or field))


def _titles(tracks: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    return dict(tracks) if isinstance(tracks, Mapping) else {t: t for t in tracks}


def _tips(tracks: Sequence[str] | Mapping[str, str]) -> list[alt.Tooltip]:
    """Tooltip of a matrix/heatmap cell; ``tracks`` maps a track's column to its title."""
    return ([alt.Tooltip("rank:O", title="rank"), alt.Tooltip("pos:Q", title="position", format=","),
             alt.Tooltip("label:N", title="token"), alt.Tooltip("count:Q", title="cells on")]
            + [alt.Tooltip(f"{f}:N", title=t) for f, t in _titles(tracks).items()])


@dataclass(frozen=True)
class Circles:
    """The V1 circle mapping: a dot on every word of the result matrix coloured by ``field``
    (``kind`` count / categorical / scalar, as a heatmap), named ``title``."""

    field: str
    kind: str
    colors: Mapping[str, str] | None = None
    vmin: float | None = None
    vmax: float | None = None
    title: str | None = None


def circle_opacity(df: pd.DataFrame) -> pd.Series:
    """The original's opacity rule for the dots: opaque inside the matched phrase and one step on
    either side of it, 0.1 elsewhere (``offset`` from the match start, ``length`` of the match)."""
    inside = (df["offset"] >= -1) & (df["offset"] <= df["length"])
    return inside.map({True: 1.0, False: 0.1}).astype("float64")


def circle_hover(c: Circles) -> alt.Parameter:
    """The dots' hover: the value of the mapped field under the pointer."""
    return alt.selection_point(name=CIRCLE_HOVER, on="pointerover", fields=[c.field], empty=False,
                               clear="pointerout")


def _circles(df: pd.DataFrame, x: alt.X, y: alt.Y, c: Circles, mask: bool, max_count: int,
             tracks: Sequence[str] | Mapping[str, str], hover: alt.Parameter) -> alt.Chart:
    """Dots near the bottom of each matrix cell; hovering one enlarges every dot of the same value
    (the point selection ``hover`` on the mapped field; it is defined on the matrix's rect layer,
    which shares the frame: Altair 6 lists a second layer's own selection under its sibling's
    too, and Vega then refuses the duplicate signal).  Its events come from any mark of the
    layered view, so the dot under the pointer sets it."""
    name = c.title or c.field
    color = _field_color(c.field, c.kind, max_count, c.colors, c.vmin, c.vmax, name)
    color = color.legend(_legend(c.kind, f"dots: {'cells on' if c.kind == 'count' else name}"))
    base = alt.Chart(df)
    enc: dict[str, Any] = {"opacity": alt.Opacity("dot_opacity:Q", scale=None, legend=None)} if mask else {}
    return base.mark_circle(yOffset=ROW / 2 - 4, stroke="#333333", strokeWidth=0.4, cursor="pointer").encode(
        x, y, color=color, size=alt.condition(hover, alt.value(150), alt.value(24)), tooltip=_tips(tracks),
        **enc)


def result_matrix(df: pd.DataFrame, color_field: str = "count", color_kind: str = "count",
                  colors: Mapping[str, str] | None = None, vmin: float | None = None, vmax: float | None = None,
                  left: int = 3, cw: int = 30, mask: bool = True,
                  tracks: Sequence[str] | Mapping[str, str] = (), title: str | None = None,
                  circles: Circles | None = None) -> AnyChart:
    """Rows = results, columns = steps (left context | match + right context); word backgrounds
    by ``color_field`` (count or a track, named ``title``, with its legend under the matrix) (the
    V1 "rect" mapping); with ``mask`` and a track mapped, words fade by count.  With ``circles``
    (the V1 "circle" mapping) a dot on every word coloured by another field, with ``mask`` opaque
    only inside the match and one step around it (:func:`circle_opacity`)."""
    right_max = int(df["offset"].max()) if len(df) else 0
    x, y, n_cols, n_rows = _matrix_base(df, left, right_max, rank_axis=True)
    mc = int(df["count"].max()) if len(df) else 1
    if circles is not None and mask:
        df = df.assign(dot_opacity=circle_opacity(df))
    enc = _fade(mask and color_kind != "count", mc, 0.1)
    hover = _hover()
    color = _field_color(color_field, color_kind, mc, colors, vmin, vmax, title)
    dots = circle_hover(circles) if circles is not None else None
    rect = alt.Chart(df).mark_rect().encode(x, y, color=color, tooltip=_tips(tracks), **enc,
                                            **_hover_stroke(hover)).add_params(hover, *([dots] if dots else []))
    font = 12 if cw >= 24 else 11
    text = alt.Chart(df).transform_filter(~alt.datum.in_match).mark_text(fontSize=font, limit=max(cw - 2, 6)).encode(
        x, y, text="label:N", tooltip=_tips(tracks))
    bold = alt.Chart(df).transform_filter(alt.datum.in_match).mark_text(
        fontSize=font, limit=max(cw - 2, 6), fontWeight="bold").encode(x, y, text="label:N", tooltip=_tips(tracks))
    sep = (alt.Chart(pd.DataFrame({"offset": [0]}))
           .mark_rule(color="#333333", strokeWidth=1.5, xOffset=-cw / 2).encode(x))
    head = title or ("match count" if color_kind == "count" else color_field)
    layers: list[alt.Chart] = [rect, text, bold, sep]
    if circles is not None and dots is not None:
        layers.append(_circles(df, x, y, circles, mask, mc, tracks, dots))
        head += f" · dots by {circles.title or circles.field}"
    return alt.layer(*layers).resolve_scale(color="independent", opacity="independent", size="independent").properties(
        width=cw * n_cols, height=ROW * n_rows,
        title=alt.TitleParams(f"results · words coloured by {head}", anchor="start", fontSize=12))


def row_links(links: pd.DataFrame) -> alt.Chart:
    """A link icon per result row (columns rank, link): opens the Select view at that match."""
    n_rows = int(links["rank"].max()) if len(links) else 1
    return alt.Chart(links).mark_text(fontSize=14, color=palette.SEQ_HIGH, cursor="pointer").encode(
        alt.Y("rank:O", scale=alt.Scale(domain=list(range(1, n_rows + 1))), axis=None),
        text=alt.value("↗"), href="link:N", tooltip=[alt.Tooltip("link:N", title="open in Select")],
    ).properties(width=16, height=ROW * n_rows, title=alt.TitleParams(" ", fontSize=12))


def heatmap(df: pd.DataFrame, field: str, kind: str, colors: Mapping[str, str] | None = None,
            vmin: float | None = None, vmax: float | None = None, left: int = 3,
            tracks: Sequence[str] | Mapping[str, str] = (),
            title: str | None = None, cell: int = 6) -> alt.Chart:
    """One heatmap beside the matrix: rows = results, columns = steps (``cell`` x ``ROW`` px cells),
    titled by its track with the colour legend under it."""
    right_max = int(df["offset"].max()) if len(df) else 0
    x, y, n_cols, n_rows = _matrix_base(df, left, right_max, rank_axis=False)
    mc = int(df["count"].max()) if len(df) else 1
    hover = _hover()
    name = title or field
    return alt.Chart(df).mark_rect().encode(
        x, y, color=_field_color(field, kind, mc, colors, vmin, vmax, name), tooltip=_tips(tracks),
        **_hover_stroke(hover, width=0.3)).add_params(hover).properties(
        width=cell * n_cols, height=ROW * n_rows, title=alt.TitleParams(name, anchor="start", fontSize=12))


def match_view(matrix: AnyChart, heatmaps: Sequence[AnyChart],
               links: AnyChart | None = None) -> alt.HConcatChart:
    """The matrix (after its row links, if given) with its heatmaps to the right."""
    first: list[AnyChart] = [links] if links is not None else []
    return (alt.hconcat(*first, matrix, *heatmaps, spacing=16)
            .resolve_scale(color="independent", opacity="independent").configure_view(stroke=None))
