"""What the SQL console lets through: one read statement, within limits the operator caps.

* ``check_sql`` uses DuckDB's own parser: exactly one statement, a SELECT (or EXPLAIN [ANALYZE]
  of a SELECT, the explained text parsed again); the statement's syntax tree
  (``json_serialize_sql``) must not call a function or name a catalog view that reads files,
  settings, the environment or runs SQL from a string.
* ``Limits``: per-query wall time, rows, memory, temp space, threads and result bytes.  Every
  value must be a positive finite number no larger than the operator's maximum
  (``LSTMVIS_SQL_MAX_*`` environment variables); nothing turns a limit off.

Imports only duckdb (for the parser) and the errors module.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass

import duckdb

from lstmvis_db.errors import QueryError, SqlRejected

# environment variable -> (default maximum, what it bounds)
OPERATOR_MAXIMA: dict[str, tuple[float, str]] = {
    "LSTMVIS_SQL_MAX_SECONDS": (60, "wall time of one query, seconds"),
    "LSTMVIS_SQL_MAX_ROWS": (1_000_000, "rows one query may return"),
    "LSTMVIS_SQL_MAX_MB": (512, "memory of one query's worker process, MB"),
    "LSTMVIS_SQL_MAX_TEMP_MB": (512, "temp (spill) space of one query, MB"),
    "LSTMVIS_SQL_MAX_RESULT_MB": (128, "size of one query's result, MB"),
    "LSTMVIS_SQL_MAX_THREADS": (2, "threads of one query"),
    "LSTMVIS_SQL_WORKERS": (2, "queries running at once (worker processes)"),
}


def operator_max(env: str) -> float:
    """The operator's maximum from the environment (a bad value there is an InputError)."""
    default = OPERATOR_MAXIMA[env][0]
    text = os.environ.get(env, "")
    if not text.strip():
        return default
    return positive(text, env, float("inf"), "", text=True)


def positive(value: object, name: str, maximum: float, env: str, integer: bool = False, text: bool = False) -> float:
    """``value`` as a positive finite number (an integer when asked) at most ``maximum``; text
    only when ``text`` (an environment variable), never a bool."""
    if isinstance(value, bool) or (isinstance(value, str | bytes) and not text):
        raise QueryError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise QueryError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise QueryError(f"{name} must be a positive finite number, got {value!r}")
    if integer and v != int(v):
        raise QueryError(f"{name} must be a whole number, got {value!r}")
    if v > maximum:
        raise QueryError(f"{name} {v:g} is over the maximum {maximum:g}" + (f" ({env})" if env else ""))
    return v


@dataclass(frozen=True)
class Limits:
    seconds: float = 30.0
    max_rows: int = 10_000
    memory_mb: int = 256
    temp_mb: int = 256
    result_mb: int = 64
    threads: int = 1

    @classmethod
    def make(cls, timeout: object = 30.0, max_rows: object = 10_000, memory_mb: object = None,
             temp_mb: object = None, result_mb: object = None, threads: object = None,
             names: dict[str, str] | None = None) -> Limits:
        """Validated limits; ``None`` takes the default, capped at the operator's maximum.
        ``names`` renames arguments in messages (the CLI's flags)."""
        names = names or {}

        def get(arg: str, value: object, env: str, default: float, integer: bool = True) -> float:
            top = operator_max(env)
            if value is None:
                return min(default, top)
            return positive(value, names.get(arg, arg), top, env, integer)

        return cls(
            seconds=get("timeout", timeout, "LSTMVIS_SQL_MAX_SECONDS", 30.0, integer=False),
            max_rows=int(get("max_rows", max_rows, "LSTMVIS_SQL_MAX_ROWS", 10_000)),
            memory_mb=int(get("memory_mb", memory_mb, "LSTMVIS_SQL_MAX_MB", 256)),
            temp_mb=int(get("temp_mb", temp_mb, "LSTMVIS_SQL_MAX_TEMP_MB", 256)),
            result_mb=int(get("result_mb", result_mb, "LSTMVIS_SQL_MAX_RESULT_MB", 64)),
            threads=int(get("threads", threads, "LSTMVIS_SQL_MAX_THREADS", 1)),
        )


