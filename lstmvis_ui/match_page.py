"""The Match view: options, running the match, the length histogram, heatmap controls, the
result matrix and the export frame."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from lstmvis_db import views
from lstmvis_db.views import ViewState, charts

from .cached import info, match
from .constants import LEFT_CONTEXT, MATCH_RIGHT
from .select_page import track_colors
from .view_state import state
from .widgets import bound, run_safely, select_link


def match_options(path: str) -> bool:
    """Constraints, phrase length, complete / bounded mode; returns True when Run was pressed."""
    s = state()
    c = st.columns([1.2, 1.2, 1.2, 1.6, 1.2, 1.2], vertical_alignment="bottom")
    with c[0]:
        bound(st.checkbox, "Off before (left)", "constrain_left", help="the cells must be off one step before")
    with c[1]:
        bound(st.checkbox, "Off after (right)", "constrain_right", help="the cells must be off one step after")
    with c[2]:
        bound(st.number_input, "Phrase length", "length", min_value=0, max_value=500, step=1,
              help="0 = any length >= 2; or click a bar of the histogram")
    with c[3]:
        st.session_state["w_mode"] = "bounded pool" if s.pool else "complete"
        st.radio("Mode", ["complete", "bounded pool"], key="w_mode", horizontal=True, on_change=_on_mode,
                 help="complete scores every candidate; bounded keeps the original's first K")
    with c[4]:
        if s.pool:
            bound(st.number_input, "Pool size", "pool", min_value=1, max_value=1_000_000, step=1000)
        else:
            bound(st.number_input, "Results", "limit", min_value=1, max_value=500, step=10)
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


def histogram_event(event) -> bool:
    """A click on a histogram bar filters by that length; a double click (an emptied selection)
    or a click on the chosen bar clears the filter."""
    s = state()
    try:
        sel = event["selection"] if event is not None else {}
        raw = list(sel.get(charts.HIST) or []) + list(sel.get(charts.HIST + "_strict") or [])
    except (KeyError, TypeError, AttributeError):
        raw = []
    key = json.dumps(raw, sort_keys=True, default=str)
    last = st.session_state.get("lv_last_hist", "[]")
    st.session_state["lv_last_hist"] = key
    if key == last:
        return False
    if not raw:
        changed, s.length = s.length != 0, 0
        return changed
    try:
        ln = int(raw[0]["length"])
    except (KeyError, TypeError, ValueError, IndexError):
        return False
    s.length = 0 if s.length == ln else ln
    return True


def heatmap_controls(path: str, q: list[int]) -> list[str]:
    """Pin cells, choose heatmaps, map one onto the words, mask; returns the track columns."""
    s = state()
    tdf = info(path)["tracks_df"]
    tracks = tdf[tdf["kind"] != "topk"]["track"].tolist()
    opts = ["count", *tracks]
    s.heatmaps = [h for h in s.heatmaps if h in opts]
    if s.map_to not in opts:
        s.map_to = "count"
    names = {"count": "match count"}
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    with c1:
        bound(st.multiselect, "Heatmaps", "heatmaps", options=opts, format_func=lambda x: names.get(x, x))
    with c2:
        bound(st.selectbox, "Colour the words by", "map_to", options=opts, format_func=lambda x: names.get(x, x))
    with c3:
        bound(st.toggle, "Mask", "mask", help="fade words by match count when a track colours them")
    key = "w_pinned_" + "_".join(map(str, q[:50]))
    st.session_state[key] = [c for c in s.pinned if c in q]
    st.pills("Pin cells into the count (none pinned = all query cells)", options=q, selection_mode="multi",
             key=key, on_change=lambda: setattr(state(), "pinned", sorted(st.session_state[key] or [])),
             format_func=str)
    return tracks


def _field_kind(path: str, field: str) -> tuple[str, dict | None, float | None, float | None]:
    if field == "count":
        return "count", None, None, None
    t = info(path)["tracks_df"].set_index("track").loc[field]
    if t["kind"] == "categorical":
        return "categorical", track_colors(path, field), None, None
    return "scalar", None, t["min"], t["max"]


def match_chart(path: str, s: ViewState, details: pd.DataFrame, tracks: list[str]):
    mat = views.matrix_frame(details[details["offset"] <= MATCH_RIGHT])
    fields = {"count": "count", **views.track_fields(tracks)}
    titles = {f: t for t, f in views.track_fields(tracks).items()}
    kind, colors, vmin, vmax = _field_kind(path, s.map_to)
    matrix = charts.result_matrix(mat, fields[s.map_to], kind, colors, vmin, vmax, LEFT_CONTEXT, min(s.cw, 28),
                                  s.mask, titles)
    hms = []
    for h in s.heatmaps:
        k, cl, lo, hi = _field_kind(path, h)
        hms.append(charts.heatmap(mat, fields[h], k, cl, lo, hi, LEFT_CONTEXT, titles,
                                  title="match count" if h == "count" else h))
    first = mat.drop_duplicates("row").sort_values("rank")
    links = pd.DataFrame({"rank": first["rank"], "link": [select_link(s, a, b) for a, b in
                                                         zip(first["start"], first["length"], strict=True)]})
    return charts.match_view(matrix, hms, charts.row_links(links))


def export_frame(s: ViewState, table: pd.DataFrame) -> pd.DataFrame:
    """The results with the parameters that produced them (one column each)."""
    out = table.copy()
    params = {"project": s.project, "source": s.source, "threshold": s.threshold,
              "cells": ",".join(map(str, s.query_cells())), "constrain_left": s.constrain_left,
              "constrain_right": s.constrain_right, "phrase_length": s.length, "pool": s.pool or None}
    for k, v in params.items():
        out[k] = v
    return out
