"""The SQL of a selection or a match on one open project, checked like the compiled path."""

from __future__ import annotations

from lstmvis_db import queries
from lstmvis_db.errors import QueryError
from lstmvis_db.queries import Catalog
from lstmvis_db.sqlmatch.generate import SourceRows, align_spans_sql, align_sql, match_sql, select_sql


def _rows(cat: Catalog, source: str) -> SourceRows:
    info = cat.source(source)
    if info.value_dtype == "sparse":
        raise QueryError(f"source {source!r} is sparse: the SQL forms (--sql, the lstmvis_* macros) read dense "
                         "sources only; run the query without --sql")
    return SourceRows(info.source, info.sid, info.n_cells, info.quant.step, info.quant.zero)


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


def alignment(cat: Catalog, source: str | None = None, cells: object = None, threshold: float | None = None,
              constrain_left: bool = True, constrain_right: bool = False, length: int = 0, set_kind: str = "top",
              limit: int = 50, spans: object = None, tracks: list[str] | None = None,
              conditions: object = None) -> str:
    """``align --sql``: the statement that gives ``Project.align``'s ``tests`` (docs/sql.md);
    ``spans`` is a checked ``analysis.spans.Spans`` (a user's list) or None (the hypothesis)."""
    from lstmvis_db.analysis.align import check_conditions
    from lstmvis_db.analysis.corpus import check_tracks
    from lstmvis_db.analysis.spans import SETS, Spans

    kinds = check_tracks(cat, tracks)
    cat_tracks = [t for t, k in kinds.items() if k == "categorical"]
    conds = check_conditions(conditions)
    if isinstance(spans, Spans):
        return align_spans_sql(spans.start.tolist(), spans.length.tolist(), cat_tracks, conds)
    if source is None or cells is None or threshold is None:
        raise QueryError("give a source, cells and a threshold, or a list of spans")
    if set_kind not in SETS:
        raise QueryError(f"unknown match set {set_kind!r}; sets: {', '.join(SETS)}")
    matching(cat, source, cells, threshold, constrain_left, constrain_right, length, limit)  # the same checks
    sel = [int(c) for c in queries.check_cells(cat.source(source), cells)]
    return align_sql(_rows(cat, source), sel, queries.check_threshold(threshold), bool(constrain_left),
                     bool(constrain_right), int(length), set_kind, int(limit), cat_tracks, conds)
