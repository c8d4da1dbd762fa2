"""The app's only Streamlit glue: project discovery, cached handles and queries, the view state
(kept in ``st.session_state`` and mirrored to the URL), and the shared sidebar.

Pages import this module; ``lstmvis_db`` never imports Streamlit.  Canonical state is one
:class:`lstmvis_db.views.ViewState` under ``st.session_state["lv"]``; widgets have their own keys
(``w_*``) that are refreshed from it before each render and copied back by callbacks, so the
state survives page switches (Streamlit drops the values of widgets a page does not draw).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
from pathlib import Path
from urllib.parse import urlencode

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import lstmvis_db
from lstmvis_db import charts, views
from lstmvis_db.views import ViewState

ROOT = Path(__file__).resolve().parent
STATE = "lv"
EXTRA_PATHS = "lv_extra_paths"
LEFT_CONTEXT = 3
MATCH_RIGHT = 20  # result rows: 3 tokens of left context | the match start and 20 more (V2)
PAGES = {"home": "streamlit_app.py", "select": "pages/1_Select.py", "match": "pages/2_Match.py",
         "sql": "pages/3_SQL.py"}


# --------------------------------------------------------------------------- projects


def data_dir() -> Path:
    return Path(os.environ.get("LSTMVIS_DATA_DIR") or ROOT / "data")


def _demo_module():
    try:
        from lstmvis_db import demo
    except ImportError:
        return None
    return demo if hasattr(demo, "build_demo") and hasattr(demo, "DEMOS") else None


@st.cache_resource(show_spinner=False)
def _demo_attempts() -> tuple[threading.Lock, dict[str, str]]:
    """A lock for building (one session builds, the others wait) and the demos already tried
    in this server process (name -> error message or '')."""
    return threading.Lock(), {}


def ensure_demos() -> None:
    """Build the missing demo projects into ``data/`` on first start (with a progress bar).

    Only for the default data folder (a folder or file given by LSTMVIS_DATA_DIR / LSTMVIS_DB is
    used as is) unless LSTMVIS_BUILD_DEMOS=1; LSTMVIS_BUILD_DEMOS=0 never builds.
    """
    flag = os.environ.get("LSTMVIS_BUILD_DEMOS", "")
    if flag == "0" or (flag != "1" and (os.environ.get("LSTMVIS_DATA_DIR") or os.environ.get("LSTMVIS_DB"))):
        return
    demo = _demo_module()
    if demo is None:
        return
    lock, tried = _demo_attempts()
    missing = []
    for n in demo.DEMOS:
        if n in tried:
            continue
        if _usable(data_dir() / f"{n}.duckdb"):
            tried[n] = ""
        else:
            missing.append(n)
    if missing:
        with lock:
            _build_demos(demo, missing, tried)
    for name, err in tried.items():
        if err:
            st.sidebar.warning(f"Demo '{name}' could not be built: {err}")


def _usable(path: Path) -> bool:
    """True if ``path`` is a project file this version reads (else a demo is (re)built)."""
    if not path.is_file():
        return False
    try:
        lstmvis_db.open(path).close()
    except lstmvis_db.LstmvisError:
        return False
    return True


def _build_demos(demo, names: list[str], tried: dict[str, str]) -> None:
    data_dir().mkdir(parents=True, exist_ok=True)
    for name in names:
        if name in tried or _usable(data_dir() / f"{name}.duckdb"):
            continue
        bar = st.progress(0.0, text=f"Building the demo project '{name}' (first start only)…")

        def progress(*args, _bar=bar, _name=name):
            frac = next((float(a) for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)), None)
            label = next((str(a) for a in args if isinstance(a, str)), "")
            if frac is not None:
                with contextlib.suppress(Exception):  # called from a worker thread: no bar update
                    _bar.progress(min(max(frac, 0.0), 1.0), text=f"Building demo '{_name}': {label}")

        try:
            demo.build_demo(name, data_dir(), progress=progress)
            tried[name] = ""
        except Exception as e:  # noqa: BLE001 (a failed demo must not stop the app)
            tried[name] = f"{type(e).__name__}: {e}"
        bar.empty()


def projects() -> dict[str, str]:
    """Project name -> file path: LSTMVIS_DB, every ``*.duckdb`` in the data folder, typed paths."""
    found: dict[str, str] = {}
    one = os.environ.get("LSTMVIS_DB")
    if one:
        found[Path(one).stem] = str(Path(one))
    folder = data_dir()
    if folder.is_dir():
        for p in sorted(folder.glob("*.duckdb")):
            found.setdefault(p.stem, str(p))
    for p in st.session_state.get(EXTRA_PATHS, []):
        found.setdefault(p, p)
    demo = _demo_module()
    if demo is not None:  # the default demo first
        first = getattr(demo, "DEFAULT_DEMO", None) or (list(demo.DEMOS) or [None])[0]
        if first in found:
            found = {first: found[first], **{k: v for k, v in found.items() if k != first}}
    return found


def add_project_path(path: str) -> str:
    """Register a typed path (validated by opening it); returns its key."""
    p = str(Path(path).expanduser())
    if Path(p).suffix != ".duckdb":
        raise lstmvis_db.LstmvisError(f"not a .duckdb project file: {p!r}")
    if not Path(p).is_file():
        raise lstmvis_db.LstmvisError(f"no such project file: {p!r}")
    open_project(p)
    extra = st.session_state.setdefault(EXTRA_PATHS, [])
    if p not in extra:
        extra.append(p)
    return p


@st.cache_resource(max_entries=16, show_spinner=False)
def open_project(path: str) -> lstmvis_db.Project:
    """One read-only Project (one DuckDB connection) per file, shared by every session."""
    return lstmvis_db.open(path)


def forget_project(path: str) -> None:
    """Drop the cached handle and answers for a file that was just replaced (DuckDB would
    otherwise keep serving the old file through the open connection)."""
    with contextlib.suppress(Exception):
        open_project(path).close()
    open_project.clear(path)
    st.cache_data.clear()


@st.cache_resource(max_entries=2, show_spinner=False)
def load_adapter(spec: str, vocab: str, stamp: float):
    """A model adapter for the New project page (``stamp`` changes when the files change)."""
    from lstmvis_db.extract import app_support

    return app_support.load_adapter(spec, vocab or None)


# --------------------------------------------------------------------------- cached queries


@st.cache_data(max_entries=32, show_spinner=False)
def info(path: str) -> dict:
    p = open_project(path)
    out = p.info()
    out["meta"] = p.meta()
    out["tracks_df"] = p.tracks()
    out["documents_df"] = p.documents
    out["unsigned"] = {s.source: s.unsigned for s in p.catalog.sources.values()}
    out["n_cells"] = {s.source: s.n_cells for s in p.catalog.sources.values()}
    out["value_range"] = {s.source: (float(s.min_value), float(s.max_value)) for s in p.catalog.sources.values()}
    return out


@st.cache_data(max_entries=64, show_spinner=False)
def window(path: str, source: str, lo: int, hi: int) -> np.ndarray:
    return open_project(path).window(source, lo, hi)


@st.cache_data(max_entries=64, show_spinner=False)
def tokens(path: str, lo: int, hi: int) -> pd.DataFrame:
    return open_project(path).tokens(lo, hi)


@st.cache_data(max_entries=128, show_spinner=False)
def annotations(path: str, track: str, lo: int, hi: int) -> pd.DataFrame:
    return open_project(path).annotations(track, np.arange(lo, hi + 1))


@st.cache_data(max_entries=64, show_spinner=False)
def predictions(path: str, track: str, lo: int, hi: int) -> pd.DataFrame:
    return open_project(path).predictions(track, lo, hi)


@st.cache_data(max_entries=256, show_spinner=False)
def select(path: str, source: str, start: int, end: int, threshold: float, left: int, right: int) -> list[int]:
    return open_project(path).select(source, start, end, threshold, left, right)


@st.cache_data(max_entries=64, show_spinner=False)
def match(path: str, source: str, cells: tuple[int, ...], threshold: float, cl: bool, cr: bool, length: int,
          limit: int, pool: int | None) -> dict:
    return open_project(path).match(source, list(cells), threshold, cl, cr, length, limit, pool)


@st.cache_data(max_entries=64, show_spinner=False)
def match_details(path: str, source: str, cells: tuple[int, ...], threshold: float,
                  starts: tuple[tuple[int, int], ...]) -> pd.DataFrame:
    """Per (result, step): token, count of ``cells`` on, and one ``track_i`` column per
    categorical/scalar track (``views.track_fields``)."""
    ms = [{"start": s, "length": ln} for s, ln in starts]
    df = open_project(path).match_details(source, list(cells), threshold, ms, LEFT_CONTEXT, MATCH_RIGHT)
    base = ["row", "start", "length", "offset", "pos", "in_match", "count", "token"]
    if not len(df):
        return pd.DataFrame(columns=base)
    tdf = info(path)["tracks_df"]
    names = tdf[tdf["kind"] != "topk"]["track"].tolist()
    # the core names a track column after the track, or "<name> (track)" if that is a base column
    core_name = {n: (f"{n} (track)" if n in base else n) for n in names}
    return df.rename(columns={core_name[n]: field for n, field in views.track_fields(names).items()})


@st.cache_data(max_entries=64, show_spinner=False)
def search(path: str, phrase: str | None, regex: str | None, limit: int = 30) -> list[dict]:
    return open_project(path).search(phrase=phrase, regex=regex, limit=limit)


@st.cache_data(max_entries=32, show_spinner=False, ttl=600)
def sql(path: str, query: str) -> pd.DataFrame:
    return open_project(path).sql(query, max_rows=10_000, timeout=10.0)


# --------------------------------------------------------------------------- state


def state() -> ViewState:
    """The view state; on a session's first run it is read from the URL query parameters."""
    if STATE not in st.session_state:
        st.session_state[STATE] = views.decode_state(dict(st.query_params.to_dict()))
        st.session_state["lv_from_url"] = "pos" in st.query_params or "brush" in st.query_params
    return st.session_state[STATE]


