"""Write side of the project file: schema, atomic bulk ingest, connections.

A project is one DuckDB file (docs/data-model.md §Public tables).  ``write_project`` builds it under a temporary
name beside the target and renames it into place only when complete, so a failed import
leaves nothing behind and never damages an existing file.  Every table is built by one
statement from an Arrow stream, which keeps ingest fast and the file free of dead blocks.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from lstmvis_db import __version__, projectfile
from lstmvis_db.checks import check_output_path
from lstmvis_db.errors import InputError
from lstmvis_db.hygiene import remove_db as _remove_db
from lstmvis_db.hygiene import remove_dead_temps, sigterm_exits
from lstmvis_db.hygiene import temp_path as _temp_path
from lstmvis_db.ingest_checks import check_track, source_shape, validate
from lstmvis_db.ingest_tables import CHUNK_ROWS as CHUNK_ROWS
from lstmvis_db.ingest_tables import (
    ROW_GROUP_ROWS,
    annotations_table,
    categories,
    check_value_dtype,
    predictions_table,
    quantized_reader,
    rows_reader,
    sparse_reader,
    tokens_table,
    track_range,
)
from lstmvis_db.matching.quant import Quantizer
from lstmvis_db.progress import Progress  # re-exported: ``store.Progress`` is the same class
from lstmvis_db.sqltext import sql_literal
from lstmvis_db.types import Document, ProjectData, Source, Track

VERSION = __version__  # the one version of the package (lstmvis_db/__init__.py)
FORMAT_VERSION = projectfile.FORMAT_VERSION  # bump there when the physical layout changes
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




# --------------------------------------------------------------------------- writing


def write_project(path: str | Path, data: ProjectData, progress: bool | Callable[[str, float], None] = False,
                  value_dtype: str = "float32") -> None:
    """Build the project file at ``path`` from ``data``, atomically.

    ``value_dtype``: ``"float32"`` stores every value exactly; ``"float16"`` rounds every value
    to the nearest float16 and stores that (half the bytes for the rows; every answer is then
    exact with respect to the stored float16 values, docs/semantics.md §Stored values).

    Raises:
        InputError: naming what is wrong; nothing is written and an existing file is kept.
    """
    path = Path(path)
    value_dtype = check_value_dtype(value_dtype)
    n, docs = validate(data)
    check_output_path(path)  # a folder, a missing or unwritable folder: one line
    remove_dead_temps(path.parent)
    tmp = _temp_path(path)
    _remove_db(tmp)
    bar = Progress(progress)
    with sigterm_exits():
        _write_file(path, tmp, data, docs, n, bar, value_dtype)


def _write_file(path: Path, tmp: Path, data: ProjectData, docs: list[Document], n: int, bar: Progress,
                value_dtype: str) -> None:
    con = duckdb.connect(":memory:")
    try:
        # Row groups sized so that a column segment of 14-bit bucket numbers fills one storage
        # block: the quantised index costs ~0.45x raw float32 instead of ~0.55x.
        con.execute(f"ATTACH {sql_literal(str(tmp))} AS project (ROW_GROUP_SIZE {ROW_GROUP_ROWS})")
        con.execute("USE project")
        con.execute("SET enable_progress_bar = false")  # our own bar goes to stderr; stdout stays JSON
        con.execute(f"SET memory_limit = '{memory_limit()}'")
        _write_all(con, data, docs, n, bar, value_dtype)
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


def _write_all(con: duckdb.DuckDBPyConnection, data: ProjectData, docs: list[Document], n: int, bar: Progress,
               value_dtype: str) -> None:
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
        "value_dtype": value_dtype,  # of every source (also in _idx.source_index)
    }
    con.executemany("INSERT INTO project VALUES (?, ?)", list(meta.items()))
    con.executemany(
        "INSERT INTO documents VALUES (?, ?, ?, ?)",
        [(i, d.name, d.first_pos, d.last_pos) for i, d in enumerate(docs)],
    )
    # the _*_in locals are read by name by the SQL that follows (DuckDB's replacement scan)
    _tokens_in = tokens_table(data, docs, n)
    con.execute(stmts["tokens"])
    _annotations_in = annotations_table(data.tracks)
    con.execute(stmts["annotations"])
    _predictions_in = predictions_table(data.tracks)
    con.execute(stmts["predictions"])
    for t in data.tracks:
        _insert_track_row(con, t)
    for sid, src in enumerate(data.sources):
        d = source_shape(src, n)
        _write_source(con, stmts, sid, src, n, d, bar, value_dtype)
    _write_views(con, stmts)
    _keep_cell_stats(con)


def states_view_sql(stmts: dict[str, str], index: list[tuple]) -> str:
    """The ``states`` view over the sources of ``index`` (rows (source, sid, n_cells, value_dtype)
    in sid order): one part per source, a sparse source's part over its entries."""
    parts = []
    for source, sid, n_cells, dtype in index:
        part = stmts["states_view_sparse_part" if dtype == "sparse" else "states_view_part"]
        parts.append(part.format(source_literal=sql_literal(str(source)), n_cells=int(n_cells), sid=int(sid)))
    union = "\nUNION ALL\n".join(parts) if parts else stmts["states_view_empty"]
    return stmts["states_view"].format(union_of_sources=union)


