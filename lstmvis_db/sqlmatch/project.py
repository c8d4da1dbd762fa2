"""The SQL of a selection or a match on one open project, checked like the compiled path."""

from __future__ import annotations

from lstmvis_db import queries
from lstmvis_db.errors import QueryError
from lstmvis_db.queries import Catalog
from lstmvis_db.sqlmatch.generate import SourceRows, match_sql, select_sql


def _rows(cat: Catalog, source: str) -> SourceRows:
    info = cat.source(source)
    return SourceRows(info.source, info.sid, info.n_cells)


def selection(cat: Catalog, source: str, start: int, end: int, threshold: float, left_off: int = 1,
              right_off: int = 0) -> str:
    """``select --sql``: the SELECT that gives the cells ``Project.select`` gives."""
    src = _rows(cat, source)
    t = queries.check_threshold(threshold)
    start, end = queries.check_range(cat, start, end)
    if int(left_off) != left_off or int(right_off) != right_off or left_off < 0 or right_off < 0:
        raise QueryError(f"off-padding widths must be integers >= 0, got left {left_off!r}, right {right_off!r}")
    return select_sql(src, start, end, t, int(left_off), int(right_off))


def matching(cat: Catalog, source: str, cells: object, threshold: float, constrain_left: bool = True,
             constrain_right: bool = False, length: int = 0, limit: int = 50) -> str:
    """``match --sql``: the statements that give ``Project.match``'s matches and histograms
    (complete mode; the bounded ``pool`` mode has no SQL form)."""
    src = _rows(cat, source)
    t = queries.check_threshold(threshold)
    sel = queries.check_cells(cat.source(source), cells)
    if len(sel) == 0:
        raise QueryError("give at least one cell to match")
    if int(length) != length or length < 0:
        raise QueryError(f"length must be an integer >= 0, got {length!r}")
    if int(limit) != limit or limit < 1:
        raise QueryError(f"limit must be an integer >= 1, got {limit!r}")
    return match_sql(src, [int(c) for c in sel], t, bool(constrain_left), bool(constrain_right), int(length),
                     int(limit))
