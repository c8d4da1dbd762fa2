"""``align`` over an exported dataset (docs/scale.md): the match set from an engine (DuckDB or
Spark), the statistics from ``lstmvis_db.analysis`` over the dataset's tables, so the JSON is
the one ``align --db`` prints for the same project."""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np

from lstmvis_db.analysis import align as analysis_align
from lstmvis_db.analysis.corpus import corpus
from lstmvis_db.analysis.spans import SETS, Spans, read_spans
from lstmvis_db.errors import QueryError
from lstmvis_db.parquet.dataset import Dataset, open_dataset
from lstmvis_db.sqltext import sql_literal

#: view name -> (file or folder of the dataset, hive partitions)
_TABLES = {"documents": "documents.parquet", "tokens": "tokens/*/*.parquet", "tracks": "tracks.parquet",
           "annotations": "annotations/*.parquet", "predictions": "predictions/*.parquet",
           "_idx.track_categories": "track_categories.parquet"}


class DatasetTables:
    """The tables the align statistics read, as views over the dataset's Parquet files in an
    in-memory DuckDB, with the attributes of ``queries.Catalog`` they use (``n_positions``,
    ``doc_first``, ``doc_last``, ``cursor()``, ``_cache``)."""

    def __init__(self, ds: Dataset) -> None:
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute("CREATE SCHEMA _idx")
        for view, rel in _TABLES.items():
            src = sql_literal(str(ds.root / rel))
            self.con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({src}, hive_partitioning = false)")
        docs = self.con.sql("SELECT first_pos, last_pos FROM documents ORDER BY doc").fetchnumpy()
        self.doc_first = np.asarray(docs["first_pos"], dtype=np.int64)
        self.doc_last = np.asarray(docs["last_pos"], dtype=np.int64)
        self.n_positions = ds.positions
        self._cache: dict = {}

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.con.cursor()

    def close(self) -> None:
        self.con.close()


def _engine(name: str) -> Any:
    if name == "spark":
        from lstmvis_db.spark import engine as spark_engine

        return spark_engine
    if name == "duckdb":
        from lstmvis_db.parquet import duckdb_engine

        return duckdb_engine
    raise QueryError(f"unknown engine {name!r}; engines: duckdb, spark")


def match_set(engine_name: str, root: str, source: str, cells: object, threshold: float, constrain_left: bool,
              constrain_right: bool, length: int, set_kind: str, limit: int) -> Spans:
    """The match set of one hypothesis, computed by the engine (as ``analysis.spans.match_set``)."""
    if set_kind not in SETS:
        raise QueryError(f"unknown match set {set_kind!r}; sets: {', '.join(SETS)}")
    engine = _engine(engine_name)
    if set_kind == "top":
        ms = engine.match(root, source, cells, threshold, constrain_left, constrain_right, length, limit)["matches"]
        sp = Spans("top", np.array([m["start"] for m in ms], dtype=np.int64),
                   np.array([m["length"] for m in ms], dtype=np.int64), ms)
    else:
        c = engine.candidates(root, source, cells, threshold, constrain_left, constrain_right, length)
        keep = np.ones(len(c), dtype=bool) if set_kind == "all" else c["missing"].to_numpy() == 0
        sp = Spans(set_kind, c["start"].to_numpy(np.int64)[keep], c["length"].to_numpy(np.int64)[keep])
    if len(sp) == 0:
        raise QueryError(f"the match set ({set_kind}) is empty: these cells at this threshold have no matches")
    return sp


def align(root: str, engine: str = "duckdb", source: str | None = None, cells: object = None,
          threshold: float | None = None, constrain_left: bool = True, constrain_right: bool = False,
          length: int = 0, set_kind: str = "top", limit: int = 50, spans: object = None,
          tracks: list[str] | None = None, conditions: object = None) -> analysis_align.AlignResult:
    """The dict of ``align --json`` for a hypothesis (or a span file) over the dataset ``root``."""
    ds = open_dataset(root)
    tables = DatasetTables(ds)
    try:
        if spans is not None:
            sp = read_spans(str(spans), corpus(tables))  # type: ignore[arg-type]
        elif source is None or cells is None or threshold is None:
            raise QueryError("give a source, cells and a threshold, or a list of spans")
        else:
            sp = match_set(engine, root, source, cells, threshold, constrain_left, constrain_right, length,
                           set_kind, limit)
        return analysis_align.align(tables, spans=sp, tracks=tracks, conditions=conditions)  # type: ignore[arg-type]
    finally:
        tables.close()
