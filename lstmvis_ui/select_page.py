"""The Select view: position navigation and search, the stacked chart for the window, the
brush, the typed range and the cell chips."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from lstmvis_db import views
from lstmvis_db.views import ViewState, palette

from .cached import info, search
from .constants import LEFT_CONTEXT
from .view_state import state
from .widgets import bound, run_safely


def _nav(delta: int | None = None, to: int | None = None) -> None:
    s = state()
    n = int(st.session_state.get("lv_n_positions", 1 << 62))
    s.pos = int(min(max((to if to is not None else s.pos + (delta or 0)), 0), n - 1))


def navigation(path: str) -> None:
    """Position navigation: -50/-5, jump, +5/+50, phrase/regex search with clickable results."""
    s = state()
    n = info(path)["tokens"]
    st.session_state["lv_n_positions"] = n
    s.pos = min(max(s.pos, 0), n - 1)
    # two wrapping groups of fixed-width widgets: at any width every label reads in full, and when
    # the page is narrow the search moves under the position row instead of squeezing it
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small", key="lv_nav_row")
    with row, st.container(horizontal=True, vertical_alignment="bottom", gap="small", width="content"):
        st.button("« 50", key="nav_m50", on_click=_nav, kwargs={"delta": -50}, help="back 50 tokens")
        st.button("‹ 5", key="nav_m5", on_click=_nav, kwargs={"delta": -5}, help="back 5 tokens")
        bound(st.number_input, "Position", "pos", min_value=0, max_value=n - 1, step=1, width=130)
        st.button("5 ›", key="nav_p5", on_click=_nav, kwargs={"delta": 5}, help="forward 5 tokens")
        st.button("50 »", key="nav_p50", on_click=_nav, kwargs={"delta": 50}, help="forward 50 tokens")
    with row, st.container(horizontal=True, vertical_alignment="bottom", gap="small", width="content"):
        query = st.text_input("Search the text", key="w_search", placeholder="a phrase, or a regex", width=250)
        mode = st.selectbox("Search mode", ["phrase", "regex"], key="w_search_mode", label_visibility="collapsed",
                            width=110)
    if query.strip():
        hits = run_safely(search, path, query if mode == "phrase" else None, query if mode == "regex" else None)
        if hits is not None:
            with st.expander(f"{len(hits)} result(s) for “{query}”" + (" (first 30)" if len(hits) >= 30 else ""),
                             expanded=True):
                if not hits:
                    st.caption("no match")
                cols = st.columns(3)
                for i, h in enumerate(hits):
                    label = (f"{h['pos']}: …{views.join_tokens(h['left'])} **{views.join_tokens(h['match'])}** "
                             f"{views.join_tokens(h['right'])}…")
                    cols[i % 3].button(label, key=f"hit_{i}_{h['pos']}", on_click=_nav,
                                       kwargs={"to": max(h["pos"] - LEFT_CONTEXT, 0)}, width="stretch")


def clamp_position(path: str, s: ViewState) -> None:
    """A position past either end of the corpus (a link's ``pos=99999999``) is moved to that end, so the
    title, the position box and the link all name the position shown."""
    s.pos = min(max(int(s.pos), 0), int(info(path)["tokens"]) - 1)


def window_bounds(path: str, s: ViewState) -> tuple[int, int]:
    n = info(path)["tokens"]
    lo = max(0, min(s.pos - LEFT_CONTEXT, n - s.width))
    return lo, min(n - 1, lo + s.width - 1)


def track_colors(path: str, track: str) -> dict[str, str]:
    """Colours of a categorical track, fixed by its categories (the same in every view): a
    sequential palette for integer (ordinal) categories such as a depth."""
    tdf = info(path)["tracks_df"].set_index("track")
    cats = tdf.loc[track, "categories"]
    cats = list(cats) if cats is not None and not (isinstance(cats, float) and math.isnan(cats)) else []
    return palette.track_colors([str(c) for c in cats])[1]


def _on_range(changed: str) -> None:
    """A typed range end; the other end follows if the range would be inverted."""
    s = state()
    a, b = int(st.session_state["w_range_a"]), int(st.session_state["w_range_b"])
    if a > b:
        a, b = (a, a) if changed == "a" else (b, b)
    s.brush = (a, b)
    s.excluded, s.queried, s.length = [], False, 0


def range_inputs(path: str) -> None:
    """Numeric start/end of the hypothesis range (the brush, editable by hand)."""
    s = state()
    n = info(path)["tokens"]
    a, b = s.brush if s.brush is not None else (s.pos, s.pos)
    st.session_state["w_range_a"], st.session_state["w_range_b"] = a, b
    c1, c2 = st.columns(2)
    c1.number_input("Range start", min_value=0, max_value=n - 1, step=1, key="w_range_a", on_change=_on_range,
                    args=("a",))
    c2.number_input("Range end", min_value=0, max_value=n - 1, step=1, key="w_range_b", on_change=_on_range,
                    args=("b",))


def _on_chips(key: str, cells: list[int]) -> None:
    keep = set(st.session_state[key] or [])
    state().excluded = [c for c in cells if c not in keep]


def cell_chips(cells: list[int]) -> None:
    """Selected cells as chips: deselect a chip to exclude the cell from the query (V1)."""
    s = state()
    key = "w_cells_" + "_".join(map(str, cells[:50])) + f"_{len(cells)}"
    st.session_state[key] = s.query_cells()
    st.pills(f"Selected cells: {len(cells)} (click a chip to exclude / include it)", options=cells,
             selection_mode="multi", key=key, on_change=_on_chips, args=(key, cells), format_func=str)


def cell_links(cells: list[int]) -> None:
    """Each selected cell as a link to its profile on the Cell page."""
    from .cell_page import cell_link, formula_link

    s = state()
    st.markdown("Profiles: " + " · ".join(f"[{c}]({cell_link(s, c)})" for c in cells[:60])
                + f" · [explain the query cells by a formula]({formula_link(s)})",
                help="open a cell's profile: its distribution, on-rate per label and top contexts")


def label_links(path: str) -> None:
    """For each categorical track shown, its labels as links to the cells that track them."""
    from .cell_page import categorical_tracks, label_link

    s = state()
    cats = categorical_tracks(path)
    for t in [t for t in s.tracks if t in cats][:4]:
        labels = cats[t][:40]
        st.markdown(f"Cells that track `{t}` = " + " · ".join(f"[{lab}]({label_link(s, t, lab)})" for lab in labels))


def coactivation_toggle(path: str) -> None:
    """Co-activation of the query cells, computed only when asked for."""
    from .cell_page import coactivation_section

    if st.toggle("Co-activation of the query cells", key="w_select_co"):
        coactivation_section(path, state().query_cells(), key="select_co")


@st.cache_data(max_entries=32, show_spinner=False)
def _distribution(path: str, source: str, cells: tuple[int, ...], quantile: float) -> dict:
    from .resources import open_project

    return open_project(path).value_distribution(source, list(cells), quantile)


def threshold_guidance(path: str) -> None:
    """Beside the hypothesis: the value distribution of the query cells, the threshold on it,
    and each cell's own q-quantile (what a per-cell quantile threshold would be).  In the main
    area, after the Select chart (the sidebar holds the threshold control itself)."""
    from lstmvis_db.views import cell_charts

    from .widgets import chart

    s = state()
    q = s.query_cells()
    with st.expander("Threshold guidance: the query cells' values", expanded=bool(q)):
        if not q:
            st.caption("Select cells to see their values here.")
            return
        level = st.slider("per-cell quantile q", 0.5, 0.999, 0.9, 0.001, key="w_guide_q", format="%.3f")
        d = run_safely(_distribution, path, s.source, tuple(q[:64]), float(level))
        if d is None:
            return
        chart(cell_charts.value_histogram(d["histogram"]["edges"], d["histogram"]["counts"], s.threshold, width=300,
                                          height=110, title=f"values of {len(d['cells'])} query cells"),
              width="content")
        rows = [{"cell": int(c), "Q(q)": t} for c, t in d["thresholds"].items()]
        st.caption(f"Each cell's own {level:g}-quantile (the threshold `--quantile {level:g}` would use):")
        st.dataframe(pd.DataFrame(rows), hide_index=True, height=min(240, 38 + 35 * len(rows)))
