"""The SQL console: the table reference and the example queries."""

from __future__ import annotations

from typing import TypedDict

import pandas as pd
import streamlit as st

from lstmvis_db import views
from lstmvis_db.sqlguard import operator_max
from lstmvis_db.views import ViewState

from .cached import info
from .resources import open_project


class ConsoleLimits(TypedDict):
    timeout: float
    max_rows: int
    memory_mb: int


def console_limits() -> ConsoleLimits:
    """What the page asks for each query: 10 s, 10,000 rows, 256 MB, or less where the
    operator's maxima (``LSTMVIS_SQL_MAX_*``) are lower."""
    return {"timeout": min(10.0, operator_max("LSTMVIS_SQL_MAX_SECONDS")),
            "max_rows": int(min(10_000, operator_max("LSTMVIS_SQL_MAX_ROWS"))),
            "memory_mb": int(min(256, operator_max("LSTMVIS_SQL_MAX_MB")))}


def console_caption() -> str:
    lim = console_limits()
    return (f"Read-only: one SELECT (or EXPLAIN of one) per run; no writes, files, settings or extensions. "
            f"Each query runs on its own: stopped after {lim['timeout']:g} s or {lim['memory_mb']} MB, "
            f"cut at {lim['max_rows']:,} rows.")


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