def _write_views(con: duckdb.DuckDBPyConnection, stmts: dict[str, str]) -> None:
    """The ``states`` view and the SQL macros, from the source index as written."""
    index = con.execute("SELECT source, sid, n_cells, value_dtype FROM _idx.source_index ORDER BY sid").fetchall()
    con.execute(states_view_sql(stmts, index))
    _write_macros(con)


def _keep_cell_stats(con: duckdb.DuckDBPyConnection, tracks: list[str] | None = None,
                     sources: list[str] | None = None) -> None:
    """Keep what a first ranking would compute (docs/performance.md §Kept at ingest): before the
    rename into place, outside any open transaction (``kept.keep`` reads with cursors of its own)."""
    from lstmvis_db.analysis import kept

    kept.keep(con, tracks, sources)


def _write_source(con: duckdb.DuckDBPyConnection, stmts: dict[str, str], sid: int, src: Any, n: int, d: int,
                  bar: Progress, value_dtype: str) -> None:
    """One source's rows (float32 values or float16 bit patterns, uncompressed: they do not
    compress), its quantised index and its rows in ``sources`` and ``_idx.source_index``."""
    label = f"source {src.source}"[:28]
    stats: dict[str, Any] = {}  # min, max; "error": an exception raised inside the stream
    if src.layout == "sparse":
        _write_sparse_source(con, stmts, sid, src, n, d, bar, value_dtype, stats, label)
        return
    _rows_in = rows_reader(src, n, d, stats, bar, label, value_dtype)  # read by name by the SQL below
    con.execute("SET force_compression = 'uncompressed'")
    try:
        con.execute(stmts["source_rows" if value_dtype == "float32" else "source_rows_float16"].format(sid=sid))
    except duckdb.Error:
        if "error" in stats:
            raise stats["error"] from None
        raise
    if value_dtype == "float16":
        con.execute(stmts["source_rows_float16_view"].format(sid=sid, n_cells=d))
    quant = Quantizer.for_range(stats["min"], stats["max"])
    con.execute("SET force_compression = 'bitpacking'")  # 14 significant bits of 16
    # Match phase 1 scans whole columns and places each row by its pos, so row order does
    # not matter here; keeping it would serialise the insert (about 2x slower at 650 cells).
    con.execute("SET preserve_insertion_order = false")
    _q_in = quantized_reader(src, n, d, quant, bar, label, value_dtype)  # noqa: F841 (read by the SQL)
    con.execute(stmts["source_quantized"].format(sid=sid))
    con.execute("RESET preserve_insertion_order")
    con.execute("RESET force_compression")
    con.execute(
        "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [src.source, src.model, src.layer, src.kind, d, src.transform, src.unsigned, src.description],
    )
    con.execute(
        "INSERT INTO _idx.source_index VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [src.source, sid, d, stats["min"], stats["max"], quant.step, quant.zero, value_dtype],
    )


def _write_sparse_source(con: duckdb.DuckDBPyConnection, stmts: dict[str, str], sid: int, src: Any, n: int, d: int,
                         bar: Progress, value_dtype: str, stats: dict[str, Any], label: str) -> None:
    """A sparse source: its non-zero entries in ``_idx.sp_<sid>`` (value_dtype ``sparse`` in the
    source index; values rounded to float16 first when the project is float16)."""
    _sp_in = sparse_reader(src, n, d, stats, bar, label, value_dtype)  # noqa: F841 (read by the SQL below)
    try:
        con.execute(stmts["source_sparse"].format(sid=sid))
    except duckdb.Error:
        if "error" in stats:
            raise stats["error"] from None
        raise
    quant = Quantizer.for_range(stats["min"], stats["max"])
    con.execute(
        "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [src.source, src.model, src.layer, src.kind, d, src.transform, src.unsigned, src.description],
    )
    con.execute(
        "INSERT INTO _idx.source_index VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [src.source, sid, d, stats["min"], stats["max"], quant.step, quant.zero, "sparse"],
    )


