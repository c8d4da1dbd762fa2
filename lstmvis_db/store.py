"""Write side of the project file: schema, atomic bulk ingest, connections.

A project is one DuckDB file (docs/data-model.md §Public tables).  ``write_project`` builds it under a temporary
name beside the target and renames it into place only when complete, so a failed import
leaves nothing behind and never damages an existing file.  Every table is built by one
statement from an Arrow stream, which keeps ingest fast and the file free of dead blocks.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from lstmvis_db import __version__, projectfile
from lstmvis_db.checks import check_output_path
from lstmvis_db.errors import InputError
from lstmvis_db.hygiene import remove_db as _remove_db
from lstmvis_db.hygiene import remove_dead_temps, sigterm_exits
from lstmvis_db.hygiene import temp_path as _temp_path
from lstmvis_db.matching.quant import Quantizer
from lstmvis_db.progress import Progress  # re-exported: ``store.Progress`` is the same class
from lstmvis_db.sqltext import sql_literal
from lstmvis_db.types import Document, ProjectData, Source, Track

VERSION = __version__  # the one version of the package (lstmvis_db/__init__.py)
FORMAT_VERSION = projectfile.FORMAT_VERSION  # bump there when the physical layout changes
ROW_GROUP_ROWS = 143_360  # 70 x 2048 rows: 14-bit bitpacked segments just fit a 256 KiB block
# Ingest batches: half a row group.  A parallel insert from batches that do not divide the row
# group size flushes short row groups (64k batches gave 128k groups, and 13% more index blocks).
CHUNK_ROWS = ROW_GROUP_ROWS // 2
_NAME_RE = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def memory_limit() -> str:
    """DuckDB's memory limit for our connections: ``LSTMVIS_MEMORY_LIMIT``, else a quarter of
    the memory this process may use (the cgroup limit in a container), between 256 MB and 4 GB.
    DuckDB's own default (80% of the host's memory) is too much inside a small container."""
    if os.environ.get("LSTMVIS_MEMORY_LIMIT"):
        return os.environ["LSTMVIS_MEMORY_LIMIT"]
    total = float("inf")
    with contextlib.suppress(OSError, ValueError):
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    with contextlib.suppress(OSError, ValueError):  # "max" (no limit) raises ValueError
        total = min(total, int(Path("/sys/fs/cgroup/memory.max").read_text().strip()))
    quarter = 4 * 2**30 if total == float("inf") else int(total // 4)
    return f"{max(256, min(4096, quarter // 2**20))}MB"


def schema_statements() -> dict[str, str]:
    """The named statements of ``schema.sql``."""
    text = resources.files("lstmvis_db").joinpath("schema.sql").read_text(encoding="utf-8")
    parts = _NAME_RE.split(text)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}




# --------------------------------------------------------------------------- validation


def _check_documents(docs: Sequence[Document] | None, n: int) -> list[Document]:
    if not docs:
        return [Document("document 0", 0, n - 1)]
    expected = 0
    out = []
    for i, d in enumerate(docs):
        if d.first_pos != expected or d.last_pos < d.first_pos:
            raise InputError(
                f"documents[{i}] ({d.name!r}) spans {d.first_pos}..{d.last_pos}; documents must "
                f"be non-empty, in order and contiguous (expected first_pos {expected})"
            )
        expected = d.last_pos + 1
        out.append(d)
    if expected != n:
        raise InputError(f"documents end at position {expected - 1} but there are {n} tokens")
    return out


def _source_shape(src: Source, n: int) -> int:
    shape = getattr(src.values, "shape", None)
    if shape is None or len(shape) != 2:
        raise InputError(f"source {src.source!r}: states must be a 2-D (positions x cells) array, got shape {shape}")
    if shape[0] != n:
        raise InputError(f"source {src.source!r}: {shape[0]} state rows but {n} tokens")
    if shape[1] < 1:
        raise InputError(f"source {src.source!r}: no cells")
    if src.transform not in ("tanh", "none"):
        raise InputError(f"source {src.source!r}: transform must be 'tanh' or 'none', got {src.transform!r}")
    return int(shape[1])


def _validate(data: ProjectData) -> tuple[int, list[Document]]:
    n = len(data.tokens)
    if n < 1:
        raise InputError("the project has no tokens")
    if not data.name:
        raise InputError("the project has no name")
    if data.token_ids is not None and len(data.token_ids) != n:
        raise InputError(f"token_ids has {len(data.token_ids)} entries but there are {n} tokens")
    docs = _check_documents(data.documents, n)
    names = [s.source for s in data.sources]
    if len(set(names)) != len(names):
        raise InputError(f"duplicate source names in {names}")
    for s in data.sources:
        if not s.source:
            raise InputError("a source has an empty name")
        _source_shape(s, n)
    tnames = [t.track for t in data.tracks]
    if len(set(tnames)) != len(tnames):
        raise InputError(f"duplicate track names in {tnames}")
    for t in data.tracks:
        _check_track(t, n)
    return n, docs


def _check_track(t: Track, n: int) -> None:
    if t.kind == "categorical":
        if t.labels is None or len(t.labels) != n:
            got = None if t.labels is None else len(t.labels)
            raise InputError(f"track {t.track!r}: categorical track needs {n} labels, got {got}")
    elif t.kind == "scalar":
        if t.values is None or len(t.values) != n:
            got = None if t.values is None else len(t.values)
            raise InputError(f"track {t.track!r}: scalar track needs {n} values, got {got}")
    elif t.kind == "topk":
        tok, sc = t.topk_tokens, t.topk_scores
        if tok is None or sc is None or np.shape(tok) != np.shape(sc) or len(np.shape(tok)) != 2 or np.shape(tok)[0] != n:
            raise InputError(
                f"track {t.track!r}: topk track needs tokens and scores of shape ({n}, k), "
                f"got {None if tok is None else np.shape(tok)} and {None if sc is None else np.shape(sc)}"
            )
    else:
        raise InputError(f"track {t.track!r}: kind must be categorical, scalar or topk, got {t.kind!r}")


# --------------------------------------------------------------------------- arrow streams


def _chunk_values(src: Source, a: int, b: int) -> np.ndarray:
    """Rows a..b-1 of a source after its transform, as float32, checked finite."""
    raw = np.asarray(src.values[a:b])
    if raw.dtype.kind not in "fiu":  # object, text, bool, complex: not states
        raise InputError(f"source {src.source!r}: states must be numbers (float or int), got dtype {raw.dtype}")
    block = raw.astype(np.float32)
    if not np.isfinite(block).all():  # checked before the transform: tanh(inf) would hide it
        bad = np.argwhere(~np.isfinite(block))[0]
        raise InputError(
            f"source {src.source!r}: non-finite value {block[bad[0], bad[1]]} at position {a + int(bad[0])}, cell {int(bad[1])}"
        )
    if src.transform == "tanh":
        block = np.tanh(block)
    return np.ascontiguousarray(block)


def _rows_reader(src: Source, n: int, d: int, stats: dict, progress: Progress, label: str) -> pa.RecordBatchReader:
    schema = pa.schema([("pos", pa.int32()), ("v", pa.list_(pa.float32(), d))])

    def batches() -> Iterator[pa.RecordBatch]:
        lo, hi = math.inf, -math.inf
        for a in range(0, n, CHUNK_ROWS):
            b = min(n, a + CHUNK_ROWS)
            try:
                block = _chunk_values(src, a, b)
            except Exception as e:  # DuckDB wraps errors raised inside a stream; keep ours
                stats["error"] = e
                raise
            lo, hi = min(lo, float(block.min())), max(hi, float(block.max()))
            v = pa.FixedSizeListArray.from_arrays(pa.array(block.reshape(-1)), d)
            yield pa.record_batch([pa.array(np.arange(a, b, dtype=np.int32)), v], schema=schema)
            progress(label, 0.5 * b / n)
        stats["min"], stats["max"] = lo, hi

    return pa.RecordBatchReader.from_batches(schema, batches())


def _quantized_reader(src: Source, n: int, d: int, quant: Quantizer, progress: Progress, label: str) -> pa.RecordBatchReader:
    names = ["pos"] + [f"c{j}" for j in range(d)]
    schema = pa.schema([("pos", pa.int32())] + [(c, pa.uint16()) for c in names[1:]])

    def batches() -> Iterator[pa.RecordBatch]:
        for a in range(0, n, CHUNK_ROWS):
            b = min(n, a + CHUNK_ROWS)
            q = np.asfortranarray(quant.bucket(_chunk_values(src, a, b)))
            cols = [pa.array(np.arange(a, b, dtype=np.int32))] + [pa.array(q[:, j]) for j in range(d)]
            yield pa.record_batch(cols, schema=schema)
            progress(label, 0.5 + 0.5 * b / n)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _tokens_table(data: ProjectData, docs: list[Document], n: int) -> pa.Table:
    doc_of = np.repeat(np.arange(len(docs), dtype=np.int32), [d.last_pos - d.first_pos + 1 for d in docs])
    ids = np.full(n, -1, dtype=np.int64) if data.token_ids is None else np.asarray(data.token_ids, dtype=np.int64)
    tokens = [str(t) for t in data.tokens]
    return pa.table(
        {"pos": np.arange(n, dtype=np.int32), "doc": doc_of, "token": tokens, "token_id": ids.astype(np.int32)}
    )


def _annotations_table(tracks: Sequence[Track]) -> pa.Table:
    parts = []
    for t in tracks:
        if t.kind == "categorical":
            labels = [None if x is None or (isinstance(x, float) and math.isnan(x)) else str(x) for x in t.labels or []]
            pos = np.arange(len(labels), dtype=np.int32)
            keep = np.array([x is not None for x in labels])
            parts.append(pa.table({
                "track": pa.array([t.track] * int(keep.sum()), pa.string()),
                "pos": pos[keep],
                "label": pa.array([x for x in labels if x is not None], pa.string()),
                "value": pa.nulls(int(keep.sum()), pa.float64()),
            }))
        elif t.kind == "scalar":
            vals = np.asarray(t.values, dtype=np.float64)
            keep = np.isfinite(vals)
            parts.append(pa.table({
                "track": pa.array([t.track] * int(keep.sum()), pa.string()),
                "pos": np.flatnonzero(keep).astype(np.int32),
                "label": pa.nulls(int(keep.sum()), pa.string()),
                "value": vals[keep],
            }))
    if not parts:
        return pa.table({"track": pa.array([], pa.string()), "pos": pa.array([], pa.int32()),
                         "label": pa.array([], pa.string()), "value": pa.array([], pa.float64())})
    return pa.concat_tables(parts)


def _predictions_table(tracks: Sequence[Track]) -> pa.Table:
    parts = []
    for t in tracks:
        if t.kind != "topk":
            continue
        tok = np.asarray(t.topk_tokens, dtype=object)
        sc = np.asarray(t.topk_scores, dtype=np.float64)
        n, k = tok.shape
        parts.append(pa.table({
            "source": pa.array([t.track] * (n * k), pa.string()),
            "pos": np.repeat(np.arange(n, dtype=np.int32), k),
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), n),
            "token": pa.array([str(x) for x in tok.reshape(-1)], pa.string()),
            "score": sc.reshape(-1),
        }))
    if not parts:
        return pa.table({"source": pa.array([], pa.string()), "pos": pa.array([], pa.int32()),
                         "rank": pa.array([], pa.int32()), "token": pa.array([], pa.string()),
                         "score": pa.array([], pa.float64())})
    return pa.concat_tables(parts)


def _track_range(t: Track) -> tuple[float | None, float | None]:
    if t.kind != "scalar":
        return t.min, t.max
    vals = np.asarray(t.values, dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    lo = t.min if t.min is not None else (float(vals.min()) if len(vals) else None)
    hi = t.max if t.max is not None else (float(vals.max()) if len(vals) else None)
    return lo, hi


def _categories(t: Track) -> list[str]:
    if t.categories is not None:
        return [str(c) for c in t.categories]
    seen: dict[str, None] = {}
    for x in t.labels or []:
        if x is not None and not (isinstance(x, float) and math.isnan(x)):
            seen.setdefault(str(x), None)
    return list(seen)


# --------------------------------------------------------------------------- writing


def write_project(path: str | Path, data: ProjectData, progress: bool | Callable[[str, float], None] = False) -> None:
    """Build the project file at ``path`` from ``data``, atomically.

    Raises:
        InputError: naming what is wrong; nothing is written and an existing file is kept.
    """
    path = Path(path)
    n, docs = _validate(data)
    check_output_path(path)  # a folder, a missing or unwritable folder: one line
    remove_dead_temps(path.parent)
    tmp = _temp_path(path)
    _remove_db(tmp)
    bar = Progress(progress)
    with sigterm_exits():
        _write_file(path, tmp, data, docs, n, bar)


def _write_file(path: Path, tmp: Path, data: ProjectData, docs: list[Document], n: int, bar: Progress) -> None:
    con = duckdb.connect(":memory:")
    try:
        # Row groups sized so that a column segment of 14-bit bucket numbers fills one storage
        # block: the quantised index costs ~0.45x raw float32 instead of ~0.55x.
        con.execute(f"ATTACH {sql_literal(str(tmp))} AS project (ROW_GROUP_SIZE {ROW_GROUP_ROWS})")
        con.execute("USE project")
        con.execute("SET enable_progress_bar = false")  # our own bar goes to stderr; stdout stays JSON
        con.execute(f"SET memory_limit = '{memory_limit()}'")
        _write_all(con, data, docs, n, bar)
        con.execute("CHECKPOINT")
        con.close()
        os.replace(tmp, path)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            wal.unlink()
    except BaseException:
        con.close()
        _remove_db(tmp)
        raise


def _write_all(con: duckdb.DuckDBPyConnection, data: ProjectData, docs: list[Document], n: int, bar: Progress) -> None:
    stmts = schema_statements()
    con.execute(stmts["public_tables"])
    meta = {
        "name": data.name,
        "description": data.description or data.name,
        "created": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "tool_version": VERSION,
        "format_version": FORMAT_VERSION,
        "origin": data.origin,
        **{str(k): str(v) for k, v in data.extra.items()},
    }
    con.executemany("INSERT INTO project VALUES (?, ?)", list(meta.items()))
    con.executemany(
        "INSERT INTO documents VALUES (?, ?, ?, ?)",
        [(i, d.name, d.first_pos, d.last_pos) for i, d in enumerate(docs)],
    )
    # the _*_in locals are read by name by the SQL that follows (DuckDB's replacement scan)
    _tokens_in = _tokens_table(data, docs, n)
    con.execute(stmts["tokens"])
    _annotations_in = _annotations_table(data.tracks)
    con.execute(stmts["annotations"])
    _predictions_in = _predictions_table(data.tracks)
    con.execute(stmts["predictions"])
    for t in data.tracks:
        _insert_track_row(con, t)
    parts = []
    con.execute("SET force_compression = 'uncompressed'")
    for sid, src in enumerate(data.sources):
        d = _source_shape(src, n)
        label = f"source {src.source}"[:28]
        stats: dict[str, Any] = {}  # min, max; "error": an exception raised inside the stream
        _rows_in = _rows_reader(src, n, d, stats, bar, label)
        try:
            con.execute(stmts["source_rows"].format(sid=sid))
        except duckdb.Error:
            if "error" in stats:
                raise stats["error"] from None
            raise
        quant = Quantizer.for_range(stats["min"], stats["max"])
        con.execute("SET force_compression = 'bitpacking'")  # 14 significant bits of 16
        # Match phase 1 scans whole columns and places each row by its pos, so row order does
        # not matter here; keeping it would serialise the insert (about 2x slower at 650 cells).
        con.execute("SET preserve_insertion_order = false")
        _q_in = _quantized_reader(src, n, d, quant, bar, label)
        con.execute(stmts["source_quantized"].format(sid=sid))
        con.execute("RESET preserve_insertion_order")
        con.execute("SET force_compression = 'uncompressed'")
        con.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [src.source, src.model, src.layer, src.kind, d, src.transform, src.unsigned, src.description],
        )
        con.execute(
            "INSERT INTO _idx.source_index VALUES (?, ?, ?, ?, ?, ?, ?)",
            [src.source, sid, d, stats["min"], stats["max"], quant.step, quant.zero],
        )
        parts.append(stmts["states_view_part"].format(source_literal=sql_literal(src.source), n_cells=d, sid=sid))
    con.execute("RESET force_compression")
    union = "\nUNION ALL\n".join(parts) if parts else stmts["states_view_empty"]
    con.execute(stmts["states_view"].format(union_of_sources=union))
    _write_macros(con)


def _write_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The ``lstmvis_select`` / ``lstmvis_match`` table macros, stored in the file for the
    ``duckdb`` shell (docs/sql.md)."""
    from lstmvis_db.sqlmatch import macro_statements, source_rows

    for stmt in macro_statements(source_rows(con)).statements:
        con.execute(stmt)


