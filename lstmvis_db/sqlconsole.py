"""Read-only user SQL over a project file, with time and row limits.

Statements run on their own in-memory DuckDB that attaches the project read-only and then
switches off external access (no files, no ATTACH, no INSTALL/LOAD) and locks its
configuration, so a query can read the project's tables and nothing else, and cannot write.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import duckdb
import pandas as pd

from lstmvis_db import store
from lstmvis_db.errors import SqlRejected

_ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class SqlConsole:
    """One locked-down connection per project file; ``run`` is safe to call repeatedly."""

    def __init__(self, path: str | Path, memory_limit: str | None = None) -> None:
        self.path = str(Path(path).resolve())
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"ATTACH '{self.path.replace(chr(39), chr(39) * 2)}' AS project (READ_ONLY)")
            con.execute("USE project")
            con.execute(f"SET memory_limit = '{memory_limit or store.memory_limit()}'")
            con.execute("SET enable_progress_bar = false")  # stdout may carry JSON
            con.execute("SET enable_external_access = false")
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET lock_configuration = true")
        except duckdb.Error as e:
            con.close()
            raise SqlRejected(f"cannot open {self.path!r} for SQL: {e}") from e
        self.con = con
        self._lock = threading.Lock()

    def close(self) -> None:
        self.con.close()

    def run(self, sql: str, max_rows: int = 10_000, timeout: float = 10.0,
            tables: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        """Run one read-only statement; at most ``max_rows`` rows (a longer result is cut and
        ``df.attrs['truncated']`` is set); stopped with SqlRejected after ``timeout`` seconds.
        ``tables``: extra read-only tables for this statement (e.g. ``current_matches``)."""
        try:
            stmts = self.con.extract_statements(sql)
        except duckdb.Error as e:
            raise SqlRejected(f"SQL does not parse: {str(e).splitlines()[0]}") from e
        if len(stmts) != 1:
            raise SqlRejected(f"give exactly one SQL statement, got {len(stmts)}")
        if stmts[0].type not in _ALLOWED:
            raise SqlRejected(f"only SELECT queries are allowed (read-only), got {stmts[0].type.name}")
        with self._lock:
            cur = self.con.cursor()
            timer = threading.Timer(timeout, cur.interrupt)
            timer.start()
            try:
                cur.execute("USE project")
                _register(cur, tables)
                cur.execute(sql)
                cols = [d[0] for d in cur.description or []]
                rows = cur.fetchmany(max_rows + 1)
            except duckdb.InterruptException as e:
                raise SqlRejected(f"query stopped after {timeout:g} s (time limit)") from e
            except duckdb.Error as e:
                msg = str(e).splitlines()[0]
                raise SqlRejected(f"query failed: {msg}") from e
            finally:
                timer.cancel()
                cur.close()
        df = pd.DataFrame.from_records(rows[:max_rows], columns=cols)
        df.attrs["truncated"] = len(rows) > max_rows
        return df


# --- align (issue 12): in-memory tables (current matches, saved hypotheses) visible to one statement
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _register(cur: duckdb.DuckDBPyConnection, tables: dict[str, pd.DataFrame] | None) -> None:
    """Register DataFrames as views on this statement's cursor (names: lower-case identifiers)."""
    for name, df in (tables or {}).items():
        if not _TABLE_NAME.match(name):
            raise SqlRejected(f"invalid table name {name!r}")
        cur.register(name, df)
# --- end align
