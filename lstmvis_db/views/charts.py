"""Pure Altair builders of the app's views: each takes tidy frames and returns an ``alt`` chart.

Colours follow docs/app.md §Colours (``palette`` holds the scales).  The Match view is the result matrix with
its heatmaps beside it; the Select view is :mod:`lstmvis_db.views.select_chart`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

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


# --------------------------------------------------------------------------- Match view


def length_histogram(hist: pd.DataFrame, selected: int = 0, selection_name: str = HIST) -> AnyChart:
    """Length distribution (√ scale): light bars = all candidates, dark = strict; click a bar to
    filter by that length (point selections ``selection_name`` and ``selection_name + '_strict'``
    on ``length``)."""
    sel = alt.selection_point(name=selection_name, fields=["length"], on="click", clear="dblclick")
    # the dark bars lie on top of the light ones: they take clicks too, under their own name
    sel_strict = alt.selection_point(name=selection_name + "_strict", fields=["length"], on="click", clear="dblclick")
    wide = hist.pivot_table(index="length", columns="kind", values="n", fill_value=0).reset_index() if len(hist) else \
        pd.DataFrame({"length": [], "all": [], "strict": []})
    for k in ("all", "strict"):
        if k not in wide:
            wide[k] = 0
    wide["chosen"] = wide["length"] == selected
    x = alt.X("length:O", title="match length (tokens)")
    tips = [alt.Tooltip("length:O", title="l"), alt.Tooltip("all:Q", title="all"),
            alt.Tooltip("strict:Q", title="strict")]
    allb = alt.Chart(wide).mark_bar(color="#9ecae1").encode(
        x, alt.Y("all:Q", title="candidates", scale=alt.Scale(type="sqrt")), tooltip=tips,
        stroke=alt.condition(alt.datum.chosen, alt.value("#e66101"), alt.value(None)),
        strokeWidth=alt.value(2)).add_params(sel)
    strict = alt.Chart(wide).mark_bar(color=palette.SEQ_HIGH, width=alt.RelativeBandSize(0.5)).encode(
        x, alt.Y("strict:Q", scale=alt.Scale(type="sqrt")), tooltip=tips).add_params(sel_strict)
    return alt.layer(allb, strict).properties(height=140, width="container",
                                              title=alt.TitleParams("length distribution: light = all, dark = strict",
                                                                    fontSize=12, anchor="start"))


def _matrix_base(df: pd.DataFrame, left: int, right_max: int, cw: int,
                 rank_axis: bool) -> tuple[alt.X, alt.Y, int, int]:
    x = alt.X("offset:O", scale=alt.Scale(domain=list(range(-left, right_max + 1))),
              axis=alt.Axis(title=None, labels=False, ticks=False, domain=False))
    n_rows = int(df["rank"].max()) if len(df) else 1
    y = alt.Y("rank:O", scale=alt.Scale(domain=list(range(1, n_rows + 1))),
              axis=alt.Axis(title="rank", labelFontSize=9) if rank_axis else None)
    return x, y, (left + right_max + 1), n_rows


def _field_color(field: str, kind: str, max_count: int, colors: Mapping[str, str] | None,
                 vmin: float | None, vmax: float | None) -> alt.Color:
    if kind == "count":
        return count_color(field, max_count, title="cells on")
    if kind == "categorical":
        return category_color(field, colors or {}, title=field)
    return scalar_color(field, vmin, vmax, title=field)


def _titles(tracks: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
    return dict(tracks) if isinstance(tracks, Mapping) else {t: t for t in tracks}


def _tips(tracks: Sequence[str] | Mapping[str, str]) -> list[alt.Tooltip]:
    """Tooltip of a matrix/heatmap cell; ``tracks`` maps a track's column to its title."""
    return ([alt.Tooltip("rank:O", title="rank"), alt.Tooltip("pos:Q", title="position"),
             alt.Tooltip("token:N", title="token"), alt.Tooltip("count:Q", title="cells on")]
            + [alt.Tooltip(f"{f}:N", title=t) for f, t in _titles(tracks).items()])