def sync_url() -> None:
    """Mirror the state into the URL (spec §5.5) so a copied link reopens the same view."""
    want = views.encode_state(state())
    if st.query_params.to_dict() != want:
        st.query_params.from_dict(want)


def share_query() -> str:
    return urlencode(views.encode_state(state()))


def current_path() -> str | None:
    """Resolve ``state.project`` to a file (default: the first project) and apply the project's
    suggested hypothesis when it is opened fresh.  None when there is no project at all."""
    s = state()
    found = projects()
    if s.project and s.project not in found and Path(s.project).is_file():
        try:
            add_project_path(s.project)
        except lstmvis_db.LstmvisError:
            pass
        found = projects()
    if s.project not in found:
        if not found:
            return None
        s.project, s.source = next(iter(found)), ""
        for name, p in found.items():  # the first project that opens
            try:
                info(p)
            except Exception:  # noqa: BLE001, S112 (a broken file is reported on the start page)
                continue
            s.project = name
            break
    path = found[s.project]
    inf = info(path)
    sources = [x["source"] for x in inf["sources"]]
    if s.source not in sources:
        fresh = not st.session_state.get("lv_from_url")
        s.source = inf["meta"].get("suggest_source") if inf["meta"].get("suggest_source") in sources else sources[0]
        if fresh:
            apply_suggestion(s, inf)
    return path