def _insert_track_row(con: duckdb.DuckDBPyConnection, t: Track) -> None:
    """The track's row in ``tracks`` and, if categorical, its category order."""
    lo, hi = _track_range(t)
    con.execute("INSERT INTO tracks VALUES (?, ?, ?, ?, ?)", [t.track, t.kind, t.description, lo, hi])
    if t.kind == "categorical":
        con.executemany(
            "INSERT INTO _idx.track_categories VALUES (?, ?, ?)",
            [(t.track, i, c) for i, c in enumerate(_categories(t))],
        )


def write_track(path: str | Path, track: Track, replace: bool = False) -> None:
    """Add ``track`` (one label, value or top-k row per position) to the project at ``path``.

    Atomic like ``write_project``: the change is made on a copy that replaces the file only
    when complete.

    Raises:
        InputError: not a project, a track of that name exists (and not ``replace``), or a
            track that does not fit the token stream; the project is left unchanged.
    """
    path = Path(path)
    con = connect(path, read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM tokens").fetchone()
        n = int(row[0]) if row else 0
        exists = con.execute("SELECT kind FROM tracks WHERE track = ?", [track.track]).fetchone()
    finally:
        con.close()
    if exists and not replace:
        raise InputError(f"{path}: track {track.track!r} already exists ({exists[0]}); pass --replace")
    _check_track(track, n)
    remove_dead_temps(path.parent)
    tmp = _temp_path(path)
    _remove_db(tmp)
    with sigterm_exits():
        _write_track_file(path, tmp, track)


def _write_track_file(path: Path, tmp: Path, track: Track) -> None:
    try:
        shutil.copyfile(path, tmp)
        con = duckdb.connect(str(tmp), config={"enable_external_access": False})
        try:
            con.register("_annotations_in", _annotations_table([track]))  # read by the inserts below
            con.register("_predictions_in", _predictions_table([track]))
            con.execute("BEGIN")
            for table, column in (("annotations", "track"), ("predictions", "source"),
                                  ("_idx.track_categories", "track"), ("tracks", "track")):
                con.execute(f"DELETE FROM {table} WHERE {column} = ?", [track.track])
            con.execute("INSERT INTO annotations SELECT * FROM _annotations_in ORDER BY pos")
            con.execute("INSERT INTO predictions SELECT * FROM _predictions_in ORDER BY pos, rank")
            _insert_track_row(con, track)
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, path)
    finally:
        _remove_db(tmp)


def connect(path: str | Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open a project file locked down and checked (:func:`lstmvis_db.projectfile.connect`)."""
    return projectfile.connect(path, read_only=read_only, memory_limit=memory_limit())
