"""The Cell page (docs/analysis.md in the app): one cell's profile under a filter, the cells
that track a label (with the token-type control beside them), and the co-activation of cells.

The page keeps its own URL parameters (``cell``, ``rtrack``, ``rlabel``) next to the shared
view state, so a link from a cell chip or a track label opens the same view again.
"""

from __future__ import annotations

import threading
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from lstmvis_db import views
from lstmvis_db.views import ViewState, cell_charts

from . import public
from .cached import info
from .resources import open_project
from .view_state import state
from .widgets import chart, run_safely, select_link

CELL_KEYS = ("view", "cell", "rtrack", "rlabel")
VIEWS = {"profile": "Profile", "ranking": "Cells that track a label", "formula": "Explain by a formula"}
# One uncached cell computation at a time in the whole server: a visitor's first ranking waits
# its turn instead of competing with every other visitor's for the cores (and memory); answers
# are cached by their inputs (st.cache_data below), what a project keeps is bounded by
# LSTMVIS_CELL_CACHE_MB per source (lstmvis_db.analysis._exact.cache_bytes).
_ONE_AT_A_TIME = threading.BoundedSemaphore(1)


@st.cache_data(max_entries=64, show_spinner=False)
def profile(path: str, source: str, cell: int, threshold: float, docs: tuple[int, ...] | None,
            rng: tuple[int, int] | None, track: str | None, label: str | None, top: int, gap: int) -> dict:
    with _ONE_AT_A_TIME:
        return open_project(path).profile(source, cell, threshold=threshold, track=track, label=label,
                                          docs=list(docs) if docs else None, range=rng, top=top, gap=gap)


@st.cache_data(max_entries=32, show_spinner=False)
def ranking(path: str, source: str, track: str, label: str, threshold: float | None, quantile: float | None,
            stat: str) -> dict:
    with _ONE_AT_A_TIME:
        return open_project(path).cells(source, track, label, threshold=threshold, quantile=quantile, stat=stat)


@st.cache_data(max_entries=32, show_spinner=False)
def coactivation(path: str, source: str, cells: tuple[int, ...], threshold: float, lag: int | None) -> dict:
    with _ONE_AT_A_TIME:
        return open_project(path).coactivation(source, list(cells), threshold=threshold, lag=lag, limit=200)


@st.cache_data(max_entries=32, show_spinner=False)
def explanation(path: str, source: str, cells: tuple[int, ...], threshold: float, beam: int) -> dict:
    with _ONE_AT_A_TIME:
        return open_project(path).explain(source, list(cells), threshold=threshold, beam=beam)


def _page_query(s: ViewState, source: str | None = None, **extra: object) -> str:
    v = ViewState(project=s.project, source=source or s.source, pos=s.pos, threshold=s.threshold, brush=s.brush,
                  pad_left=s.pad_left, pad_right=s.pad_right, width=s.width, cw=s.cw, tracks=list(s.tracks))
    return urlencode({**views.encode_state(v), **{k: str(x) for k, x in extra.items() if x is not None}})


def cell_link(s: ViewState, cell: int, source: str | None = None) -> str:
    """URL of the Cell page showing ``cell``'s profile."""
    return "./Cell?" + _page_query(s, source, cell=cell)


def label_link(s: ViewState, track: str, label: str) -> str:
    """URL of the Cell page's ranking of the cells that track ``label`` of ``track``."""
    return "./Cell?" + _page_query(s, view="ranking", rtrack=track, rlabel=label)


def formula_link(s: ViewState) -> str:
    """URL of the Cell page explaining the query cells by a formula."""
    q = s.query_cells()
    return "./Cell?" + _page_query(s, view="formula", formula="query", cell=q[0] if q else 0,
                                   cells=",".join(map(str, q)))


def sync_cell_url(extra: dict[str, object]) -> None:
    want = {**views.encode_state(state()), **{k: str(v) for k, v in extra.items() if v is not None}}
    if st.query_params.to_dict() != want:
        st.query_params.from_dict(want)


def _param(key: str) -> str | None:
    v = st.query_params.get(key)
    return v if v else None


