"""The Spark session and select/match over an exported dataset with Spark SQL/DataFrames."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from lstmvis_db.errors import InputError, QueryError
from lstmvis_db.parquet.checks import check_cells, check_match_options, check_threshold
from lstmvis_db.parquet.dataset import Dataset, open_dataset
from lstmvis_db.spark.partition import CANDIDATE_SCHEMA, OUTPUT_SCHEMA, candidates_chunk, match_chunk

_SESSION: Any = None


def _pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise InputError("the Spark engine needs pyspark: pip install -r requirements-spark.txt") from None
    return pyspark.sql


def session(cores: int | None = None) -> Any:
    """A local-mode SparkSession (one per process; ``cores``: local threads, default all)."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    sql = _pyspark()
    _check_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    master = os.environ.get("LSTMVIS_SPARK_MASTER") or f"local[{cores or '*'}]"
    builder = (sql.SparkSession.builder.master(master).appName("lstmvis-db")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "8").config("spark.driver.memory", "2g"))
    try:
        _SESSION = builder.getOrCreate()
    except Exception as e:  # noqa: BLE001 - the JVM did not start: say why in one line
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(f"Spark did not start ({first}); check that Java 17 works (`java -version`)") from None
    _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


def _check_java() -> None:
    """Java 17 must be there before Spark tries to start it (else a long JVM-launch traceback)."""
    home = os.environ.get("JAVA_HOME")
    if home:
        if not os.access(os.path.join(home, "bin", "java"), os.X_OK):
            raise InputError(f"JAVA_HOME={home} has no bin/java: point JAVA_HOME at a Java 17 installation "
                             "(e.g. /usr/lib/jvm/java-17-openjdk-amd64) or unset it")
    elif not shutil.which("java"):
        raise InputError("the Spark engine needs Java 17 (no `java` on PATH and no JAVA_HOME): "
                         "apt-get install openjdk-17-jre-headless")


def stop() -> None:
    global _SESSION
    if _SESSION is not None:
        _SESSION.stop()
        _SESSION = None


def _states(spark: Any, ds: Dataset, source: str) -> Any:
    return spark.read.parquet(str(ds.states_dir(ds.source(source))))


def select(root: str, source: str, start: int, end: int, threshold: float, left_off: int = 1,
           right_off: int = 0) -> list[int]:
    """Cells on over [start, end] and off in the padding (Spark SQL over the rows around it)."""
    ds = open_dataset(root)
    t = check_threshold(threshold)
    start, end = int(start), int(end)
    if not (0 <= start <= end < ds.positions):
        raise QueryError(f"range {start}..{end} is outside the corpus (positions 0..{ds.positions - 1}) or inverted")
    if int(left_off) < 0 or int(right_off) < 0:
        raise QueryError(f"off-padding widths must be integers >= 0, got left {left_off!r}, right {right_off!r}")
    spark = session()
    docs = spark.read.parquet(str(ds.root / "documents.parquet"))
    doc = docs.where(f"first_pos <= {start} AND last_pos >= {start}").collect()
    if not doc or doc[0]["last_pos"] < end:
        raise QueryError(f"range {start}..{end} crosses a document boundary")
    lo = max(int(doc[0]["first_pos"]), start - int(left_off))
    hi = min(int(doc[0]["last_pos"]), end + int(right_off))
    _states(spark, ds, source).where(f"pos BETWEEN {lo} AND {hi}").createOrReplaceTempView("_lv_rows")
    rows = spark.sql(
        f"SELECT cell FROM (SELECT pos, posexplode(v) AS (cell, value) FROM _lv_rows) GROUP BY cell "
        f"HAVING bool_and(CASE WHEN pos BETWEEN {start} AND {end} THEN CAST(value AS DOUBLE) >= {t!r} "
        f"ELSE CAST(value AS DOUBLE) < {t!r} END) ORDER BY cell").collect()
    return [int(r["cell"]) for r in rows]


def match(root: str, source: str, cells: object, threshold: float, constrain_left: bool = True,
          constrain_right: bool = False, length: int = 0, limit: int = 50) -> dict:
    """The dict of ``match --json``: one task per chunk, then a global ranking and the summed
    histograms in Spark."""
    ds = open_dataset(root)
    src = ds.source(source)
    t = check_threshold(threshold)
    sel = check_cells(src, cells)
    length, limit = check_match_options(length, limit)
    if not sel:
        return {"matches": [], "histogram": {"fuzzy": {}, "strict": {}}, "candidates": 0}
    spark = session()
    from pyspark.sql import functions as F

    n_cells, cl, cr = src.n_cells, bool(constrain_left), bool(constrain_right)

    def task(rows: Any) -> Any:
        return match_chunk(rows[["pos", "doc", "v"]], sel, n_cells, t, cl, cr, length, limit)

    parts = _states(spark, ds, source).groupBy("chunk").applyInPandas(task, OUTPUT_SCHEMA).cache()
    try:
        top = (parts.where("kind = 'match'")
               .orderBy(F.desc("intersection"), F.asc("union"), F.desc("length"), F.asc("start"))
               .limit(limit).collect())
        hist = parts.where("kind <> 'match'").groupBy("kind", "length").agg(F.sum("n").alias("n")).collect()
    finally:
        parts.unpersist()
    m = len(sel)
    fuzzy = {int(r["length"]): int(r["n"]) for r in hist if r["kind"] == "fuzzy"}
    strict = {int(r["length"]): int(r["n"]) for r in hist if r["kind"] == "strict"}
    return {
        "matches": [{"start": int(r["start"]), "length": int(r["length"]), "intersection": int(r["intersection"]),
                     "union": int(r["union"]), "jaccard": float(r["intersection"] / r["union"]) if r["union"] else 0.0,
                     "missing": m - int(r["intersection"])} for r in top],
        "histogram": {"fuzzy": {str(k): fuzzy[k] for k in sorted(fuzzy)},
                      "strict": {str(k): strict[k] for k in sorted(strict)}},
        "candidates": sum(fuzzy.values()),
    }


def candidates(root: str, source: str, cells: object, threshold: float, constrain_left: bool = True,
               constrain_right: bool = False, length: int = 0) -> Any:
    """Every scored candidate (start, length, missing) as a pandas frame in the project file's
    order: one task per chunk, collected in chunk order."""
    ds = open_dataset(root)
    src = ds.source(source)
    t = check_threshold(threshold)
    sel = check_cells(src, cells)
    length, _ = check_match_options(length, 1)
    spark = session()
    n_cells, cl, cr = src.n_cells, bool(constrain_left), bool(constrain_right)

    def task(key: Any, rows: Any) -> Any:
        return candidates_chunk(rows[["pos", "doc", "v"]], int(key[0]), sel, n_cells, t, cl, cr, length)

    got = _states(spark, ds, source).groupBy("chunk").applyInPandas(task, CANDIDATE_SCHEMA).toPandas()
    return got.sort_values(["chunk", "ord"], kind="stable").reset_index(drop=True)
