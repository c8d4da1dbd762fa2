"""Selection, matching and align's tests as plain DuckDB SQL (docs/sql.md): statements a user
can run in the ``duckdb`` shell on a project file, with no extension and no UDF, that give exactly the
compiled path's answers; and the table macros (``lstmvis_select``, ``lstmvis_match``,
``lstmvis_match_histogram``, ``lstmvis_align``) that the store writes into every project file.

Imports only the core's ``errors``, ``sqltext`` and ``queries`` checks (and, in ``project``, the
argument checks of ``analysis``); never numpy-heavy matching code, the app or the benchmark.
The compiled path (``queries.match``) stays the fast path.
"""

from lstmvis_db.sqlmatch.generate import MacroSet, SourceRows, macro_statements, match_sql, select_sql, source_rows

__all__ = ["MacroSet", "SourceRows", "macro_statements", "match_sql", "select_sql", "source_rows"]
