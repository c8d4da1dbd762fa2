"""The Match view: options, running the match, the length histogram, heatmap controls, the
result matrix and the export frame."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lstmvis_db import views
from lstmvis_db.views import ViewState
from lstmvis_db.views import match_charts as mc

from . import public
from .cached import info, match
from .chart_export import svg_download
from .constants import LEFT_CONTEXT, MATCH_RIGHT
from .select_page import track_colors
from .view_state import state
from .widgets import bound, chart, limits, run_safely, select_link


def match_options(path: str) -> bool:
    """Constraints, phrase length, complete / bounded mode; returns True when Run was pressed."""
    s = state()
    c = st.columns([1.2, 1.2, 1.2, 1.6, 1.2, 1.2], vertical_alignment="bottom")
    with c[0]:
        bound(st.checkbox, "Off before (left)", "constrain_left", help="the cells must be off one step before")
    with c[1]:
        bound(st.checkbox, "Off after (right)", "constrain_right", help="the cells must be off one step after")
    with c[2]:
        bound(st.number_input, "Phrase length", "length", **limits("length"), step=1,
              help="0 = any length >= 2; or click a bar of the histogram")
    with c[3]:
        st.session_state["w_mode"] = "bounded pool" if s.pool else "complete"
        st.radio("Mode", ["complete", "bounded pool"], key="w_mode", horizontal=True, on_change=_on_mode,
                 help="complete scores every candidate; bounded keeps the original's first K")
    with c[4]:
        if s.pool:
            bound(st.number_input, "Pool size", "pool", min_value=1, max_value=1_000_000, step=1000)
        else:
            bound(st.number_input, "Results", "limit", **limits("limit"), step=10)
    with c[5]:
        pressed = st.button("Run match", type="primary", width="stretch", key="run_match")
    if pressed:
        s.queried = True
    return pressed


def _on_mode() -> None:
    s = state()
    s.pool = 0 if st.session_state["w_mode"] == "complete" else (s.pool or 10_000)


def run_match(path: str, s: ViewState, length: int | None = None) -> dict | None:
    q = tuple(s.query_cells())
    ln = s.length if length is None else length
    return run_safely(match, path, s.source, q, s.threshold, s.constrain_left, s.constrain_right, int(ln),
                      int(s.limit), int(s.pool) or None)


def histogram_event(selected: list[int]) -> bool:
    """Apply a click on the length histogram: ``selected`` are the lengths its selection holds now.
    A click on a bar filters by that length; a click on the chosen bar again clears the filter
    (``match_charts.chosen_length``).  True when the filter changed."""
    s = state()
    new = mc.chosen_length(s.length, selected)
    changed, s.length = new != s.length, new
    return changed


def _on_hist(key: str) -> None:
    """on_select of the histogram: runs only when the user changed its selection (the chart is new
    after every change of the filter, so a click on any bar, the chosen one too, is a change)."""
    try:
        raw = st.session_state[key]["selection"].get(mc.HIST) or []
        picked = [int(p["length"]) for p in raw] if isinstance(raw, list) else []
    except (KeyError, TypeError, AttributeError, ValueError):
        return
    histogram_event(picked)


def length_histogram(full: dict) -> None:
    """The length histogram of every candidate with its toggling bar filter and the two counts; the
    chart's key names the chosen length, so it is drawn afresh, with nothing selected, after each change."""
    s = state()
    with st.container(border=True):  # the chart's toolbar stays inside the box, off the inputs above
        hist, side = st.columns([4, 1])
        with hist:
            key = f"hist_chart_{s.length}"
            c = mc.length_histogram(views.histogram_frame(full["histogram"]), s.length)
            chart(c, key=key, on_select=lambda: _on_hist(key))
        side.markdown(f"**{full['candidates']:,}** candidates scored  \nphrase length: **{s.length or 'any'}**",
                      help="click a bar to filter by its length, click it again to clear")
        with side:
            svg_download(c, "match-lengths", key="svg_hist")


def _on_mapping(h: str, key: str) -> None:
    """A heatmap's rect | circle buttons: rect paints the words with it (the count when unset),
    circle draws it as dots on the words (none when unset); another heatmap loses that role."""
    s = state()
    picked = set(st.session_state.get(key) or [])
    if "rect" in picked:
        s.map_to = h
    elif s.map_to == h:
        s.map_to = "count"
    if "circle" in picked:
        s.circle = h
    elif s.circle == h:
        s.circle = ""


def mapping_buttons(names: dict[str, str]) -> None:
    """Under the heatmap choice: for each heatmap shown, the V1 mapping buttons rect | circle."""
    s = state()
    if not s.heatmaps:
        return
    cols = st.columns(min(len(s.heatmaps), 6))
    for i, h in enumerate(s.heatmaps):
        key = f"w_hm_map_{h}"
        st.session_state[key] = [m for m, on in (("rect", s.map_to == h), ("circle", s.circle == h)) if on]
        cols[i % len(cols)].segmented_control(
            f"map {names.get(h, h)}", ["rect", "circle"], selection_mode="multi", key=key,
            on_change=_on_mapping, args=(h, key),
            help="rect: colour the words' backgrounds by this heatmap; circle: draw a dot on each word coloured "
                 "by it (hover a dot: every dot of the same value grows)")