def apply_suggestion(s: ViewState, inf: dict) -> None:
    """The project's suggested first hypothesis (meta keys ``suggest_*``), if it has one, and a
    zoom that suits its tokens (narrower cells, a wider window for character tokens)."""
    meta = inf["meta"]
    path = projects().get(s.project)
    if path is not None:
        sample = tokens(path, 0, 499)["token"].astype(str)
        s.cw, s.width = (18, 50) if len(sample) and (sample.str.len() <= 1).mean() > 0.9 else (30, 30)
    try:
        a, b = int(meta["suggest_start"]), int(meta["suggest_end"])
        s.brush = (a, b)
        s.pos = max(a - LEFT_CONTEXT - 2, 0)
        s.threshold = float(meta.get("suggest_threshold", s.threshold))
    except (KeyError, ValueError):
        s.brush, s.pos = None, 0
    s.cells, s.excluded, s.pinned, s.queried, s.length = [], [], [], False, 0


def open_view(name: str, source: str, inf: dict) -> None:
    """Start a fresh view of a project and source (the suggested hypothesis if it is for it)."""
    old = state()
    s = ViewState(project=name, source=source, width=old.width, cw=old.cw, mask=old.mask)
    if inf["meta"].get("suggest_source", source) == source:
        apply_suggestion(s, inf)
    st.session_state[STATE] = s
    st.session_state["lv_from_url"] = True


def suggestion(path: str) -> dict | None:
    """The project's suggested first hypothesis with its text and cells, if it has one."""
    inf = info(path)
    meta = inf["meta"]
    try:
        src, a, b = meta["suggest_source"], int(meta["suggest_start"]), int(meta["suggest_end"])
        t = float(meta.get("suggest_threshold", 0.3))
    except (KeyError, ValueError):
        return None
    cells = select(path, src, a, b, t, 1, 0)
    text = views.join_tokens([views.display_token(x) for x in tokens(path, a, b)["token"]])
    return {"name": inf["name"], "source": src, "start": a, "end": b, "threshold": t, "cells": cells, "text": text}