def result_matrix(df: pd.DataFrame, color_field: str = "count", color_kind: str = "count",
                  colors: Mapping[str, str] | None = None, vmin: float | None = None, vmax: float | None = None,
                  left: int = 3, cw: int = 30, mask: bool = True,
                  tracks: Sequence[str] | Mapping[str, str] = ()) -> AnyChart:
    """Rows = results, columns = steps (left context | match + right context); word backgrounds
    by ``color_field`` (count or a track); with ``mask`` and a track mapped, words fade by count."""
    right_max = int(df["offset"].max()) if len(df) else 0
    x, y, n_cols, n_rows = _matrix_base(df, left, right_max, cw, rank_axis=True)
    mc = int(df["count"].max()) if len(df) else 1
    enc = _fade(mask and color_kind != "count", mc, 0.1)
    d = df
    hover = _hover()
    rect = alt.Chart(d).mark_rect().encode(
        x, y, color=_field_color(color_field, color_kind, mc, colors, vmin, vmax), tooltip=_tips(tracks), **enc,
        **_hover_stroke(hover)).add_params(hover)
    text = alt.Chart(d).transform_filter(~alt.datum.in_match).mark_text(fontSize=11, limit=max(cw - 2, 6)).encode(
        x, y, text="label:N", tooltip=_tips(tracks))
    bold = alt.Chart(d).transform_filter(alt.datum.in_match).mark_text(
        fontSize=11, limit=max(cw - 2, 6), fontWeight="bold").encode(x, y, text="label:N", tooltip=_tips(tracks))
    sep = (alt.Chart(pd.DataFrame({"offset": [0]}))
           .mark_rule(color="#333333", strokeWidth=1.5, xOffset=-cw / 2).encode(x))
    return alt.layer(rect, text, bold, sep).properties(width=cw * n_cols, height=20 * n_rows,
                                                 title=alt.TitleParams("results", anchor="start", fontSize=12))


def row_links(links: pd.DataFrame) -> alt.Chart:
    """A link icon per result row (columns rank, link): opens the Select view at that match."""
    n_rows = int(links["rank"].max()) if len(links) else 1
    return alt.Chart(links).mark_text(fontSize=14, color=palette.SEQ_HIGH, cursor="pointer").encode(
        alt.Y("rank:O", scale=alt.Scale(domain=list(range(1, n_rows + 1))), axis=None),
        text=alt.value("↗"), href="link:N", tooltip=[alt.Tooltip("link:N", title="open in Select")],
    ).properties(width=16, height=20 * n_rows, title=alt.TitleParams(" ", fontSize=12))


def heatmap(df: pd.DataFrame, field: str, kind: str, colors: Mapping[str, str] | None = None,
            vmin: float | None = None, vmax: float | None = None, left: int = 3,
            tracks: Sequence[str] | Mapping[str, str] = (),
            title: str | None = None, cell: int = 6) -> alt.Chart:
    """One heatmap beside the matrix: rows = results, columns = steps (``cell`` x 20 px cells)."""
    right_max = int(df["offset"].max()) if len(df) else 0
    x, y, n_cols, n_rows = _matrix_base(df, left, right_max, cell, rank_axis=False)
    mc = int(df["count"].max()) if len(df) else 1
    d = df
    hover = _hover()
    return alt.Chart(d).mark_rect().encode(
        x, y, color=_field_color(field, kind, mc, colors, vmin, vmax), tooltip=_tips(tracks),
        **_hover_stroke(hover, width=0.3)).add_params(hover).properties(width=cell * n_cols, height=20 * n_rows,
                 title=alt.TitleParams(title or field, anchor="start", fontSize=12))


def match_view(matrix: AnyChart, heatmaps: Sequence[AnyChart],
               links: AnyChart | None = None) -> alt.HConcatChart:
    """The matrix (after its row links, if given) with its heatmaps to the right."""
    first: list[AnyChart] = [links] if links is not None else []
    return (alt.hconcat(*first, matrix, *heatmaps, spacing=14)
            .resolve_scale(color="independent", opacity="independent").configure_view(stroke=None))


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