def cell_number(path: str) -> int:
    s = state()
    n_cells = info(path)["n_cells"][s.source]
    if "w_cell" not in st.session_state:
        try:
            st.session_state["w_cell"] = min(max(int(_param("cell") or 0), 0), n_cells - 1)
        except ValueError:
            st.session_state["w_cell"] = 0
    st.session_state["w_cell"] = min(int(st.session_state["w_cell"]), n_cells - 1)
    return int(st.number_input("Cell", min_value=0, max_value=n_cells - 1, step=1, key="w_cell"))


def categorical_tracks(path: str) -> dict[str, list[str]]:
    tdf = info(path)["tracks_df"]
    out = {}
    for _, r in tdf[tdf["kind"] == "categorical"].iterrows():
        cats = r["categories"]
        out[r["track"]] = [str(c) for c in cats] if cats is not None and not isinstance(cats, float) else []
    return out


def _filter_controls(path: str) -> tuple[tuple[int, ...] | None, tuple[int, int] | None, str | None, str | None]:
    inf = info(path)
    docs_df = inf["documents_df"]
    c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
    names = {int(d): f"{d}: {nm}" for d, nm in zip(docs_df["doc"], docs_df["name"])}
    docs = c1.multiselect("Documents", list(names), format_func=lambda d: names.get(d, str(d)), key="w_cell_docs",
                          placeholder="all documents")
    text = c2.text_input("Positions A:B", key="w_cell_range", placeholder="all positions")
    rng = None
    if text.strip():
        a, _, b = text.partition(":")
        try:
            rng = (int(a), int(b))
        except ValueError:
            st.warning(f"positions must be A:B, got {text!r}; ignored")
    tracks = categorical_tracks(path)
    track = c3.selectbox("Only where track", ["(any)", *tracks], key="w_cell_ftrack")
    label = None
    if track != "(any)":
        label = c4.selectbox("has label", tracks[track], key="w_cell_flabel")
    return (tuple(docs) or None), rng, (None if track == "(any)" else track), label