def reset_for_project(name: str) -> None:
    s = state()
    s.project, s.source = name, ""
    st.session_state["lv_from_url"] = False


def hypothesis(path: str, s: ViewState) -> tuple[list[int], str | None]:
    """Selected cells for the brush (or the cells from the URL when there is no brush), and a
    message when the brush cannot be used.  Updates ``s.cells`` and drops stale exclusions."""
    if s.brush is None:
        cells, msg = list(s.cells), None
    else:
        a, b = s.brush
        try:
            if s.low_pass > 0:
                cells = filtered_selection(path, s)
            else:
                cells = select(path, s.source, a, b, s.threshold, s.pad_left, s.pad_right)
            msg = None
        except lstmvis_db.LstmvisError as e:
            cells, msg = [], str(e)
    s.cells = cells
    s.excluded = [c for c in s.excluded if c in cells]
    s.pinned = [c for c in s.pinned if c in s.query_cells()]
    return cells, msg


def filtered_selection(path: str, s: ViewState) -> list[int]:
    """Selection on length-filtered values (spec §4.6), over the document around the brush."""
    a, b = s.brush  # type: ignore[misc]
    p = open_project(path)
    doc = p.catalog.doc_of(a)
    d_lo, d_hi = int(p.catalog.doc_first[doc]), int(p.catalog.doc_last[doc])
    lo = max(d_lo, min(a - s.pad_left, a) - 40)
    hi = min(d_hi, b + s.pad_right + 40)
    vals = views.low_pass(window(path, s.source, lo, hi), s.threshold, s.low_pass)
    return views.select_in_window(vals, lo, a, b, s.threshold, s.pad_left, s.pad_right, d_lo, d_hi)


# --------------------------------------------------------------------------- widgets


def _copy(name: str, key: str) -> None:
    setattr(state(), name, st.session_state[key])


def bound(widget, label: str, name: str, key: str | None = None, **kw):
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


def _on_range(changed: str) -> None:
    """A typed range end; the other end follows if the range would be inverted."""
    s = state()
    a, b = int(st.session_state["w_range_a"]), int(st.session_state["w_range_b"])
    if a > b:
        a, b = (a, a) if changed == "a" else (b, b)
    s.brush = (a, b)
    s.excluded, s.queried, s.length = [], False, 0


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
    if page in ("select", "match"):
        sb.markdown("**Hypothesis**")
        vlo, vhi = inf["value_range"][s.source]
        lo, hi = min(-1.0, vlo, s.threshold), max(1.0, vhi, s.threshold)
        if inf["unsigned"][s.source] or vlo >= 0:
            lo = min(0.0, s.threshold)
        with sb:
            bound(st.slider, "Threshold", "threshold", key="w_threshold_s", min_value=math.floor(lo * 1000) / 1000,
                  max_value=math.ceil(hi * 1000) / 1000, step=0.001, format="%.3f")
            bound(st.number_input, "Threshold value", "threshold", key="w_threshold_n", step=0.001, format="%.3f",
                  label_visibility="collapsed")
            c1, c2 = st.columns(2)
            with c1:
                bound(st.number_input, "Off left", "pad_left", min_value=0, max_value=20, step=1,
                      help="steps before the range where the cells must be off")
            with c2:
                bound(st.number_input, "Off right", "pad_right", min_value=0, max_value=20, step=1,
                      help="steps after the range where the cells must be off")
            bound(st.slider, "Length filter (low pass)", "low_pass", min_value=0, max_value=20,
                  help="drop on-runs of at most this many steps before selecting (0 = off)")
            if st.button("Clear selection", width="stretch"):
                s.brush, s.cells, s.excluded, s.queried = None, [], [], False
                st.rerun()
    if page == "select":
        sb.markdown("**View**")
        with sb:
            bound(st.slider, "Window (tokens)", "width", min_value=10, max_value=200, step=5)
            bound(st.slider, "Zoom (px per token)", "cw", min_value=8, max_value=60, step=1)
            bound(st.toggle, "Mask tracks by count", "mask")
            tracks = inf["tracks_df"]["track"].tolist()
            s.tracks = [t for t in s.tracks if t in tracks]
            bound(st.multiselect, "Annotation tracks", "tracks", options=tracks, placeholder="add a track")
    sb.caption(f"[Link to this view](?{share_query()}) (copy to share)")


