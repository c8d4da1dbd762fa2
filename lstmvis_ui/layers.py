"""Layers side by side in Select: other sources of the project over the same words, each with
its own plot, threshold and selection over the brushed range, and the match of the cell set
drawn from all of them (``Project.match_sources``: the count is the cells on across sources).
Which layers are shown and their thresholds are part of the view state (URL keys ``layers``,
``layer_t``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lstmvis_db.views import ViewState, select_chart, select_frames

from .cached import info, select, tokens, window
from .resources import open_project
from .select_page import window_bounds
from .select_view import scale_of
from .view_state import state
from .widgets import run_safely


@st.cache_data(max_entries=32, show_spinner=False)
def _match_sources(path: str, parts: tuple[tuple[str, tuple[int, ...], float], ...], cl: bool, cr: bool,
                   length: int, limit: int) -> dict:
    return dict(open_project(path).match_sources([(s, list(c), t) for s, c, t in parts], cl, cr, length, limit))


def layer_threshold(s: ViewState, source: str) -> float:
    """A shown layer's own threshold (the main threshold until it is set)."""
    if source in s.layers and s.layers.index(source) < len(s.layer_thresholds):
        return float(s.layer_thresholds[s.layers.index(source)])
    return float(s.threshold)


def _on_layers() -> None:
    s = state()
    old = {x: layer_threshold(s, x) for x in s.layers}
    s.layers = list(st.session_state["lv_layers_pick"])
    s.layer_thresholds = [old.get(x, float(s.threshold)) for x in s.layers]


def _on_layer_t(source: str) -> None:
    s = state()
    s.layer_thresholds = [layer_threshold(s, x) for x in s.layers]
    s.layer_thresholds[s.layers.index(source)] = float(st.session_state[f"lv_layer_t_{source}"])


def _layer(path: str, s: ViewState, source: str, lo: int, hi: int) -> tuple[list[int], float]:
    """One other source's plot over the window, its threshold and its selection over the brush."""
    t = layer_threshold(s, source)
    st.session_state[f"lv_layer_t_{source}"] = t
    st.number_input(f"Threshold of {source} (raw)", step=0.05, format="%.3f", key=f"lv_layer_t_{source}",
                    on_change=_on_layer_t, args=(source,))
    cells: list[int] = []
    if s.brush is not None:
        cells = run_safely(select, path, source, s.brush[0], s.brush[1], t, s.pad_left, s.pad_right) or []
    vals = window(path, source, lo, hi)
    parts = select_frames.select_parts(vals, lo, hi, tokens(path, lo, hi), scale_of(path, source), t, cells, [],
                                       [], s.brush, (s.pad_left, s.pad_right), s.pos, s.mask)
    st.vega_lite_chart(select_chart.spec(parts), key=f"lv_layer_plot_{source}", width="stretch", theme=None)
    st.caption(f"{source}: {len(cells)} cells on over the range and off in the padding at {t:g}"
               + (f" ({', '.join(map(str, cells[:20]))}{' …' if len(cells) > 20 else ''})" if cells else ""))
    return cells, t


def layers_view(path: str, s: ViewState) -> None:
    """The other layers under the main plot, and the cross-layer match of their selections."""
    others = [x for x in info(path)["n_cells"] if x != s.source]
    if not others:
        return
    s.layers = [x for x in s.layers if x in others]
    st.session_state["lv_layers_pick"] = list(s.layers)
    st.multiselect("Layers side by side (other sources over the same words)", others, key="lv_layers_pick",
                   on_change=_on_layers)
    if not s.layers:
        return
    lo, hi = window_bounds(path, s)
    parts = [(s.source, tuple(s.query_cells()), float(s.threshold))]
    for source in s.layers:
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
