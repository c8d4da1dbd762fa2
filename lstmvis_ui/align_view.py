"""The Match page's "What the matches have in common": the strongest findings as
sentences with one click to paint their track onto the words, the table of tests, shares and
scalar rows, the cell-set null on request (its run time stated first), and saved hypotheses.

Hypotheses live in the per-user workspace file; on a public deployment (``LSTMVIS_PUBLIC=1``)
in an in-memory workspace of this session only (and in the URL: ``hyp`` names the one shown).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

import lstmvis_db
from lstmvis_db.analysis import findings
from lstmvis_db.analysis.spannull import CONDITIONS
from lstmvis_db.hypotheses import ops
from lstmvis_db.hypotheses.workspace import Workspace, public_mode
from lstmvis_db.views import ViewState

from .cached import info, select, sql
from .resources import open_project
from .view_state import state
from .widgets import run_safely

SETS = {"top": "top matches", "all": "all candidates", "strict": "strict (all cells on)"}
SESSION_WS = "lv_workspace"
CURRENT = "lv_current_matches"


@st.cache_data(max_entries=32, show_spinner="Aligning the matches with the tracks…")
def align(path: str, source: str, cells: tuple[int, ...], threshold: float | None, cl: bool, cr: bool, length: int,
          pool: int | None, kind: str, limit: int, quantile: float | None = None, tracks: tuple[str, ...] | None = None,
          conditions: tuple[str, ...] | None = None) -> dict:
    return open_project(path).align(source, list(cells), threshold, cl, cr, length, pool, set=kind, limit=limit,
                                    quantile=quantile, tracks=_list(tracks), conditions=_list(conditions))


@st.cache_data(max_entries=32, show_spinner="Reading every cell's on-bits once and timing random cell sets…")
def estimate(path: str, source: str, cells: tuple[int, ...], threshold: float | None, cl: bool, cr: bool,
             length: int, pool: int | None, kind: str, limit: int, quantile: float | None,
             tracks: tuple[str, ...] | None, conditions: tuple[str, ...] | None, k: int) -> float:
    del conditions  # taken to keep _args' order; the estimate (align_estimate) times the tracks' tests only
    return open_project(path).align_estimate(source, list(cells), threshold, cl, cr, length, pool, kind, limit,
                                             tracks=_list(tracks), null_cells=k, quantile=quantile)


@st.cache_data(max_entries=16, show_spinner="Running the cell-set null…")
def cell_null(path: str, source: str, cells: tuple[int, ...], threshold: float | None, cl: bool, cr: bool,
              length: int, pool: int | None, kind: str, limit: int, quantile: float | None,
              tracks: tuple[str, ...] | None, conditions: tuple[str, ...] | None, k: int, seed: int) -> dict:
    res = open_project(path).align(source, list(cells), threshold, cl, cr, length, pool, set=kind, limit=limit,
                                   null_cells=k, seed=seed, quantile=quantile, tracks=_list(tracks),
                                   conditions=_list(conditions))
    return res["cell_null"]


def _list(chosen: tuple[str, ...] | None) -> list[str] | None:
    """A chosen subset as the API takes it (None: all of them)."""
    return list(chosen) if chosen else None


def _keep(widget: str, field: str) -> None:
    """A pick in the align view's lists into the view state (and so into the link)."""
    setattr(state(), field, list(st.session_state[widget]))


def _quantile() -> float | None:
    """The align view's own per-cell quantile (``align --quantile``), when switched on."""
    if not st.session_state.get("w_align_useq"):
        return None
    return float(st.session_state.get("w_align_q", 0.9))


def _args(path: str, s: ViewState) -> tuple:
    q = _quantile()
    return (path, s.source, tuple(s.query_cells()), None if q is not None else s.threshold, s.constrain_left,
            s.constrain_right, int(s.length), int(s.pool) or None, s.align_set if s.align_set in SETS else "top",
            int(s.limit), q, tuple(s.align_tracks) or None, tuple(s.align_conditions) or None)


def workspace() -> Workspace:
    """The session's in-memory workspace (public mode) or the per-user file (close it after use)."""
    if public_mode():
        if SESSION_WS not in st.session_state:
            st.session_state[SESSION_WS] = Workspace(":memory:")
        return st.session_state[SESSION_WS]
    return Workspace()


