"""Quantile thresholds (docs/analysis.md §A cell's profile): "on" at each cell's own q-quantile over the corpus,
for selection and matching (docs/semantics.md §Matching with t replaced by Q_c(q) per cell).

Matching reuses the single-threshold machinery unchanged: the selected cells' exact on-bits
come from ``coactivation.on_matrix`` (per-cell bucket levels on the 14-bit index), and the
rescoring reads rows shifted by each cell's threshold against 0 (for floats, v - t >= 0
exactly when v >= t), so the fast single-threshold path is not touched.
"""

from __future__ import annotations

import numpy as np

from lstmvis_db import queries
from lstmvis_db.analysis.coactivation import cell_thresholds, on_matrix
from lstmvis_db.errors import QueryError
from lstmvis_db.matching import algorithm as matching
from lstmvis_db.queries import Catalog, check_cells, check_match_args, check_range
from lstmvis_db.types import MatchResult


class QuantileMatchResult(MatchResult):
    """A match with per-cell thresholds: the query cells' thresholds {cell: t} besides the match."""

    thresholds: dict[str, float]


def quantile_thresholds(cat: Catalog, source: str, quantile: float) -> np.ndarray:
    """Q_c(q) of every cell of ``source`` (DuckDB quantile_cont; cached per catalog)."""
    info = cat.source(source)
    key = ("quantile_thresholds", source, float(quantile))
    if key not in cat._cache:
        cat._cache[key] = cell_thresholds(cat, info, np.arange(info.n_cells), None, quantile)
    return cat._cache[key]


def select_quantile(cat: Catalog, source: str, start: int, end: int, quantile: float, left_off: int = 1,
                    right_off: int = 0) -> list[int]:
    """docs/semantics.md §Matching selection with each cell on at its own q-quantile."""
    cat.source(source)
    start, end = check_range(cat, start, end)
    if int(left_off) != left_off or int(right_off) != right_off or left_off < 0 or right_off < 0:
        raise QueryError(f"off-padding widths must be integers >= 0, got left {left_off!r}, right {right_off!r}")
    t = quantile_thresholds(cat, source, quantile)
    doc = cat.doc_of(start)
    if cat.doc_of(end) != doc:
        raise QueryError(f"range {start}..{end} crosses a document boundary")
    lo = max(int(cat.doc_first[doc]), start - int(left_off))
    hi = min(int(cat.doc_last[doc]), end + int(right_off))
    vals = queries.window(cat, source, lo, hi).astype(np.float64)
    inside = np.zeros(hi - lo + 1, dtype=bool)
    inside[start - lo:end - lo + 1] = True
    on = vals >= t[None, :]
    ok = on[inside].all(axis=0) & ~on[~inside].any(axis=0)
    return [int(c) for c in np.flatnonzero(ok)]


def match_quantile(cat: Catalog, source: str, cells: object, quantile: float, constrain_left: bool = True,
                   constrain_right: bool = False, length: int = 0, limit: int = 50,
                   pool: int | None = None) -> QuantileMatchResult:
    """docs/semantics.md §Matching matching with per-cell thresholds; adds ``thresholds`` {cell: t} of the query."""
    info = cat.source(source)
    sel = check_cells(info, cells)
    a = check_match_args(constrain_left, constrain_right, length, limit, pool)
    t = quantile_thresholds(cat, source, quantile)
    if len(sel) == 0:
        return {"matches": [], "histogram": {"fuzzy": {}, "strict": {}}, "candidates": 0, "thresholds": {}}
    bits = matching.pack_bool(on_matrix(cat, info, sel, t[sel]))

    def shifted(pos: np.ndarray) -> np.ndarray:
        return queries.rows_at(cat, source, pos).astype(np.float64) - t[None, :]

    out = matching.match_arrays(bits, sel, info.n_cells, 0.0, shifted, cat.doc_first, cat.doc_last,
                                constrain_left=a.constrain_left, constrain_right=a.constrain_right,
                                length=a.length, limit=a.limit, pool=a.pool)
    return {"matches": out["matches"], "histogram": out["histogram"], "candidates": out["candidates"],
            "thresholds": {str(int(c)): float(t[c]) for c in sel}}