# --------------------------------------------------------------------------- statements

# Functions and catalog views a read must not use: files, settings, the environment, secrets,
# paths of attached files, SQL run from a string (which would escape this check).
_DENIED = re.compile(
    r"^(read_\w*|glob|getenv|current_setting|getvariable|sniff_csv|parquet_\w+|iceberg_\w+|delta_scan|"
    r"query|query_table|json_execute_serialized_sql|json_deserialize_sql|which_secret|checkpoint|"
    r"force_checkpoint|load_aws_credentials|sqlite_\w+|postgres_\w+|mysql_\w+|test_\w+|"
    r"duckdb_(settings|databases|extensions|secrets|temporary_files|memory|external_file_cache|log\w*|"
    r"variables|optimizers|prepared_statements|approx_database_count)|"
    r"pragma_(?!table_info$|storage_info$)\w+|enable_\w+|disable_\w+)$",
    re.IGNORECASE,
)
_EXPLAIN = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*EXPLAIN\s+(?:ANALY[SZ]E\s+)?(?:\([^()]*\)\s*)?",
                      re.IGNORECASE | re.DOTALL)
_FILE_LIKE = re.compile(r"[/\\:.~]")  # a table "name" that is a path or URL (a replacement scan)
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
RESERVED_ALIASES = {"project", "memory", "system", "temp", "main", "information_schema", "pg_catalog"}


def _one_statement(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    if not isinstance(sql, str):
        raise SqlRejected(f"SQL must be text, got {type(sql).__name__}")
    try:
        stmts = con.extract_statements(sql)
    except duckdb.Error as e:
        raise SqlRejected(f"SQL does not parse: {first_line(e)}") from None
    if len(stmts) != 1:
        raise SqlRejected(f"give exactly one SQL statement, got {len(stmts)}")
    return stmts[0]


def _names(node: object) -> tuple[set[str], set[str]]:
    """Function names and table names anywhere in a serialised syntax tree."""
    funcs: set[str] = set()
    tables: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            if isinstance(n.get("function_name"), str):
                funcs.add(n["function_name"])
            if isinstance(n.get("table_name"), str):
                tables.add(n["table_name"])
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)
    return funcs, tables


def check_sql(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The statement to run if ``sql`` is one plain read, else SqlRejected with one line."""
    stmt = _one_statement(con, sql)
    read = stmt.query
    if stmt.type == duckdb.StatementType.EXPLAIN:
        head = _EXPLAIN.match(stmt.query)
        inner = _one_statement(con, stmt.query[head.end():]) if head else None
        if inner is None or inner.type != duckdb.StatementType.SELECT:
            raise SqlRejected("only EXPLAIN [ANALYZE] of a SELECT is allowed (read-only)")
        read = inner.query
    elif stmt.type != duckdb.StatementType.SELECT:
        raise SqlRejected(f"only SELECT queries are allowed (read-only), got {stmt.type.name}")
    rows = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [read]).fetchall()
    row = rows[0] if rows else None
    tree = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        raise SqlRejected(f"only SELECT queries are allowed (read-only): {tree.get('error_message', '')}")
    funcs, tables = _names(tree)
    files = sorted(t for t in tables if _FILE_LIKE.search(t))
    if files:
        raise SqlRejected(f"{files[0]!r} looks like a file; reading files is not allowed in the SQL console")
    denied = sorted(n for n in funcs | tables if _DENIED.match(n))
    if denied:
        raise SqlRejected(f"{denied[0]} is not allowed in the SQL console (no files, settings or environment)")
    return stmt.query


def check_alias(name: object, what: str) -> str:
    """A name for a visitor table or an attached database: a plain identifier, not a reserved one."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise QueryError(f"{what} name must be a plain identifier (letters, digits, _), got {name!r}")
    if name.lower() in RESERVED_ALIASES:
        raise QueryError(f"{what} name {name!r} is reserved")
    return name


def first_line(e: BaseException) -> str:
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__
