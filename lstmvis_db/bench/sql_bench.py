"""Benchmark of the plain-SQL match and, on request, of the Spark engine (docs/sql.md,
docs/scale.md): the same hypothesis as the compiled path's first query, timed beside it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb


def _seconds(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def _plain_sql(p: Any, db: Path, args: tuple, repeat: int, memory: str | None) -> float:
    statements = [s for s in p.match_sql(*args).split(";\n") if s.strip()][:2]
    config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory} if memory else {}
    with duckdb.connect(str(db), read_only=True, config=config) as con:
        con.execute("SET enable_progress_bar = false")  # stdout may carry JSON

        def sql_match() -> None:
            for s in statements:
                con.sql(s).fetchall()

        return 1000 * _seconds(sql_match, min(repeat, 3))


def _inside_bucket(p: Any, src: str, t: float) -> float:
    """The middle of the 14-bit bucket holding ``t``: a threshold whose bucket's values the
    plain-SQL match must look up in the exact rows (a bucket edge needs none; docs/sql.md)."""
    q = p.catalog.sources[src].quant
    j, _ = q.threshold_bucket(t)
    return float(q.boundary(j)) + q.step / 2


def _spark(p: Any, workdir: Path, args: tuple, want: dict, repeat: int, log: Callable[[str], None]) -> dict:
    from lstmvis_db.parquet import duckdb_engine
    from lstmvis_db.spark import engine

    log("export to Parquet ...")
    ds_dir = workdir / "dataset"
    t0 = time.perf_counter()
    p.export(ds_dir)
    out: dict = {"export_s": time.perf_counter() - t0}
    for cores in (1, 2):
        engine.stop()
        os.environ["LSTMVIS_SPARK_MASTER"] = f"local[{cores}]"
        engine.session()
        log(f"Spark match, {cores} core(s) ...")
        if engine.match(str(ds_dir), *args) != want:
            raise AssertionError("the Spark engine disagrees with the project file")
        out[f"spark_{cores}_match_ms"] = 1000 * _seconds(lambda: engine.match(str(ds_dir), *args), min(repeat, 3))
    engine.stop()
    os.environ.pop("LSTMVIS_SPARK_MASTER", None)
    out["parquet_duckdb_match_ms"] = 1000 * _seconds(lambda: duckdb_engine.match(str(ds_dir), *args), min(repeat, 3))
    return out


def run(p: Any, db: Path, workdir: Path, query: dict, repeat: int, spark: bool, log: Callable[[str], None],
        memory: str | None = None) -> dict:
    """``sql_match_ms`` (both statements of ``match --sql`` in plain DuckDB on the file, with
    DuckDB's ``memory_limit`` ``memory`` where given) and, with ``spark``, the export and the
    Spark and DuckDB engines over the Parquet dataset."""
    src = "states::states1"
    args = (src, query["cells"], query["t"], query["cl"], query["cr"])
    want = p.match(*args)
    out: dict = {"sql_query": query["name"]}
    log("plain-SQL match ...")
    out["sql_match_ms"] = _plain_sql(p, db, args, repeat, memory)
    inside = _inside_bucket(p, src, query["t"])
    log(f"plain-SQL match, t = {inside!r} inside a bucket ...")
    out["sql_inside_t"] = inside
    out["sql_match_inside_ms"] = _plain_sql(p, db, (src, query["cells"], inside, query["cl"], query["cr"]), repeat,
                                            memory)
    if spark:
        out.update(_spark(p, workdir, args, want, repeat, log))
    return out