def add_source(path: str | Path, src: Source, replace: bool = False,
               progress: bool | Callable[[str, float], None] = False) -> None:
    """Add the source ``src`` (dense or sparse, one row per token) to the project at ``path``.

    Atomic like ``write_project``: the source is written into a copy that replaces the file only
    when complete, so a failure leaves the project as it was.

    Raises:
        InputError: not a project, a source of that name exists (and not ``replace``), or a
            source that does not fit the token stream.
    """
    path = Path(path)
    con = connect(path, read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM tokens").fetchone()
        n = int(row[0]) if row else 0
        exists = con.execute("SELECT sid FROM _idx.source_index WHERE source = ?", [src.source]).fetchone()
        meta = dict(con.execute("SELECT key, value FROM project").fetchall())
    finally:
        con.close()
    if exists and not replace:
        raise InputError(f"{path}: source {src.source!r} already exists; pass --replace")
    if not src.source:
        raise InputError("the source has an empty name")
    d = source_shape(src, n)
    value_dtype = meta.get("value_dtype", "float32")  # the project's: every source is stored alike
    value_dtype = value_dtype if value_dtype in ("float32", "float16") else "float32"
    remove_dead_temps(path.parent)
    tmp = _temp_path(path)
    _remove_db(tmp)
    with sigterm_exits():
        _add_source_file(path, tmp, src, n, d, Progress(progress), value_dtype)


def _add_source_file(path: Path, tmp: Path, src: Source, n: int, d: int, bar: Progress, value_dtype: str) -> None:
    try:
        shutil.copyfile(path, tmp)
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"ATTACH {sql_literal(str(tmp))} AS project (ROW_GROUP_SIZE {ROW_GROUP_ROWS})")
            con.execute("USE project")
            con.execute("SET enable_progress_bar = false")
            con.execute(f"SET memory_limit = '{memory_limit()}'")
            stmts = schema_statements()
            old = con.execute("SELECT sid, value_dtype FROM _idx.source_index WHERE source = ?",
                              [src.source]).fetchone()
            con.execute("BEGIN")
            if old is not None:  # --replace: drop the old source's tables and rows
                osid = int(old[0])
                con.execute("DROP VIEW IF EXISTS states")
                if old[1] == "float16":
                    con.execute(f"DROP VIEW _idx.rows_{osid}")
                for table in {"float16": ("f16", "q"), "sparse": ("sp",)}.get(str(old[1]), ("rows", "q")):
                    con.execute(f"DROP TABLE IF EXISTS _idx.{table}_{osid}")
                con.execute("DELETE FROM sources WHERE source = ?", [src.source])
                con.execute("DELETE FROM _idx.source_index WHERE source = ?", [src.source])
            row = con.execute("SELECT coalesce(max(sid), -1) + 1 FROM _idx.source_index").fetchone()
            sid = int(row[0]) if row else 0
            con.execute("DROP VIEW IF EXISTS states")
            _write_source(con, stmts, sid, src, n, d, bar, value_dtype)
            _write_views(con, stmts)
            con.execute("COMMIT")
            _keep_cell_stats(con, sources=[src.source])  # its cursors see committed data only
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, path)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            wal.unlink()
    finally:
        _remove_db(tmp)


def _write_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The ``lstmvis_select`` / ``lstmvis_match`` table macros, stored in the file for the
    ``duckdb`` shell (docs/sql.md)."""
    from lstmvis_db.sqlmatch import macro_statements, source_rows

    for stmt in macro_statements(source_rows(con)).statements:
        con.execute(stmt)


def _insert_track_row(con: duckdb.DuckDBPyConnection, t: Track) -> None:
    """The track's row in ``tracks`` and, if categorical, its category order."""
    lo, hi = track_range(t)
    con.execute("INSERT INTO tracks VALUES (?, ?, ?, ?, ?)", [t.track, t.kind, t.description, lo, hi])
    cats = categories(t) if t.kind == "categorical" else []
    if cats:  # a categorical track may label no position at all (no entities in a short text)
        con.executemany(
            "INSERT INTO _idx.track_categories VALUES (?, ?, ?)",
            [(t.track, i, c) for i, c in enumerate(cats)],
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
    check_track(track, n)
    remove_dead_temps(path.parent)
    tmp = _temp_path(path)
    _remove_db(tmp)
    with sigterm_exits():
        _write_track_file(path, tmp, track)


def _write_track_file(path: Path, tmp: Path, track: Track) -> None:
    try:
        shutil.copyfile(path, tmp)
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"ATTACH {sql_literal(str(tmp))} AS project")  # as in write_project: the name cursors use
            con.execute("USE project")
            con.execute("SET enable_external_access = false")
            con.register("_annotations_in", annotations_table([track]))  # read by the inserts below
            con.register("_predictions_in", predictions_table([track]))
            con.execute("BEGIN")
            for table, column in (("annotations", "track"), ("predictions", "source"),
                                  ("_idx.track_categories", "track"), ("tracks", "track")):
                con.execute(f"DELETE FROM {table} WHERE {column} = ?", [track.track])
            con.execute("INSERT INTO annotations SELECT * FROM _annotations_in ORDER BY pos")
            con.execute("INSERT INTO predictions SELECT * FROM _predictions_in ORDER BY pos, rank")
            _insert_track_row(con, track)
            con.execute("COMMIT")
            _keep_cell_stats(con, [track.track])
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(tmp, path)
    finally:
        _remove_db(tmp)


def connect(path: str | Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open a project file locked down and checked (:func:`lstmvis_db.projectfile.connect`)."""
    return projectfile.connect(path, read_only=read_only, memory_limit=memory_limit())
