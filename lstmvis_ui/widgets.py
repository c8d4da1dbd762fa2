"""Shared widgets: ViewState-bound inputs, the sidebar, page setup, chart drawing, error
messages and links between pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlencode

import altair as alt
import duckdb
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

import lstmvis_db
from lstmvis_db import views
from lstmvis_db.views import ViewState
from lstmvis_db.views.urlstate import LIMITS

from . import public
from .cached import info
from .constants import LEFT_CONTEXT, NAV, PAGES
from .resources import data_dir, ensure_demos, projects, warm_up_kernels
from .view_state import current_path, reset_for_project, share_query, state


def _copy(name: str, key: str) -> None:
    setattr(state(), name, st.session_state[key])


class WidgetRange(TypedDict):
    min_value: int
    max_value: int


def limits(name: str) -> WidgetRange:
    """The widget range of a ViewState field: the one a URL value is clamped into."""
    lo, hi = LIMITS[name]
    return WidgetRange(min_value=lo, max_value=hi)


def bound(widget, label: str, name: str, *, key: str | None = None, **kw):
    """A widget bound to a ViewState field (refreshed from the state, written back on change)."""
    key = key or f"w_{name}"
    st.session_state[key] = getattr(state(), name)
    return widget(label, key=key, on_change=_copy, args=(name, key), **kw)


def _on_project() -> None:
    reset_for_project(st.session_state["w_project"])


def _on_source() -> None:
    s = state()
    s.source = st.session_state["w_source"]
    s.excluded, s.pinned, s.queried = [], [], False


def sidebar(path: str, page: str) -> None:
    """Project, source and the hypothesis parameters shared by the Select and Match pages."""
    s = state()
    inf = info(path)
    sb = st.sidebar
    names = list(projects())
    st.session_state["w_project"] = s.project
    sb.selectbox("Project", names, key="w_project", on_change=_on_project)
    sources = [x["source"] for x in inf["sources"]]
    st.session_state["w_source"] = s.source
    sb.selectbox("Source", sources, key="w_source", on_change=_on_source,
                 format_func=lambda x: f"{x} ({inf['n_cells'][x]} cells)")
    if page == "match":
        from .select_view import threshold_control

        sb.markdown("**Hypothesis**")
        with sb:
            threshold_control(path, st)
            c1, c2 = st.columns(2)
            with c1:
                bound(st.number_input, "Off left", "pad_left", **limits("pad_left"), step=1,
                      help="steps before the range where the cells must be off")
            with c2:
                bound(st.number_input, "Off right", "pad_right", **limits("pad_right"), step=1,
                      help="steps after the range where the cells must be off")
    if page in ("select", "match"):
        with sb:
            bound(st.slider, "Length filter (low pass)", "low_pass", **limits("low_pass"),
                  help="drop on-runs of at most this many steps before selecting (0 = off)")
            if st.button("Clear selection", width="stretch"):
                s.brush, s.cells, s.excluded, s.queried = None, [], [], False
                st.rerun()
    if page == "select":
        sb.markdown("**View**")
        with sb:
            bound(st.slider, "Window (tokens)", "width", **limits("width"), step=5,
                  help="tokens shown; the chart always fills the page width")
    sb.caption(f"[Link to this view](?{share_query()}) (copy to share)")


def nav() -> None:
    """The page list at the top of the sidebar (client.showSidebarNavigation is off)."""
    for name, label, icon in NAV:
        try:
            st.sidebar.page_link(PAGES[name], label=label, icon=icon)
        except Exception:  # noqa: BLE001 (StreamlitPageNotFoundError: a page run on its own, AppTest)
            return
    st.sidebar.divider()


def page_setup(title: str, page: str) -> str | None:
    """Page config, demo building, state and project resolution; None if there is no project."""
    st.set_page_config(page_title=f"LSTMVis · {title}", page_icon=":material/show_chart:", layout="wide")
    nav()
    public.hide_error_details()
    warm_up_kernels()
    ensure_demos()
    state()
    try:
        path = current_path()
    except Exception as e:  # noqa: BLE001 (a broken or locked file is a message, not a traceback)
        st.title(title)
        st.error(public.message(f"Cannot open project {public.plain(state().project)}: {e}"))
        if page != "home":
            page_link("home", "Start page", icon=":material/home:")
        return None
    if path is None:
        st.title(title)
        st.info(f"No project found. Put a `.duckdb` project into `{data_dir()}` or open a file on the start page.")
        page_link("home", "Start page", icon=":material/home:")
        return None
    return path


def chart(c: alt.TopLevelMixin | dict, **kw: Any) -> DeltaGenerator:
    """Draw an Altair chart, or a Vega-Lite spec whose datasets are DataFrames (drawn as it is), fast
    enough for a rerun on every interaction.

    The spec is built without re-validating it against the Vega-Lite schema (the builders are
    validated by tests/test_charts.py).  The charts' DataFrames are swapped for named datasets
    before Altair serialises the spec and handed to Streamlit as they are: Altair would turn
    every frame into a list of dicts and deep-copy those through each concatenated sub-chart,
    Streamlit sends frames as Arrow.
    """
    kw.setdefault("theme", None)
    if isinstance(c, dict):
        return st.vega_lite_chart(c, **kw)
    datasets: dict[str, pd.DataFrame] = {}
    _name_data(c, datasets, {})
    spec = c.to_dict(validate=False)
    if datasets:
        spec["datasets"] = {**spec.get("datasets", {}), **datasets}
    return st.vega_lite_chart(spec, **kw)


def _name_data(node, datasets: dict[str, pd.DataFrame], names: dict[int, str]) -> None:
    """Replace each DataFrame in an Altair chart tree by a named dataset (in place)."""
    data = getattr(node, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        name = names.setdefault(id(data), f"frame{len(names)}")
        datasets[name] = data
        node.data = alt.NamedData(name=name)
    for part in ("layer", "vconcat", "hconcat", "concat"):
        for child in getattr(node, part, None) or []:
            if not isinstance(child, (str, dict)):
                _name_data(child, datasets, names)


def run_safely(fn, *args, **kw):
    """Call ``fn``; a LstmvisError, or DuckDB's error on a damaged file, becomes an in-page error
    message (returns None; under the public rules without server paths)."""
    try:
        return fn(*args, **kw)
    except lstmvis_db.LstmvisError as e:
        st.error(public.message(e))
        return None
    except duckdb.Error as e:
        st.error(public.message(f"The project file cannot be read (damaged?): {str(e).splitlines()[0][:200]}"))
        return None


def select_link(s: ViewState, start: int, length: int) -> str:
    """A URL opening the Select page at a match with the brush preset to it (padding 1, 0)."""
    v = ViewState(project=s.project, source=s.source, pos=max(start - LEFT_CONTEXT - 2, 0), threshold=s.threshold,
                  brush=(start, start + length - 1), pad_left=1, pad_right=0, width=s.width, cw=s.cw,
                  tracks=list(s.tracks), low_pass=s.low_pass)
    return "./Select?" + urlencode(views.encode_state(v))


def page_link(page: str, label: str, icon: str | None = None) -> None:
    """``st.page_link`` that degrades to a plain link when the page is run on its own (AppTest)."""
    try:
        st.page_link(PAGES[page], label=label, icon=icon)
    except Exception:  # noqa: BLE001 (StreamlitPageNotFoundError outside the multipage app)
        target = "" if page == "home" else Path(PAGES[page]).stem.split("_", 1)[-1]
        st.markdown(f"[{label}](./{target}?{share_query()})")
