"""Layers side by side in Select: other sources of the project over the same words, each with
its own plot, threshold and selection over the brushed range, and the match of the cell set
drawn from all of them (``Project.match_sources``: the count is the cells on across sources)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lstmvis_db import views
from lstmvis_db.views import ViewState, charts

from .cached import info, select, window
from .resources import open_project
from .select_page import window_bounds
from .widgets import chart, run_safely

KEY = "lv_layers"  # session key of the other sources shown


@st.cache_data(max_entries=32, show_spinner=False)
def _match_sources(path: str, parts: tuple[tuple[str, tuple[int, ...], float], ...], cl: bool, cr: bool,
                   length: int, limit: int) -> dict:
    return dict(open_project(path).match_sources([(s, list(c), t) for s, c, t in parts], cl, cr, length, limit))


def _layer(path: str, s: ViewState, source: str, lo: int, hi: int) -> tuple[list[int], float]:
    """One other source's plot over the window, its threshold and its selection over the brush."""
    inf = info(path)
    t = st.number_input(f"Threshold of {source}", value=float(s.threshold), step=0.05, format="%.3f",
                        key=f"lv_layer_t_{source}")
    cells: list[int] = []
    if s.brush is not None:
        cells = run_safely(select, path, source, s.brush[0], s.brush[1], float(t), s.pad_left, s.pad_right) or []
    vals = window(path, source, lo, hi)
    ydom = views.y_domain(vals, inf["unsigned"][source])
    plot = charts.pattern_plot(views.lines_frame(vals, lo, cells), lo, hi, float(t), ydom, s.cw, height=150,
                               brush=s.brush, n_cells=inf["n_cells"][source])
    chart(charts.select_view([plot]), key=f"lv_layer_plot_{source}")
    st.caption(f"{source}: {len(cells)} cells on over the range and off in the padding at {float(t):g}"
               + (f" ({', '.join(map(str, cells[:20]))}{' …' if len(cells) > 20 else ''})" if cells else ""))
    return cells, float(t)


def layers_view(path: str, s: ViewState) -> None:
    """The other layers under the main plot, and the cross-layer match of their selections."""
    others = [x for x in info(path)["n_cells"] if x != s.source]
    if not others:
        return
    shown = st.multiselect("Layers side by side (other sources over the same words)", others,
                           default=[x for x in st.session_state.get(KEY, []) if x in others], key="lv_layers_pick")
    st.session_state[KEY] = shown
    if not shown:
        return
    lo, hi = window_bounds(path, s)
    parts = [(s.source, tuple(s.query_cells()), float(s.threshold))]
    for source in shown:
        cells, t = _layer(path, s, source, lo, hi)
        parts.append((source, tuple(cells), t))
    if s.brush is None or sum(len(c) for _, c, _ in parts) == 0:
        return
    if st.toggle("Match the cells of all these layers together", key="lv_layers_match"):
        res = run_safely(_match_sources, path, tuple(parts), s.constrain_left, s.constrain_right, s.length, 20)
        if res:
            st.caption(f"{res['candidates']:,} candidates; a cell is (source, index), the count is the cells on "
                       "across the layers, and each candidate is scored on all their cells.")
            st.dataframe(pd.DataFrame(res["matches"]), hide_index=True, height=260)