def _close(ws: Workspace) -> None:
    if not public_mode():
        ws.close()


def _paint(track: str) -> None:
    s = state()
    s.map_to = track
    if track not in s.heatmaps:
        s.heatmaps = [*s.heatmaps, track]


def align_view(path: str, s: ViewState) -> None:
    st.markdown("##### What the matches have in common")
    st.session_state["w_align_set"] = s.align_set if s.align_set in SETS else "top"
    st.radio("Match set", list(SETS), format_func=SETS.get, horizontal=True, key="w_align_set",
             on_change=lambda: setattr(state(), "align_set", st.session_state["w_align_set"]),
             help="top: the results above; all: every candidate scored; strict: candidates with no cell missing")
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    if c1.toggle("per-cell quantile", key="w_align_useq",
                 help="match these cells with each one on at its own q-quantile instead of the threshold"):
        c2.slider("q", 0.5, 0.999, 0.9, 0.001, key="w_align_q", format="%.3f")
    tdf = info(path)["tracks_df"]
    testable = [str(t) for t, k in zip(tdf["track"], tdf["kind"], strict=True) if k == "categorical"]
    # the picks live in the view state (and the link; a rerun that does not draw these lists drops
    # a widget's own state) and are written into the widgets each run, as the match set is
    s.align_tracks = [t for t in s.align_tracks if t in testable]
    st.session_state["w_align_tracks"] = list(s.align_tracks)
    st.session_state["w_align_conds"] = list(s.align_conditions)
    c1, c2 = st.columns(2)
    c1.multiselect("Tracks tested", testable, key="w_align_tracks", placeholder="every categorical track",
                   on_change=_keep, args=("w_align_tracks", "align_tracks"),
                   help="the family of tests (and so the q-values) over just these tracks; "
                        "align --tracks in the CLI, tracks= in Python")
    c2.multiselect("Conditions", list(CONDITIONS), key="w_align_conds", placeholder="all four",
                   on_change=_keep, args=("w_align_conds", "align_conditions"),
                   help="contains: a token of the span has the label; covers: every token has it; starts / ends: "
                        "its first / last token has it (align --conditions, conditions=)")
    res = run_safely(align, *_args(path, s))
    if res is None:
        return
    if res.get("thresholds"):
        st.caption("Matched at each cell's own quantile: " + ", ".join(
            f"cell {c} ≥ {t:.4g}" for c, t in res["thresholds"].items()))
    top = findings.strongest(res["tests"])
    if not top:
        st.info(f"No label is over-represented in these {res['spans']:,} spans (q < 0.05).")
    for i, row in enumerate(top):
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.markdown("**" + findings.sentence(row, res["spans"]) + "**")
        c2.button(f"Paint {row['track']}", key=f"paint_{i}", on_click=_paint, args=(row["track"],),
                  help="colour the words above by this track")
    with st.expander(f"All {len(res['tests'])} tests over {res['spans']:,} spans (span null; q = Benjamini–Hochberg)"):
        df = pd.DataFrame(res["tests"])
        st.dataframe(df, hide_index=True, width="stretch", column_config={
            "p": st.column_config.NumberColumn(format="%.2e"), "q": st.column_config.NumberColumn(format="%.2e"),
            "expected": st.column_config.NumberColumn(format="%.2f"),
            "lift": st.column_config.NumberColumn(format="%.2f")})
    with st.expander("Token shares and scalar tracks (descriptive)"):
        if res["shares"]:
            st.dataframe(pd.DataFrame(res["shares"]), hide_index=True, width="stretch")
        if res["scalars"]:
            st.dataframe(pd.DataFrame(res["scalars"]), hide_index=True, width="stretch")
    _cell_null_view(path, s)