def heatmap_controls(path: str, q: list[int]) -> list[str]:
    """Pin cells, choose heatmaps, map them onto the words (rect | circle), mask; returns the
    track columns."""
    s = state()
    tdf = info(path)["tracks_df"]
    tracks = tdf[tdf["kind"] != "topk"]["track"].tolist()
    opts = ["count", *tracks]
    s.heatmaps = [h for h in s.heatmaps if h in opts]
    if s.map_to not in opts:
        s.map_to = "count"
    if s.circle not in opts:
        s.circle = ""
    names = {"count": "match count"}
    c1, c3 = st.columns([5, 1], vertical_alignment="bottom")
    with c1:
        bound(st.multiselect, "Heatmaps", "heatmaps", options=opts, format_func=lambda x: names.get(x, x))
    with c3:
        bound(st.toggle, "Mask", "mask", help="fade words by match count when a track colours them; dots are opaque "
                                             "only inside the match and one step around it")
    mapping_buttons(names)
    key = "w_pinned_" + "_".join(map(str, q[:50]))
    st.session_state[key] = [c for c in s.pinned if c in q]
    st.pills("Pin cells into the count (none pinned = all query cells)", options=q, selection_mode="multi",
             key=key, on_change=lambda: setattr(state(), "pinned", sorted(st.session_state[key] or [])),
             format_func=str)
    return tracks


def _paint(path: str, field: str, column: str) -> mc.Paint:
    """The colour mapping of ``field`` (count or a track) drawn from the data column ``column``."""
    if field == "count":
        return mc.paint(column, "count", title="match count")
    t = info(path)["tracks_df"].set_index("track").loc[field]
    if t["kind"] == "categorical":
        return mc.paint(column, "categorical", track_colors(path, field), title=field)
    return mc.paint(column, "scalar", vmin=t["min"], vmax=t["max"], title=field)


def match_chart(path: str, s: ViewState, details: pd.DataFrame, tracks: list[str],
                links: list[str] | None = None) -> dict:
    """The result matrix (words coloured by ``s.map_to``) with its row links (``links``, one per
    result in rank order; made here if not given) and the chosen heatmaps, as a Vega-Lite spec with
    its data.  The spec is kept by its layout, in the cache every session shares only when the
    project is not a visitor's own copy (whose track names would then be in it)."""
    shown = [t for t in tracks if t in (s.map_to, s.circle, *s.heatmaps)]  # only these columns go to the browser
    fields = {"count": "count", **views.track_fields(shown)}
    titles = {f: t for t, f in views.track_fields(shown).items()}
    keep = ["row", "start", "length", "offset", "pos", "in_match", "count", "token", *titles]
    mat = views.matrix_frame(details.loc[details["offset"] <= MATCH_RIGHT, keep]).drop(columns=["token"])
    layout = mc.MatrixLayout(
        LEFT_CONTEXT, int(mat["offset"].max()) if len(mat) else 0, mc.matrix_cell_width(mat["label"].tolist()),
        s.mask, _paint(path, s.map_to, fields[s.map_to]), tuple(titles.items()),
        _paint(path, s.circle, fields[s.circle]) if s.circle else None,
        tuple(_paint(path, h, fields[h]) for h in s.heatmaps))
    first = mat.drop_duplicates("row").sort_values("rank")
    if links is None:
        links = [select_link(s, a, b) for a, b in zip(first["start"], first["length"], strict=True)]
    rows = pd.DataFrame({"rank": first["rank"].to_numpy(), "link": [links[r] for r in first["row"]]})
    return mc.match_view(layout, mat, rows, shared=path not in public.session_copies().values())


#: the result row scrolls sideways inside the page instead of being cut at its edge
_SCROLL_CSS = """<style>
.st-key-lv_match_view [data-testid="stVegaLiteChart"] { overflow-x: auto; max-width: 100%; padding-bottom: 6px; }
</style>"""


def result_view(path: str, s: ViewState, details: pd.DataFrame, tracks: list[str],
                links: list[str] | None = None) -> None:
    """The matrix and heatmaps in a sideways-scrolling box, with their SVG download."""
    c = match_chart(path, s, details, tracks, links)
    st.markdown(_SCROLL_CSS, unsafe_allow_html=True)
    with st.container(key="lv_match_view"):
        chart(c, key="match_chart", width="content")
    svg_download(c, f"match-{s.project}-{s.source}", key="svg_match")


def source_note(s: ViewState, q: list[int]) -> str | None:
    """After a source switch on Match with a brushed range: re-run for the new source (its cells
    re-derived from the same range) and say so.  Returns the note to show, None if nothing changed."""
    ran = st.session_state.get("lv_match_source")  # (project, source) of the last match run
    if ran is None or ran[0] != s.project or ran[1] == s.source or s.brush is None:
        return None
    last = ran[1]
    a, b = s.brush
    if q:
        s.queried = True
        return (f"Source switched from {last} to {s.source}: the query cells were re-derived from the same "
                f"brushed range {a}–{b} at ≥ {s.threshold:.3f} ({len(q)} cells) and the match re-run.")
    return (f"Source switched from {last} to {s.source}: no cell of {s.source} is on over the brushed range "
            f"{a}–{b} at ≥ {s.threshold:.3f} and off in the padding; lower the threshold in the sidebar or "
            "brush another range on Select.")


def no_cells_message(s: ViewState) -> str:
    """Why there is no query yet: no brush, or a brush none of whose cells pass."""
    if s.brush is None:
        return "No query cells yet: brush a hypothesis range on the Select page first."
    a, b = s.brush
    return (f"No query cells: no cell of {s.source} is on over the brushed range {a}–{b} at ≥ {s.threshold:.3f} "
            "and off in the padding; lower the threshold or the padding in the sidebar, or brush another range on "
            "Select.")


def export_frame(s: ViewState, table: pd.DataFrame) -> pd.DataFrame:
    """The results with the parameters that produced them (one column each)."""
    out = table.copy()
    params = {"project": s.project, "source": s.source, "threshold": s.threshold,
              "cells": ",".join(map(str, s.query_cells())), "constrain_left": s.constrain_left,
              "constrain_right": s.constrain_right, "phrase_length": s.length, "pool": s.pool or None}
    for k, v in params.items():
        out[k] = v
    return out
