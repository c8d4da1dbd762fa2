"""Opening a project file that may be hostile or damaged, and its on-disk identity.

A project file is data from anyone: it can hold views or macros that read files, tables of the
wrong kind, or blocks that were cut or overwritten.  :func:`connect` attaches it to a private
in-memory DuckDB (so no cached database instance is shared with other handles), switches off
external access and locks the configuration *before* anything stored in the file is read, then
checks the catalog against the layout this version writes (:func:`check_catalog`).  Every
failure is an :class:`InputError` naming the file and what is wrong.

Imports duckdb, the standard library and ``lstmvis_db.errors``; the checks that rebuild the
states view and the SQL macros for comparison import ``store`` and ``sqlmatch`` when they run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from lstmvis_db.errors import InputError

# bump when the physical layout changes; older files must be rebuilt (3: SQL macros; 4: value_dtype,
# float16 sources as _idx.f16_<sid> bit patterns behind a decoding view _idx.rows_<sid>)
FORMAT_VERSION = "4"
REBUILD = ("rebuild it with this version from its inputs (`lstmvis-db import-lstmvis`, `extract`, `demo`, "
           "or `write_project` in Python)")
ALIAS = "project"

# The tables of a project file, with their column names and types (schema.sql).
PUBLIC_TABLES: dict[str, list[tuple[str, str]]] = {
    "project": [("key", "VARCHAR"), ("value", "VARCHAR")],
    "sources": [("source", "VARCHAR"), ("model", "VARCHAR"), ("layer", "INTEGER"), ("kind", "VARCHAR"),
                ("n_cells", "INTEGER"), ("transform", "VARCHAR"), ("unsigned", "BOOLEAN"),
                ("description", "VARCHAR")],
    "documents": [("doc", "INTEGER"), ("name", "VARCHAR"), ("first_pos", "INTEGER"), ("last_pos", "INTEGER")],
    "tracks": [("track", "VARCHAR"), ("kind", "VARCHAR"), ("description", "VARCHAR"), ("min", "DOUBLE"),
               ("max", "DOUBLE")],
    "tokens": [("pos", "INTEGER"), ("doc", "INTEGER"), ("token", "VARCHAR"), ("token_id", "INTEGER")],
    "annotations": [("track", "VARCHAR"), ("pos", "INTEGER"), ("label", "VARCHAR"), ("value", "DOUBLE")],
    "predictions": [("source", "VARCHAR"), ("pos", "INTEGER"), ("rank", "INTEGER"), ("token", "VARCHAR"),
                    ("score", "DOUBLE")],
}
INDEX_TABLES: dict[str, list[tuple[str, str]]] = {
    "source_index": [("source", "VARCHAR"), ("sid", "INTEGER"), ("n_cells", "INTEGER"), ("min_value", "DOUBLE"),
                     ("max_value", "DOUBLE"), ("q_step", "DOUBLE"), ("q_zero", "BIGINT"),
                     ("value_dtype", "VARCHAR")],
    "track_categories": [("track", "VARCHAR"), ("ord", "INTEGER"), ("category", "VARCHAR")],
}
# Internal tables that files written by older versions of this format lack (then computed on demand).
OPTIONAL_INDEX_TABLES: dict[str, list[tuple[str, str]]] = {
    "cell_stats": [("source", "VARCHAR"), ("track", "VARCHAR"), ("seed", "INTEGER"), ("part", "VARCHAR"),
                   ("code", "INTEGER"), ("v", "DOUBLE[]")],
    "cell_offsets": [("source", "VARCHAR"), ("track", "VARCHAR"), ("cell", "INTEGER"), ("buckets", "INTEGER[]"),
                     ("dev", "DOUBLE[]")],
    "cell_counts": [("source", "VARCHAR"), ("track", "VARCHAR"), ("cell", "INTEGER"), ("buckets", "INTEGER[]"),
                    ("counts", "INTEGER[]")],
}
_PER_SOURCE = re.compile(r"^(rows|f16|q|sp)_(\d+)$")
_SPARSE_COLUMNS = [("pos", "INTEGER"), ("unit", "INTEGER"), ("value", "FLOAT")]  # _idx.sp_<sid> (schema.sql)
_MAX_CELLS = {"float32": 1_000_000, "float16": 1_000_000, "sparse": (1 << 24) + 1}
_ROW_TYPES = {"rows": "FLOAT", "f16": "USMALLINT"}  # the element type of each kind's rows array


def file_stamp(path: str | Path) -> tuple[int, int, int, int]:
    """What identifies a file's current content on disk: (device, inode, mtime ns, size).  A
    project replaced by an atomic rename gets a new inode; one rewritten in place a new mtime."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def connect(path: str | Path, read_only: bool = True, memory_limit: str = "") -> duckdb.DuckDBPyConnection:
    """Open a project file locked down and checked; the connection's default catalog is the file.

    Cursors of the returned connection start in the in-memory catalog: run ``USE project`` on
    each (``queries.Catalog.cursor`` does).

    Raises:
        InputError: missing, not a file, not a DuckDB file, damaged, crafted or of another format.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"project file {str(path)!r} does not exist" if not path.exists()
                         else f"{str(path)!r} is not a file")
    con = duckdb.connect(":memory:")
    try:
        literal = "'" + str(path).replace("'", "''") + "'"
        con.execute(f"ATTACH {literal} AS {ALIAS}" + (" (READ_ONLY)" if read_only else ""))
        con.execute(f"USE {ALIAS}")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET enable_progress_bar = false")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error as e:
        con.close()
        raise InputError(f"cannot open {str(path)!r}: not a DuckDB project file, or a damaged one "
                         f"({_first_line(e)})") from None
    try:
        check_catalog(con, str(path))
    except BaseException:
        con.close()
        raise
    return con


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__


class _Refusal:
    """Builds the error for a file that is refused: ``refuse(what)``, ``refuse.unreadable(what, e)``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, what: str) -> InputError:
        return InputError(f"{self.name!r} is not an lstmvis-db project file ({what})")

    def unreadable(self, what: str, e: BaseException) -> InputError:
        """A read error while checking: a damaged file says so, anything else is a foreign layout."""
        if isinstance(e, duckdb.IOException) or "Corrupt" in str(e) or "checksum" in str(e):
            return InputError(f"{self.name!r} cannot be read: the file is damaged (truncated or overwritten): "
                              f"{_first_line(e)}")
        return self(f"{what} ({_first_line(e)})")