def page_setup(title: str, page: str) -> str | None:
    """Page config, demo building, state and project resolution; None if there is no project."""
    st.set_page_config(page_title=f"LSTMVis · {title}", page_icon=":material/show_chart:", layout="wide")
    ensure_demos()
    state()
    try:
        path = current_path()
    except Exception as e:  # noqa: BLE001 (a broken or locked file is a message, not a traceback)
        st.title(title)
        st.error(f"Cannot open project {state().project!r}: {e}")
        if page != "home":
            page_link("home", "Start page", icon=":material/home:")
        return None
    if path is None:
        st.title(title)
        st.info(f"No project found. Put a `.duckdb` project into `{data_dir()}` or open a file on the start page.")
        page_link("home", "Start page", icon=":material/home:")
        return None
    return path


def chart(c, **kw):
    """Draw an Altair chart.  The spec is built without re-validating it against the Vega-Lite
    schema on every rerun (the builders are validated by tests/test_charts.py), which keeps an
    interaction on a 128-cell source well under a second."""
    kw.setdefault("theme", None)
    with alt.data_transformers.disable_max_rows():  # e.g. 128 cells x 50 steps = 6,400 rows
        spec = c.to_dict(validate=False)
    return st.vega_lite_chart(spec, **kw)


def run_safely(fn, *args, **kw):
    """Call ``fn``; a LstmvisError becomes an in-page error message (returns None)."""
    try:
        return fn(*args, **kw)
    except lstmvis_db.LstmvisError as e:
        st.error(str(e))
        return None


def select_link(s: ViewState, start: int, length: int) -> str:
    """A URL opening the Select page at a match with the brush preset to it (padding 1, 0)."""
    v = ViewState(project=s.project, source=s.source, pos=max(start - LEFT_CONTEXT - 2, 0), threshold=s.threshold,
                  brush=(start, start + length - 1), pad_left=1, pad_right=0, width=s.width, cw=s.cw,
                  tracks=list(s.tracks), low_pass=s.low_pass)
    return "./Select?" + urlencode(views.encode_state(v))


# --------------------------------------------------------------------------- Select view


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
    c = st.columns([1, 1, 2, 1, 1, 6], vertical_alignment="bottom")
    c[0].button("« 50", key="nav_m50", on_click=_nav, kwargs={"delta": -50}, width="stretch", help="back 50 tokens")
    c[1].button("‹ 5", key="nav_m5", on_click=_nav, kwargs={"delta": -5}, width="stretch", help="back 5 tokens")
    with c[2]:
        bound(st.number_input, "Position", "pos", min_value=0, max_value=n - 1, step=1)
    c[3].button("5 ›", key="nav_p5", on_click=_nav, kwargs={"delta": 5}, width="stretch", help="forward 5 tokens")
    c[4].button("50 »", key="nav_p50", on_click=_nav, kwargs={"delta": 50}, width="stretch", help="forward 50 tokens")
    with c[5]:
        q1, q2 = st.columns([3, 1], vertical_alignment="bottom")
        query = q1.text_input("Search the text", key="w_search", placeholder="a phrase, or a regex")
        mode = q2.selectbox("Search mode", ["phrase", "regex"], key="w_search_mode", label_visibility="collapsed")
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


def window_bounds(path: str, s: ViewState) -> tuple[int, int]:
    n = info(path)["tokens"]
    lo = max(0, min(s.pos - LEFT_CONTEXT, n - s.width))
    return lo, min(n - 1, lo + s.width - 1)


