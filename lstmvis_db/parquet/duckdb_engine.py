"""select and match over an exported dataset in DuckDB: the plain-SQL statements of
``lstmvis_db.sqlmatch`` over ``read_parquet`` relations.  The reference for the Spark engine."""

from __future__ import annotations

import duckdb
import pandas as pd

from lstmvis_db.errors import QueryError
from lstmvis_db.parquet.checks import check_cells, check_match_options, check_threshold
from lstmvis_db.parquet.dataset import Dataset, open_dataset
from lstmvis_db.sqlmatch.generate import SourceRows, match_sql, select_sql
from lstmvis_db.sqltext import sql_literal


def _rows(ds: Dataset, source: str) -> tuple[SourceRows, str]:
    src = ds.source(source)
    glob = sql_literal(str(ds.states_dir(src) / "*" / "*.parquet"))
    return SourceRows(src.source, src.sid, src.n_cells), f"read_parquet({glob}, hive_partitioning = false)"


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    return con


def _documents(ds: Dataset) -> str:
    return f"read_parquet({sql_literal(str(ds.root / 'documents.parquet'))})"


def _first_line(e: duckdb.Error) -> str:
    return str(e).splitlines()[0]


def select(root: str, source: str, start: int, end: int, threshold: float, left_off: int = 1,
           right_off: int = 0) -> list[int]:
    ds = open_dataset(root)
    src, rows = _rows(ds, source)
    t = check_threshold(threshold)
    if not (0 <= int(start) <= int(end) < ds.positions):
        raise QueryError(f"range {start}..{end} is outside the corpus (positions 0..{ds.positions - 1}) or inverted")
    if int(left_off) < 0 or int(right_off) < 0:
        raise QueryError(f"off-padding widths must be integers >= 0, got left {left_off!r}, right {right_off!r}")
    text = select_sql(src, int(start), int(end), t, int(left_off), int(right_off), rows=rows, documents=_documents(ds))
    with _connect() as con:
        try:
            return [int(r[0]) for r in con.sql(text.rstrip().rstrip(";")).fetchall()]
        except duckdb.Error as e:
            raise QueryError(_first_line(e).removeprefix("Invalid Input Error: ")) from None


def match(root: str, source: str, cells: object, threshold: float, constrain_left: bool = True,
          constrain_right: bool = False, length: int = 0, limit: int = 50) -> dict:
    """The dict of ``match --json``, computed in DuckDB SQL over the Parquet files."""
    ds = open_dataset(root)
    src, rows = _rows(ds, source)
    t = check_threshold(threshold)
    sel = check_cells(ds.source(source), cells)
    length, limit = check_match_options(length, limit)
    if not sel:
        return {"matches": [], "histogram": {"fuzzy": {}, "strict": {}}, "candidates": 0}
    top_sql, hist_sql = [s for s in match_sql(src, sel, t, bool(constrain_left), bool(constrain_right), length,
                                              limit, rows=rows).split(";\n") if s.strip()][:2]
    with _connect() as con:
        top = con.sql(top_sql).fetchall()
        hist = con.sql(hist_sql).fetchall()
    keys = ("start", "length", "intersection", "union", "jaccard", "missing")
    return {
        "matches": [dict(zip(keys, r[1:], strict=True)) for r in top],
        "histogram": {"fuzzy": {str(a): int(b) for a, b, _ in hist},
                      "strict": {str(a): int(c) for a, _, c in hist if c}},
        "candidates": int(sum(b for _, b, _ in hist)),
    }


def candidates(root: str, source: str, cells: object, threshold: float, constrain_left: bool = True,
               constrain_right: bool = False, length: int = 0) -> pd.DataFrame:
    """Every scored candidate (start, length, missing), in the project file's order: DuckDB reads
    each chunk, the per-chunk matcher (``spark.partition``, numpy only) finds its candidates."""
    from lstmvis_db.spark.partition import candidates_chunk

    ds = open_dataset(root)
    src = ds.source(source)
    t = check_threshold(threshold)
    sel = check_cells(src, cells)
    length, _ = check_match_options(length, 1)
    parts = []
    with _connect() as con:
        for k in range(ds.chunks):
            folder = ds.states_dir(src) / f"chunk={k}"
            if not folder.is_dir():
                continue
            glob = sql_literal(str(folder / "*.parquet"))
            rows = con.sql(f"SELECT pos, doc, v FROM read_parquet({glob}, hive_partitioning = false)").df()
            parts.append(candidates_chunk(rows, k, sel, src.n_cells, t, bool(constrain_left), bool(constrain_right),
                                          length))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"start": [], "length": [], "missing": []})