def _contexts(s: ViewState, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({
        "pos": [r["pos"] for r in rows], "value": [r["value"] for r in rows],
        "context": [views.display_token(r["left"]) + " ⟦" + views.display_token(r["token"]) + "⟧ "
                    + views.display_token(r["right"]) for r in rows],
        "open": [select_link(s, r["pos"], 1) for r in rows],
    })


def profile_section(path: str) -> int:
    """The profile of the chosen cell; returns the cell."""
    s = state()
    c0, c1, c2 = st.columns([1, 1, 1])
    with c0:
        cell = cell_number(path)
    top = int(c1.number_input("Top contexts", min_value=1, max_value=50, value=8, key="w_cell_top"))
    gap = int(c2.number_input("Gap", min_value=0, max_value=200, value=5, key="w_cell_gap",
                              help="each context at least this many positions from every higher-ranked one"))
    docs, rng, track, label = _filter_controls(path)
    prof = run_safely(profile, path, s.source, cell, float(s.threshold), docs, rng, track, label, top, gap)
    if prof is None:
        return cell
    m = st.columns(5)
    m[0].metric("Positions", f"{prof['count']:,}")
    m[1].metric("Mean", f"{prof['mean']:.4f}")
    m[2].metric("Std", f"{prof['std']:.4f}")
    m[3].metric(f"On-rate (≥ {s.threshold:.3f})", f"{prof['on_rate']:.2%}")
    m[4].metric("Median", f"{prof['quantiles']['0.5']:.4f}")
    left, right = st.columns([3, 2])
    with left:
        chart(cell_charts.value_histogram(prof["histogram"]["edges"], prof["histogram"]["counts"], s.threshold,
                                          title=f"cell {cell} value"), width="content")
    with right:
        st.dataframe(pd.DataFrame({"quantile": list(prof["quantiles"]), "value": list(prof["quantiles"].values())}),
                     hide_index=True, height=250)
    rates = cell_charts.label_rates_frame(prof["by_label"])
    if len(rates):
        pick = st.selectbox("On-rate per label of", list(prof["by_label"]), key="w_cell_rates")
        chart(cell_charts.label_rates(rates, pick), width="content")
    link = st.column_config.LinkColumn("open", display_text="in Select")
    t1, t2 = st.columns(2)
    t1.markdown(f"**Top {len(prof['top'])}** (largest values, gap {gap})")
    t1.dataframe(_contexts(s, prof["top"]), hide_index=True, column_config={"open": link})
    t2.markdown(f"**Bottom {len(prof['bottom'])}** (smallest values)")
    t2.dataframe(_contexts(s, prof["bottom"]), hide_index=True, column_config={"open": link})
    return cell


def ranking_section(path: str) -> tuple[str | None, str | None]:
    """'Cells that track ℓ': choose a track and label; every cell ranked, with the control."""
    s = state()
    tracks = categorical_tracks(path)
    if not tracks:
        st.caption("This project has no categorical track.")
        return None, None
    want_t, want_l = _param("rtrack"), _param("rlabel")
    if "w_rank_track" not in st.session_state:  # a link's track and label, said when unknown
        if want_t and want_t not in tracks:
            st.warning("The link asks for a track that is not a categorical track of this project; choose one "
                       "below.")  # the link's own text is not echoed: whoever made the link wrote it
        elif want_t:
            st.session_state["w_rank_track"] = want_t
            if want_l in tracks[want_t]:
                st.session_state["w_rank_label"] = want_l
            elif want_l:
                st.warning(f"The link asks for a label that track '{public.plain(want_t)}' does not have; choose "
                           "one below.")
    c = st.columns([2, 2, 2, 2, 2])
    track = c[0].selectbox("Track", list(tracks), key="w_rank_track")
    if st.session_state.get("w_rank_label") not in tracks[track]:
        st.session_state.pop("w_rank_label", None)
    label = c[1].selectbox("Label", tracks[track], key="w_rank_label")
    stat = c[2].selectbox("Rank by", ["auroc", "mean_diff", "iou"], key="w_rank_stat")
    scope = c[3].selectbox("Sources", ["this source", "all sources"], key="w_rank_scope")
    use_q = c[4].toggle("per-cell quantile", key="w_rank_useq", help="on at each cell's own q-quantile")
    quantile = st.slider("q", 0.5, 0.999, 0.9, 0.001, key="w_rank_q") if use_q else None
    with st.spinner(f"ranking every cell for {track} = {label} (exact AUROC, control task) ..."):
        res = run_safely(ranking, path, s.source if scope == "this source" else "all", track, label,
                         None if use_q else float(s.threshold), quantile, stat)
    if res is None:
        return track, label
    df = pd.DataFrame(res["cells"])
    df.insert(0, "profile", [cell_link(s, int(r.cell), r.source) for r in df.itertuples()])
    st.caption(f"{len(df)} cells for {track} = {label}; control: token-type labels, seed {res['control_seed']}; "
               f"selectivity = {stat} − best control {stat}. Threshold "
               + (f"q = {quantile} per cell" if use_q else f"{s.threshold:.3f}") + ".")
    cols = ["profile", "source", "cell", stat, "control_stat", "selectivity", "auroc", "control_auroc", "mean_diff",
            "precision", "recall", "iou", "threshold"]
    if stat == "auroc":
        cols.remove("control_auroc")
    st.dataframe(df[list(dict.fromkeys(cols))], hide_index=True, height=360, column_config={
        "profile": st.column_config.LinkColumn("profile", display_text="open"),
        "control_stat": st.column_config.NumberColumn(f"control {stat}", format="%.4f")})
    return track, label


def coactivation_section(path: str, cells: list[int], key: str = "co") -> None:
    """Co-activation of ``cells`` with every cell of the source: a heatmap and the strongest pairs."""
    s = state()
    if not cells:
        st.caption("Select cells first.")
        return
    c1, c2 = st.columns([1, 3])
    lagged = c1.toggle("lagged", key=f"w_{key}_lagged", help="b on within k positions after a")
    lag = int(c2.slider("k", 1, 20, 3, key=f"w_{key}_lag")) if lagged else None
    res = run_safely(coactivation, path, s.source, tuple(cells[:20]), float(s.threshold), lag)
    if res is None:
        return
    field = st.radio("Colour", ["phi", "pmi", "lift"], horizontal=True, key=f"w_{key}_field")
    pairs = res["pairs"]
    inside = [p for p in pairs if p["b"] in set(cells)]
    # the heatmap: the query cells with each other and the 30 partners of largest |phi|
    partners = sorted((p for p in pairs if p["phi"] is not None), key=lambda p: -abs(p["phi"]))[:30]
    chart(cell_charts.coactivation_heatmap(inside + [p for p in partners if p not in inside], field), width="content")
    st.caption("Pairs by lift (docs/analysis.md §Co-activation); the heatmap shows the query cells with each other "
               "and their 30 partners of largest |phi|.")
    st.dataframe(pd.DataFrame(pairs[:200])[["a", "b", "lift", "pmi", "phi", "p_ab"]], hide_index=True, height=240)


def formula_section(path: str, cell: int) -> None:
    """The label formula (<= 3 terms) that best matches the on-set of the chosen cells."""
    s = state()
    n_cells = info(path)["n_cells"][s.source]
    picked = []
    if _param("formula") == "query" and _param("cells"):
        picked = sorted({int(x) for x in str(_param("cells")).split(",") if x.strip().isdigit()
                         and int(x) < n_cells})
    default = picked or [cell]
    c1, c2 = st.columns([4, 1])
    if "w_formula_cells" not in st.session_state:
        st.session_state["w_formula_cells"] = default
    cells = c1.multiselect("Cells (their joint on-set: every one on)", list(range(n_cells)), key="w_formula_cells")
    beam = int(c2.number_input("Beam", min_value=1, max_value=50, value=5, key="w_formula_beam"))
    if not cells:
        st.caption("Choose at least one cell.")
        return
    res = run_safely(explanation, path, s.source, tuple(sorted(cells)), float(s.threshold), beam)
    if res is None:
        return
    if res["best"] is None:
        st.info(f"No position has every chosen cell on at ≥ {s.threshold:.3f}.")
        return
    b = res["best"]
    st.markdown(f"**{b['formula']}**")
    m = st.columns(3)
    m[0].metric("IoU", f"{b['iou']:.3f}")
    m[1].metric("Precision", f"{b['precision']:.3f}")
    m[2].metric("Recall", f"{b['recall']:.3f}")
    st.caption(f"{res['target']:,} positions with every cell on at ≥ {s.threshold:.3f}; beam search over "
               f"{res['primitives']} primitives (label of a categorical track at the position or shifted "
               "by ±1, written track[+1]); Mu and Andreas 2020.")
    alt_rows = [{"formula": a["formula"], "iou": a["iou"], "precision": a["precision"], "recall": a["recall"]}
                for a in res["alternatives"]]
    if alt_rows:
        st.dataframe(pd.DataFrame(alt_rows), hide_index=True)


def render(path: str) -> None:
    s = state()
    inf = info(path)
    st.markdown(f"#### Cell · {public.project_title(inf['name'], s.project)} · `{s.source}`")
    # one view at a time (only the chosen one is computed); a label link opens the ranking
    if "w_cell_view" not in st.session_state:
        wanted = _param("view") or ("ranking" if _param("rtrack") else "profile")
        st.session_state["w_cell_view"] = wanted if wanted in VIEWS else "profile"
    view = st.segmented_control("View", list(VIEWS), format_func=lambda v: VIEWS.get(v, v), key="w_cell_view",
                                label_visibility="collapsed") or "profile"
    track = label = None
    cell = int(st.session_state.get("w_cell", _param("cell") or 0))
    if view == "profile":
        cell = profile_section(path)
    elif view == "ranking":
        track, label = ranking_section(path)
    else:
        cell = _cell_only(path)
        formula_section(path, cell)
    extra = {"formula": _param("formula"), "cells": _param("cells")} if view == "formula" else {}
    sync_cell_url({**extra, "view": view, "cell": cell, "rtrack": track or _param("rtrack"),
                   "rlabel": label or _param("rlabel")})


def _cell_only(path: str) -> int:
    c0, _ = st.columns([1, 2])
    with c0:
        return cell_number(path)


__all__ = ["CELL_KEYS", "cell_link", "coactivation_section", "formula_link", "label_link", "render"]