def check_catalog(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Refuse a file whose catalog is not exactly what this version writes: the expected tables
    (as tables, with their columns and types), one view ``states`` and the ``lstmvis_*`` table
    macros as the store builds them, no other macros, no sequences or other schemas, and our
    format version.

    Raises:
        InputError: naming the file and the first thing that differs.
    """
    bad = _Refusal(name)
    try:
        tables = _objects(con, "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?")
        views = _objects(con, "SELECT schema_name, view_name FROM duckdb_views() "
                              "WHERE database_name = ? AND NOT internal")
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? "
                                             "AND NOT internal", [ALIAS]).fetchall()}
        n_seq = con.execute("SELECT count(*) FROM duckdb_sequences() WHERE database_name = ?", [ALIAS]).fetchone()
    except duckdb.Error as e:
        raise bad.unreadable("its catalog cannot be read", e) from None
    if schemas - {"main", "_idx"}:
        raise bad(f"unexpected schema {min(schemas - {'main', '_idx'})!r}")
    if n_seq and n_seq[0]:
        raise bad("it defines sequences")
    for t in PUBLIC_TABLES:
        if ("main", t) in views:
            raise bad(f"{t!r} is a view, expected a table")
        if ("main", t) not in tables:
            raise bad(f"no table {t!r}")
    _check_version(con, name, bad)  # before the layout: an older file gets the line that says so
    extra_views = sorted(f"{s}.{v}" for s, v in views
                         if (s, v) != ("main", "states") and not (s == "_idx" and v.startswith("rows_")))
    if extra_views or ("main", "states") not in views:
        raise bad(f"unexpected view {extra_views[0]!r}" if extra_views else "no view 'states'")
    _check_columns(con, tables, bad)
    _check_states_view(con, bad)


def _check_version(con: duckdb.DuckDBPyConnection, name: str, bad: _Refusal) -> None:
    try:
        row = con.execute("SELECT value FROM project WHERE key = 'format_version'").fetchone()
    except duckdb.Error as e:
        raise bad.unreadable("its project table cannot be read", e) from None
    if row is None or row[0] != FORMAT_VERSION:
        raise InputError(
            f"{name!r} was written by another version of lstmvis-db (file format "
            f"{row[0] if row else 'unknown'}, this version reads {FORMAT_VERSION}); {REBUILD}"
        )


def _objects(con: duckdb.DuckDBPyConnection, sql: str) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in con.execute(sql, [ALIAS]).fetchall()}


def _check_columns(con: duckdb.DuckDBPyConnection, tables: set[tuple[str, str]], bad: _Refusal) -> None:
    try:
        rows = con.execute(
            """SELECT c.schema_name, c.table_name, c.column_name, c.data_type
               FROM duckdb_columns() c JOIN duckdb_tables() t
                 ON t.database_name = c.database_name AND t.schema_name = c.schema_name
                AND t.table_name = c.table_name
               WHERE c.database_name = ? ORDER BY c.schema_name, c.table_name, c.column_index""", [ALIAS]
        ).fetchall()
    except duckdb.Error as e:
        raise bad.unreadable("its columns cannot be read", e) from None
    cols: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for s, t, c, ty in rows:
        cols.setdefault((s, t), []).append((c, ty))
    expected = {("main", t): c for t, c in PUBLIC_TABLES.items()}
    expected.update({("_idx", t): c for t, c in INDEX_TABLES.items()})
    for key in sorted(tables):
        schema, table = key
        if key in expected:
            want = expected[key]
        elif schema == "_idx" and table in OPTIONAL_INDEX_TABLES:
            want = OPTIONAL_INDEX_TABLES[table]
        elif schema == "_idx" and _PER_SOURCE.match(table):
            want = _per_source_columns(table, cols.get(key, []))
        else:
            raise bad(f"unexpected table '{schema}.{table}'")
        if cols.get(key, []) != want:
            raise bad(f"table '{schema}.{table}' has columns {cols.get(key, [])}, expected {want}")
    for key in expected:
        if key not in tables:
            raise bad(f"no table '{key[0]}.{key[1]}'")


def _per_source_columns(table: str, got: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The columns a per-source table must have (its width taken from what it has)."""
    kind = table.split("_", 1)[0]
    if kind == "sp":
        return _SPARSE_COLUMNS
    if kind in _ROW_TYPES:
        element = _ROW_TYPES[kind]
        ok = len(got) == 2 and re.fullmatch(element + r"\[\d+\]", got[1][1])
        return [("pos", "INTEGER"), ("v", got[1][1] if ok else f"{element}[1]")]
    return [("pos", "INTEGER")] + [(f"c{j}", "USMALLINT") for j in range(max(len(got) - 1, 1))]


def _check_states_view(con: duckdb.DuckDBPyConnection, bad: _Refusal) -> None:
    """``states`` (and the decoding view ``_idx.rows_<sid>`` of each float16 source) must be
    what the store builds from the source index, character for character as DuckDB stores it
    (rebuilt in a scratch database and compared)."""
    try:
        got = dict(con.execute("SELECT schema_name || '.' || view_name, sql FROM duckdb_views() "
                               "WHERE database_name = ? AND NOT internal", [ALIAS]).fetchall())
        index = con.execute("SELECT source, sid, n_cells, value_dtype FROM _idx.source_index ORDER BY sid").fetchall()
    except duckdb.Error as e:
        raise bad.unreadable("its source index cannot be read", e) from None
    scratch = duckdb.connect(":memory:")
    try:
        want = _expected_views(scratch, index, bad)
        want_macros = _expected_macros(scratch, [r[:3] for r in index if r[3] != "sparse"])
    except duckdb.Error as e:
        raise bad.unreadable("its source index does not describe a valid layout", e) from None
    finally:
        scratch.close()
    if got.get("main.states") is None or got["main.states"] != want.get("main.states"):
        raise bad("view 'states' is not the one this tool builds")
    odd = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
    if odd:
        raise bad(f"view {odd[0]!r} is not one this tool builds")
    try:
        got_macros = dict(con.execute("SELECT function_name, macro_definition FROM duckdb_functions() "
                                      "WHERE database_name = ?", [ALIAS]).fetchall())
    except duckdb.Error as e:
        raise bad.unreadable("its macros cannot be read", e) from None
    if got_macros != want_macros:
        odd = (sorted(set(got_macros) ^ set(want_macros))
               or sorted(k for k in got_macros if got_macros[k] != want_macros[k]))
        if all(str(k).startswith("lstmvis_") for k in odd):  # our macros, from another version (docs/sql.md)
            raise InputError(f"{bad.name!r} holds the SQL macros of another version of lstmvis-db (its macro "
                             f"{odd[0]!r} differs); rebuild it with this version (`lstmvis-db demo`, or the "
                             "command that made it)")
        raise bad(f"macro {odd[0]!r} is not one this tool builds")


def _expected_views(scratch: duckdb.DuckDBPyConnection, index: list[tuple], bad: _Refusal) -> dict[str, str]:
    """The views the store writes for this source index (schema.sql), made over empty tables."""
    from lstmvis_db.store import schema_statements, states_view_sql

    stmts = schema_statements()
    scratch.execute("SET enable_external_access = false")
    scratch.execute("CREATE SCHEMA _idx")
    for source, sid, n_cells, dtype in index:
        if not isinstance(sid, int) or not isinstance(n_cells, int) or sid < 0 or not 0 < n_cells < _MAX_CELLS.get(
                str(dtype), 1_000_000):
            raise bad(f"source index row for {source!r} is out of range")
        if dtype == "float32":
            scratch.execute(f"CREATE TABLE _idx.rows_{sid} (pos INTEGER, v FLOAT[{n_cells}])")
        elif dtype == "float16":
            scratch.execute(f"CREATE TABLE _idx.f16_{sid} (pos INTEGER, v USMALLINT[{n_cells}])")
            scratch.execute(stmts["source_rows_float16_view"].format(sid=sid, n_cells=n_cells))
        elif dtype == "sparse":
            scratch.execute(f"CREATE TABLE _idx.sp_{sid} ({', '.join(f'{c} {t}' for c, t in _SPARSE_COLUMNS)})")
        else:
            raise bad(f"source {source!r} has an unknown value_dtype {dtype!r}")
    scratch.execute(states_view_sql(stmts, index))
    return dict(scratch.execute("SELECT schema_name || '.' || view_name, sql FROM duckdb_views() "
                                "WHERE database_name = 'memory' AND NOT internal").fetchall())


def _expected_macros(scratch: duckdb.DuckDBPyConnection, index: list[tuple]) -> dict[str, str]:
    """The ``lstmvis_*`` macros the store writes for this source index, as DuckDB stores them
    (made in the scratch database, over empty tables of the public layout)."""
    from lstmvis_db.sqlmatch import SourceRows, macro_statements

    for table, columns in PUBLIC_TABLES.items():
        scratch.execute(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns)})")
    for stmt in macro_statements([SourceRows(str(a), int(b), int(c)) for a, b, c in index]).statements:
        scratch.execute(stmt)
    rows = scratch.execute("SELECT function_name, macro_definition FROM duckdb_functions() "
                           "WHERE database_name = 'memory' AND function_type = 'table_macro'").fetchall()
    return dict(rows)
