"""Cached queries: bounded ``st.cache_data`` wrappers around the open project's read methods,
keyed on the file path and the parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from lstmvis_db import views
from lstmvis_db.types import InfoResult, MatchResult, SearchHit

from .constants import LEFT_CONTEXT, MATCH_RIGHT
from .resources import open_project


class AppInfo(InfoResult):
    """``info`` plus what the pages read on every rerun: metadata, tables, per-source details."""

    meta: dict[str, str]
    tracks_df: pd.DataFrame
    documents_df: pd.DataFrame
    unsigned: dict[str, bool]
    n_cells: dict[str, int]
    value_range: dict[str, tuple[float, float]]


@st.cache_data(max_entries=32, show_spinner=False)
def info(path: str) -> AppInfo:
    p = open_project(path)
    details = p.source_details()
    return AppInfo(
        **p.info(), meta=p.meta(), tracks_df=p.tracks(), documents_df=p.documents,
        unsigned={s["source"]: s["unsigned"] for s in details},
        n_cells={s["source"]: s["n_cells"] for s in details},
        value_range={s["source"]: (s["min_value"], s["max_value"]) for s in details},
    )


def window(path: str, source: str, lo: int, hi: int) -> np.ndarray:
    """The window's values; of a sparse source only the entries are cached (a wide source's dense
    windows would fill the cache), the dense window is made again on each run."""
    from lstmvis_db import sparsereads

    cat = open_project(path).catalog
    if source in cat.sources and cat.sources[source].sparse:
        lo, hi = max(0, int(lo)), min(cat.n_positions - 1, int(hi))
        sparsereads.check_width(hi - lo + 1, cat.sources[source])
        return sparsereads.densify(*_sparse_entries(path, source, lo, hi), lo, hi, cat.sources[source].n_cells)
    return _dense_window(path, source, lo, hi)


@st.cache_data(max_entries=64, show_spinner=False)
def _dense_window(path: str, source: str, lo: int, hi: int) -> np.ndarray:
    return open_project(path).window(source, lo, hi)


@st.cache_data(max_entries=64, show_spinner=False)
def _sparse_entries(path: str, source: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return open_project(path).sparse_entries(source, lo, hi)


@st.cache_data(max_entries=64, show_spinner=False)
def tokens(path: str, lo: int, hi: int) -> pd.DataFrame:
    return open_project(path).tokens(lo, hi)


@st.cache_data(max_entries=128, show_spinner=False)
def track_annotations(path: str, track: str, lo: int, hi: int) -> pd.DataFrame:
    return open_project(path).annotations(track, np.arange(lo, hi + 1))


@st.cache_data(max_entries=64, show_spinner=False)
def predictions(path: str, track: str, lo: int, hi: int) -> pd.DataFrame:
    return open_project(path).predictions(track, lo, hi)


@st.cache_data(max_entries=256, show_spinner=False)
def select(path: str, source: str, start: int, end: int, threshold: float, left: int, right: int) -> list[int]:
    return open_project(path).select(source, start, end, threshold, left, right)


@st.cache_data(max_entries=64, show_spinner=False)
def match(path: str, source: str, cells: tuple[int, ...], threshold: float, cl: bool, cr: bool, length: int,
          limit: int, pool: int | None) -> MatchResult:
    return open_project(path).match(source, list(cells), threshold, cl, cr, length, limit, pool)


@st.cache_data(max_entries=64, show_spinner=False)
def match_details(path: str, source: str, cells: tuple[int, ...], threshold: float,
                  starts: tuple[tuple[int, int], ...], only: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Per (result, step): token, count of ``cells`` on, and one ``track_i`` column per
    categorical/scalar track (``views.track_fields``; with ``only``, those tracks)."""
    ms = [{"start": s, "length": ln} for s, ln in starts]
    df = open_project(path).match_details(source, list(cells), threshold, ms, LEFT_CONTEXT, MATCH_RIGHT,
                                          None if only is None else list(only))
    base = ["row", "start", "length", "offset", "pos", "in_match", "count", "token"]
    if not len(df):
        return pd.DataFrame(columns=base)
    tdf = info(path)["tracks_df"]
    names = [n for n in tdf[tdf["kind"] != "topk"]["track"].tolist() if only is None or n in only]
    # the core names a track column after the track, or "<name> (track)" if that is a base column
    core_name = {n: (f"{n} (track)" if n in base else n) for n in names}
    return df.rename(columns={core_name[n]: field for n, field in views.track_fields(names).items()})


@st.cache_data(max_entries=64, show_spinner=False)
def search(path: str, phrase: str | None, regex: str | None, limit: int = 30) -> list[SearchHit]:
    return open_project(path).search(phrase=phrase, regex=regex, limit=limit)


@st.cache_data(max_entries=32, show_spinner=False, ttl=600)
def sql(path: str, query: str) -> pd.DataFrame:
    from .sql_page import console_limits

    return open_project(path).sql(query, **console_limits())
