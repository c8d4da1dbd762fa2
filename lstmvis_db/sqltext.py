"""SQL text helpers shared by the core and the views (standard library only, no database).

Values are bound as parameters everywhere they can be; a literal is only for text that has to
be spelled into a statement: identifiers baked into the states view by the store, a file path
in ``ATTACH``, and the example queries the SQL console shows.
"""

from __future__ import annotations

__all__ = ["sql_literal"]


def sql_literal(text: object) -> str:
    """``text`` as a SQL string literal: in single quotes, each ``'`` doubled."""
    return "'" + str(text).replace("'", "''") + "'"