def select_view(path: str, s: ViewState, cells: list[int]):
    """The Select view's stacked chart for the current window (and its lo, hi)."""
    inf = info(path)
    lo, hi = window_bounds(path, s)
    vals = window(path, s.source, lo, hi)
    if s.low_pass > 0:
        vals = views.low_pass(vals, s.threshold, s.low_pass)
    q = s.query_cells()
    counts = views.on_counts(vals, q, s.threshold)
    words = views.words_frame(tokens(path, lo, hi), counts)
    ydom = views.y_domain(window(path, s.source, lo, hi), inf["unsigned"][s.source])
    anchor = s.pos if lo <= s.pos <= hi else None
    rows = [charts.pattern_plot(views.lines_frame(vals, lo, cells, s.excluded), lo, hi, s.threshold, ydom, s.cw,
                                pos=anchor, brush=s.brush, n_cells=inf["n_cells"][s.source]),
            charts.word_strip(words, lo, hi, s.cw, pos=anchor, brush=s.brush)]
    if s.brush is not None:
        rows.append(charts.signature_row(views.signature(*s.brush, s.pad_left, s.pad_right), lo, hi, s.cw))
    tdf = inf["tracks_df"].set_index("track")
    mc = max(int(counts.max()) if len(counts) else 0, 1)
    for t in s.tracks:
        kind = tdf.loc[t, "kind"]
        if kind == "topk":
            rows.append(charts.topk_track(views.topk_frame(predictions(path, t, lo, hi)), t, lo, hi, s.cw))
            continue
        ann = annotations(path, t, lo, hi).merge(words[["pos", "count"]], on="pos")
        if kind == "categorical":
            rows.append(charts.category_track(ann, t, track_colors(path, t), lo, hi, s.cw, s.mask, mc))
        else:
            rows.append(charts.scalar_track(ann, t, tdf.loc[t, "min"], tdf.loc[t, "max"], lo, hi, s.cw, s.mask, mc))
    if q:
        anchor_run = s.brush[0] if s.brush else None
        rows.append(charts.on_range_view(views.on_ranges(vals, lo, q, s.threshold, anchor_run), lo, hi, s.cw))
        jac = pd.DataFrame({"pos": np.arange(lo, hi + 1), "jaccard": views.step_jaccard(vals, q, s.threshold)})
        rows.append(charts.jaccard_preview(jac, lo, hi, s.cw))
    return charts.select_view(rows), lo, hi


def track_colors(path: str, track: str) -> dict[str, str]:
    """Category colours of a track, fixed by its category order (the same in every view)."""
    tdf = info(path)["tracks_df"].set_index("track")
    cats = tdf.loc[track, "categories"]
    cats = list(cats) if cats is not None and not (isinstance(cats, float) and math.isnan(cats)) else []
    return views.category_colors(cats)


def brush_event(event, lo: int, hi: int) -> bool:
    """Take a new brush from the chart's selection event; True if the state changed."""
    s = state()
    try:
        raw = dict(event["selection"].get(charts.BRUSH) or {}) if event is not None else {}
    except (KeyError, TypeError, AttributeError):
        raw = {}
    interval = next((v for v in raw.values() if isinstance(v, list) and len(v) == 2), None)
    key = json.dumps(raw, sort_keys=True, default=str)
    if interval is None or key == st.session_state.get("lv_last_brush"):
        return False
    st.session_state["lv_last_brush"] = key
    b = views.snap_brush(interval, lo, hi)
    if b is None or b == s.brush:
        return False
    s.brush, s.excluded, s.queried, s.length = b, [], False, 0
    return True


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


def page_link(page: str, label: str, icon: str | None = None) -> None:
    """``st.page_link`` that degrades to a plain link when the page is run on its own (AppTest)."""
    try:
        st.page_link(PAGES[page], label=label, icon=icon)
    except Exception:  # noqa: BLE001 (StreamlitPageNotFoundError outside the multipage app)
        target = "" if page == "home" else Path(PAGES[page]).stem.split("_", 1)[-1]
        st.markdown(f"[{label}](./{target}?{share_query()})")


# --------------------------------------------------------------------------- Match view


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


# --------------------------------------------------------------------------- SQL console


@st.cache_data(max_entries=16, show_spinner=False)
def table_reference(path: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Columns and types of the public tables (as the console sees them) and their row counts."""
    p = open_project(path)
    cols = p.sql("SELECT table_name AS table, column_name AS column, data_type AS type "
                 "FROM information_schema.columns WHERE table_schema = 'main' "
                 "ORDER BY table_name, ordinal_position")
    cols = cols[cols["table"].isin(views.PUBLIC_TABLES)]
    counts = {}
    inf = info(path)
    for t in views.PUBLIC_TABLES:
        if t == "states":
            counts[t] = inf["tokens"] * sum(inf["n_cells"].values())
        elif t in set(cols["table"]):
            counts[t] = int(p.sql(f"SELECT count(*) AS n FROM {t}")["n"].iloc[0])  # names from a fixed list
    return cols, counts


def sql_examples(path: str, s: ViewState) -> dict[str, str]:
    tdf = info(path)["tracks_df"]
    cat = tdf[tdf["kind"] == "categorical"]["track"].tolist()
    cell = (s.query_cells() or [0])[0]
    return views.example_queries(s.source, cell, s.threshold, s.brush, s.pad_left, s.pad_right,
                                 cat[0] if cat else None)


def _on_example() -> None:
    ex = st.session_state.get("lv_examples", {})
    name = st.session_state.get("w_example")
    if name in ex:
        st.session_state["w_sql"] = ex[name]
