"""``lstmvis-db export --parquet DIR``: a project file as the Parquet dataset of ``dataset``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from lstmvis_db.errors import InputError
from lstmvis_db.parquet.dataset import CHUNK_POSITIONS, Dataset, DatasetSource
from lstmvis_db.queries import Catalog
from lstmvis_db.sqltext import sql_literal


def chunk_of_documents(first: np.ndarray, last: np.ndarray, target: int = CHUNK_POSITIONS) -> np.ndarray:
    """Chunk number of each document: consecutive whole documents, a new chunk once the
    current one holds ``target`` positions or more."""
    chunk = np.zeros(len(first), dtype=np.int32)
    k, size = 0, 0
    for i, (a, b) in enumerate(zip(first, last, strict=True)):
        if size >= target:
            k, size = k + 1, 0
        chunk[i] = k
        size += int(b - a + 1)
    return chunk


def _copy(cur, query: str, target: Path, partition: bool) -> None:
    opts = "FORMAT parquet, COMPRESSION zstd" + (", PARTITION_BY (chunk)" if partition else "")
    cur.execute(f"COPY ({query}) TO {sql_literal(str(target))} ({opts})")


def export_parquet(cat: Catalog, out: str | Path, chunk_positions: int = CHUNK_POSITIONS) -> Dataset:
    """Write the dataset into ``out`` (a new folder), atomically: built under a temporary name
    and moved into place when complete."""
    out = Path(out)
    sparse = [s.source for s in cat.sources.values() if s.sparse]
    if sparse:  # the dataset's states are one rows array per position (docs/scale.md)
        raise InputError(f"source {sparse[0]!r} is sparse: the Parquet export holds dense sources only")
    if out.exists():
        raise InputError(f"{out} already exists; give a new folder for the dataset")
    if not out.parent.is_dir():
        raise InputError(f"folder {out.parent} does not exist")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        ds = _write(cat, tmp, out, chunk_positions)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ds


def _writer(cat: Catalog) -> duckdb.DuckDBPyConnection:
    """A connection that may write files: the project (already opened and checked by ``cat``)
    attached read-only to a fresh in-memory DuckDB of our own."""
    if not cat.path:
        raise InputError("export needs a project opened from a file")
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH {sql_literal(str(cat.path))} AS project (READ_ONLY)")
    con.execute("USE project")
    con.execute("SET enable_progress_bar = false")
    return con


def _write(cat: Catalog, tmp: Path, out: Path, chunk_positions: int) -> Dataset:
    docs = cat.documents.copy()
    docs["chunk"] = chunk_of_documents(docs["first_pos"].to_numpy(), docs["last_pos"].to_numpy(), chunk_positions)
    with _writer(cat) as cur:
        cur.register("_docs", pa.Table.from_pandas(docs, preserve_index=False))
        cur.execute("COPY _docs TO ? (FORMAT parquet)", [str(tmp / "documents.parquet")])
        for table in ("project", "sources", "tracks"):
            cur.execute(f"COPY {table} TO ? (FORMAT parquet)", [str(tmp / f"{table}.parquet")])
        cur.execute("COPY (SELECT * FROM _idx.track_categories ORDER BY track, ord) TO ? (FORMAT parquet)",
                    [str(tmp / "track_categories.parquet")])
        (tmp / "predictions").mkdir()
        cur.execute("COPY (SELECT * FROM predictions ORDER BY source, pos, rank) TO ? (FORMAT parquet)",
                    [str(tmp / "predictions" / "part-0.parquet")])
        (tmp / "annotations").mkdir()
        cur.execute("COPY (SELECT * FROM annotations ORDER BY track, pos) TO ? (FORMAT parquet)",
                    [str(tmp / "annotations" / "part-0.parquet")])
        _copy(cur, "SELECT t.pos, t.doc, t.token, t.token_id, d.chunk FROM tokens t JOIN _docs d USING (doc) "
                   "ORDER BY t.pos", tmp / "tokens", partition=True)
        (tmp / "states").mkdir()
        sources = []
        for info in cat.sources.values():
            _copy(cur, f"SELECT r.pos, t.doc, r.v, d.chunk FROM _idx.rows_{int(info.sid)} r "
                       "JOIN tokens t USING (pos) JOIN _docs d USING (doc) ORDER BY r.pos",
                  tmp / "states" / f"sid={int(info.sid)}", partition=True)
            sources.append(DatasetSource(info.source, int(info.sid), int(info.n_cells)))
        cur.unregister("_docs")
    n_chunks = int(docs["chunk"].max()) + 1 if len(docs) else 0
    ds = Dataset(out, str(cat_name(cat)), int(cat.n_positions), len(docs), n_chunks, tuple(sources))
    (tmp / "manifest.json").write_text(json.dumps(ds.manifest(), indent=1), encoding="utf-8")
    return ds


def cat_name(cat: Catalog) -> str:
    with cat.cursor() as cur:
        row = cur.execute("SELECT value FROM project WHERE key = 'name'").fetchone()
    return str(row[0]) if row else ""