def _cell_null_view(path: str, s: ViewState) -> None:
    with st.expander("Is the hypothesis itself special? (cell-set null)"):
        c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
        k = int(c1.number_input("Random cell sets K", min_value=1, max_value=999, value=99, step=10, key="w_null_k"))
        seed = int(c2.number_input("Seed", min_value=0, value=0, step=1, key="w_null_seed"))
        args = _args(path, s)
        if not c3.toggle("Prepare (times one random set first)", key="w_null_prep"):
            return
        secs = run_safely(estimate, *args, k)
        if secs is None:
            return
        if st.button(f"Run the cell-set null (about {secs:.0f} s)", key="run_null"):
            st.session_state["lv_null_ran"] = (args, k, seed)
        if st.session_state.get("lv_null_ran") == (args, k, seed):
            res = run_safely(cell_null, *args, k, seed)
            if res is not None:
                obs = "undefined" if res["observed"] is None else f"{res['observed']:.2f}"
                st.markdown(f"Best lift {obs}; empirical p = **{res['p']:.3f}** over K = {res['k']} random "
                            f"cell sets of the same size (seed {res['seed']}, {res['seconds']:.1f} s).")


def publish_current(s: ViewState, matches: list[dict]) -> None:
    """The current results as the SQL console's ``current_matches`` table."""
    df = pd.DataFrame(matches, columns=["start", "length", "intersection", "union", "jaccard", "missing"])
    df.insert(0, "rank", range(1, len(df) + 1))
    df["source"] = s.source
    st.session_state[CURRENT] = df


def sql_tables() -> dict[str, pd.DataFrame]:
    """current_matches, hypotheses and hypothesis_matches for the SQL console."""
    out: dict[str, pd.DataFrame] = {}
    if CURRENT in st.session_state:
        out["current_matches"] = st.session_state[CURRENT]
    try:
        ws = workspace()
    except lstmvis_db.LstmvisError:
        return out
    try:
        out.update(ws.frames())
    finally:
        _close(ws)
    return out


def sql_with_tables(path: str, query: str) -> pd.DataFrame:
    """The SQL console's query; with ``current_matches`` and the saved hypotheses when it names them."""
    low = query.lower()
    if not any(t in low for t in ("current_matches", "hypotheses", "hypothesis_matches")):
        return sql(path, query)
    return open_project(path).sql(query, max_rows=10_000, timeout=10.0, tables=sql_tables())


def _open_saved(path: str, h: dict) -> None:
    s = state()
    s.source, s.threshold, s.hypothesis = h["source"], float(h["threshold"]), h["name"]
    s.constrain_left, s.constrain_right, s.length = bool(h["constrain_left"]), bool(h["constrain_right"]), h["length"]
    s.pool, s.limit, s.queried = int(h["pool"] or 0), int(h["limit"]), True
    s.pad_left, s.pad_right = int(h["pad_left"] or 0), int(h["pad_right"] or 0)
    s.brush, s.cells, s.excluded = None, list(h["cells"]), []
    if h["brush_start"] is not None:
        sel = select(path, s.source, h["brush_start"], h["brush_end"], s.threshold, s.pad_left, s.pad_right)
        if set(h["cells"]) <= set(sel):
            s.brush = (int(h["brush_start"]), int(h["brush_end"]))
            s.cells, s.excluded = sel, [c for c in sel if c not in h["cells"]]


def hypotheses_view(path: str, s: ViewState) -> None:
    where = "this session only (public deployment)" if public_mode() else "your workspace file"
    st.markdown(f"##### Saved hypotheses · {where}")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    name = c1.text_input("Name", value=s.hypothesis, key="w_hyp_name", placeholder="e.g. bracket cells")
    try:
        ws = workspace()
    except lstmvis_db.LstmvisError as e:
        st.error(str(e))
        return
    try:
        if c2.button("Save hypothesis", key="save_hyp"):
            done = run_safely(ops.save, open_project(path).catalog, ws, name, s.source, s.query_cells(), s.threshold,
                              s.constrain_left, s.constrain_right, int(s.length), int(s.limit), int(s.pool) or None,
                              s.brush, (s.pad_left, s.pad_right), replace=True)
            if done is not None:
                s.hypothesis = done["name"]
                st.success(f"Saved {done['name']!r} with its matches (SQL: hypotheses, hypothesis_matches).")
        saved = ws.saved(str(Path(path).resolve()))
    finally:
        _close(ws)
    for i, h in enumerate(saved):
        a, b = st.columns([5, 1], vertical_alignment="center")
        a.markdown(f"`{h['name']}` · {h['source']} · cells {', '.join(map(str, h['cells']))} · "
                   f"≥ {h['threshold']:g} · {h['created'][:16]}")
        b.button("Open", key=f"open_hyp_{i}", on_click=_open_saved, args=(path, h))
