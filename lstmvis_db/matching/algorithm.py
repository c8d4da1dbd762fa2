"""The match algorithm of docs/semantics.md §Matching on arrays: candidates, exact scoring, ranking.

No database: ``queries.match`` feeds it the selected cells' on-bits (exact, from the quantised
index) and a function that fetches exact rows for rescoring.  Bits are packed little-endian
into words: cell c of a selection is bit c % 64 of word c // 64.  Words are uint64, except
that a selection of at most 64 cells may come as one narrower unsigned word (uint8 for up to
8 cells, ...), which halves or quarters the memory the passes touch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lstmvis_db.matching import budget
from lstmvis_db.matching.sparse import Rescorer
from lstmvis_db.types import Histogram, MatchResult, MatchRow

RESCORE_BATCH_ROWS = 32768  # at most; fewer for wide sources (budget.batch_rows)


@dataclass
class Candidates:
    """Candidate runs: start, length, best level k, neighbour counts (0 outside the document).

    Integer arrays of one kind: int32 below 2**31 positions, int64 above.
    """

    start: np.ndarray
    length: np.ndarray
    level: np.ndarray
    count_before: np.ndarray
    count_after: np.ndarray

    def take(self, idx: np.ndarray) -> Candidates:
        return Candidates(self.start[idx], self.length[idx], self.level[idx], self.count_before[idx],
                          self.count_after[idx])

    def __len__(self) -> int:
        return len(self.start)


def pack_bool(on: np.ndarray) -> np.ndarray:
    """(R, D) bool -> (R, ceil(D/64)) uint64 bitmasks."""
    r, d = on.shape
    nbytes = (d + 63) // 64 * 8
    packed = np.packbits(on, axis=1, bitorder="little")
    if packed.shape[1] < nbytes:
        packed = np.concatenate([packed, np.zeros((r, nbytes - packed.shape[1]), dtype=np.uint8)], axis=1)
    return np.ascontiguousarray(packed).view(np.uint64)


def cell_mask(cells: np.ndarray, n_cells: int) -> np.ndarray:
    """Bitmask words (uint64) with the given cells set."""
    on = np.zeros((1, n_cells), dtype=bool)
    on[0, cells] = True
    return pack_bool(on)[0]


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits per row of a (R, W) uint64 array."""
    return np.bitwise_count(words).sum(axis=-1, dtype=np.int64)


def boundary_masks(doc_first: np.ndarray, doc_last: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of document first and last positions."""
    starts = np.zeros(n, dtype=bool)
    ends = np.zeros(n, dtype=bool)
    starts[doc_first] = True
    ends[doc_last] = True
    return starts, ends


def find_candidates(count: np.ndarray, doc_start: np.ndarray, doc_end: np.ndarray, m: int,
                    length: int = 0) -> Candidates:
    """Every maximal run of count >= k (k = m..1) inside one document, length >= 2 (or == length).

    The same (start, length) found at several levels is one candidate with the largest k.  One
    compiled scan (``kernels.maximal_runs``) finds them all, ordered by end.
    """
    from lstmvis_db.matching import kernels  # numba loads on the first match, not with every command

    start, length_, level, before, after = kernels.maximal_runs(count, doc_start, doc_end, m, length)
    return Candidates(start, length_, level, before, after)


def run_and(words: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """AND of rows first[i]..last[i] (inclusive) of a (R, W) uint64 array, for each i."""
    from lstmvis_db.matching import kernels

    return kernels.range_and(np.ascontiguousarray(words), np.asarray(first, dtype=np.int64),
                             np.asarray(last, dtype=np.int64))


def selected_intersection(
    bits: np.ndarray, cand: Candidates, doc_start: np.ndarray, doc_end: np.ndarray,
    constrain_left: bool, constrain_right: bool,
) -> np.ndarray:
    """I = |A ∩ S| for every candidate, from the selected cells' bits alone (exact)."""
    from lstmvis_db.matching import kernels

    return kernels.intersections(np.ascontiguousarray(bits), cand.start, cand.length, doc_start, doc_end,
                                 bool(constrain_left), bool(constrain_right))


def pool_order(cand: Candidates, constrain_left: bool, constrain_right: bool, pool: int) -> np.ndarray:
    """Indices of the first ``pool`` candidates in the original's order.

    Passes run from k = m down and a pass is taken while fewer than ``pool`` candidates were
    collected before it; then a stable sort by boundary score (descending) within which pass
    order (k descending) and position (ascending) break ties; then the cut.
    """
    if len(cand) == 0:
        return np.zeros(0, dtype=np.int64)
    k = cand.level.astype(np.int64)
    score = np.zeros(len(cand), dtype=np.int64)
    if constrain_left:
        score += k - cand.count_before
    if constrain_right:
        score += k - cand.count_after
    if constrain_left and constrain_right:
        score -= k  # both: k - prev - next
    levels, counts = np.unique(k, return_counts=True)
    levels, counts = levels[::-1], counts[::-1]
    before = np.concatenate([[0], np.cumsum(counts)[:-1]])
    taken = set(levels[before < pool].tolist())
    keep = np.flatnonzero(np.isin(k, list(taken)))
    order = np.lexsort((cand.start[keep], -k[keep], -score[keep]))
    return keep[order][:pool]


def rescore(
    cand: Candidates, fetch_rows: Callable[[np.ndarray], np.ndarray], threshold: float, cells: np.ndarray,
    n_cells: int, doc_start: np.ndarray, doc_end: np.ndarray, constrain_left: bool, constrain_right: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """(I, U) of each candidate scored on all cells of the source from exact rows."""
    m_mask = cell_mask(cells, n_cells)
    s, e = cand.start, cand.start + cand.length - 1
    lo = s - (constrain_left & ~doc_start[s]).astype(np.int64)
    hi = e + (constrain_right & ~doc_end[e]).astype(np.int64)
    inter = np.zeros(len(cand), dtype=np.int64)
    union = np.zeros(len(cand), dtype=np.int64)
    spans = hi - lo + 1
    t = np.float64(threshold)
    rows = min(RESCORE_BATCH_ROWS, budget.batch_rows(n_cells * 6))  # float32 rows, bools, bits
    long = np.flatnonzero(spans > rows)
    for i in long:  # a run longer than a batch: AND its rows a batch at a time
        a = _long_run_and(fetch_rows, t, int(lo[i]), int(s[i]), int(e[i]), int(hi[i]), rows)
        inter[i] = popcount(a & m_mask)
        union[i] = len(cells) + popcount(a & ~m_mask)
    short = np.flatnonzero(spans <= rows)
    cum = np.cumsum(spans[short])
    a0 = 0
    while a0 < len(short):
        b0 = int(np.searchsorted(cum, (cum[a0 - 1] if a0 else 0) + rows, side="right"))
        b0 = max(b0, a0 + 1)
        sl = short[a0:b0]
        pos = np.unique(expand_ranges(lo[sl], hi[sl]))
        on = pack_bool(fetch_rows(pos) >= t)
        first = np.searchsorted(pos, s[sl])
        last = np.searchsorted(pos, e[sl])
        a = run_and(on, first, last)
        left = (lo[sl] < s[sl])
        if left.any():
            a[left] &= ~on[first[left] - 1]
        right = (hi[sl] > e[sl])
        if right.any():
            a[right] &= ~on[last[right] + 1]
        inter[sl] = popcount(a & m_mask)
        union[sl] = len(cells) + popcount(a & ~m_mask)
        a0 = b0
    return inter, union


def _rescore(cand: Candidates, fetch_rows: Callable[[np.ndarray], np.ndarray], threshold: float, cells: np.ndarray,
             n_cells: int, doc_start: np.ndarray, doc_end: np.ndarray, constrain_left: bool, constrain_right: bool,
             rescorer: Rescorer | None) -> tuple[np.ndarray, np.ndarray]:
    """``rescore`` from exact rows, or from a sparse source's exceptions when ``rescorer`` is given."""
    if rescorer is None:
        return rescore(cand, fetch_rows, threshold, cells, n_cells, doc_start, doc_end, constrain_left,
                       constrain_right)
    s, e = cand.start.astype(np.int64), (cand.start + cand.length - 1).astype(np.int64)
    lo = s - (constrain_left & ~doc_start[s]).astype(np.int64)
    hi = e + (constrain_right & ~doc_end[e]).astype(np.int64)
    return rescorer(s, cand.length.astype(np.int64), lo, hi, np.asarray(cells, dtype=np.int64))


def _long_run_and(fetch_rows: Callable[[np.ndarray], np.ndarray], t: np.float64, lo: int, s: int, e: int, hi: int,
                  rows: int) -> np.ndarray:
    """Cells (bit words) on at every position s..e, and off at lo < s and hi > e: a batch of
    ``rows`` positions at a time, stopping once no cell is left."""
    acc = None
    for p in [q for q in (lo, hi) if q < s or q > e]:  # the constraint rows first: they may settle it
        off = ~pack_bool(fetch_rows(np.array([p], dtype=np.int64)) >= t)[0]
        acc = off if acc is None else acc & off
    for a in range(s, e + 1, rows):
        if acc is not None and not acc.any():
            break
        on = pack_bool(fetch_rows(np.arange(a, min(e, a + rows - 1) + 1, dtype=np.int64)) >= t)
        part = np.bitwise_and.reduce(on, axis=0)
        acc = part if acc is None else acc & part
    assert acc is not None
    return acc


def expand_ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """All integers of the inclusive ranges lo[i]..hi[i], concatenated."""
    spans = hi - lo + 1
    if len(spans) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(spans) - spans
    return np.arange(int(spans.sum()), dtype=np.int64) - np.repeat(starts - lo, spans)


def rank(inter: np.ndarray, union: np.ndarray, cand: Candidates) -> np.ndarray:
    """Order: I descending, U ascending, length descending, start ascending."""
    return np.lexsort((cand.start, -cand.length, union, -inter))


def histograms(lengths: np.ndarray, missing: np.ndarray) -> Histogram:
    """fuzzy[L] = candidates of length L; strict[L] = those with nothing missing."""
    def hist(x: np.ndarray) -> dict[str, int]:
        vals, counts = np.unique(x, return_counts=True)
        return {str(int(v)): int(c) for v, c in zip(vals, counts)}

    return {"fuzzy": hist(lengths), "strict": hist(lengths[missing == 0])}


def match_arrays(
    bits: np.ndarray, cells: np.ndarray, n_cells: int, threshold: float,
    fetch_rows: Callable[[np.ndarray], np.ndarray], doc_first: np.ndarray, doc_last: np.ndarray,
    constrain_left: bool = True, constrain_right: bool = False, length: int = 0, limit: int = 50,
    pool: int | None = None, memory_limit: int | None = None, rescorer: Rescorer | None = None,
) -> MatchResult:
    """The whole match over arrays; ``bits`` holds the selected cells' exact on-bits (N, W).
    With ``memory_limit`` (bytes), a match whose estimate (``budget``) is larger is refused
    before its candidates are collected.  ``rescorer`` (a sparse source's, ``matching.sparse``)
    scores the candidates on all cells instead of ``fetch_rows``."""
    n = bits.shape[0]
    m = len(cells)
    doc_start, doc_end = boundary_masks(doc_first, doc_last, n)
    if bits.shape[1] == 1:
        count = np.bitwise_count(bits[:, 0])
    else:
        count = popcount(bits).astype(np.uint16) if m < 2**16 else popcount(bits)
    if memory_limit is not None:
        from lstmvis_db.matching import kernels  # budget.candidate_bound, compiled

        budget.check(n, bits.shape[1] * bits.itemsize, kernels.count_rises(count, doc_start, m), memory_limit)
    cand = find_candidates(count, doc_start, doc_end, m, length)
    if pool is not None:
        cand = cand.take(pool_order(cand, constrain_left, constrain_right, pool))
    inter_sel = selected_intersection(bits, cand, doc_start, doc_end, constrain_left, constrain_right)
    hist = histograms(cand.length, m - inter_sel)
    # Only candidates whose I reaches the limit-th best I can enter the result: rescore those.
    if len(cand) > limit:
        cutoff = np.partition(inter_sel, len(cand) - limit)[len(cand) - limit]
        need = np.flatnonzero(inter_sel >= cutoff)
    else:
        need = np.arange(len(cand))
    sub = cand.take(need)
    inter, union = _rescore(sub, fetch_rows, threshold, cells, n_cells, doc_start, doc_end, constrain_left,
                            constrain_right, rescorer)
    if not np.array_equal(inter, inter_sel[need]):
        raise AssertionError("internal error: the quantised index and the exact rows disagree")
    top = rank(inter, union, sub)[:limit]
    matches: list[MatchRow] = [
        {
            "start": int(sub.start[i]), "length": int(sub.length[i]),
            "intersection": int(inter[i]), "union": int(union[i]),
            "jaccard": float(inter[i] / union[i]) if union[i] else 0.0, "missing": int(m - inter[i]),
        }
        for i in top
    ]
    return {"matches": matches, "histogram": hist, "candidates": len(cand)}


# --------------------------------------------------------------------------- all candidates (align)


@dataclass(frozen=True)
class ScoredCandidates:
    """Every candidate a match scores, in candidate order: start, length, I, missing, and U
    (``None`` unless asked for: it needs the exact rows of every candidate)."""

    start: np.ndarray
    length: np.ndarray
    intersection: np.ndarray
    missing: np.ndarray
    union: np.ndarray | None


def scored_candidates(
    bits: np.ndarray, cells: np.ndarray, n_cells: int, threshold: float,
    fetch_rows: Callable[[np.ndarray], np.ndarray], doc_first: np.ndarray, doc_last: np.ndarray,
    constrain_left: bool = True, constrain_right: bool = False, length: int = 0, pool: int | None = None,
    with_union: bool = False, rescorer: Rescorer | None = None,
) -> ScoredCandidates:
    """The candidate set of ``match_arrays`` with the same options, not cut by a limit."""
    starts, ends = boundary_masks(doc_first, doc_last, bits.shape[0])
    cand = find_candidates(popcount(bits), starts, ends, len(cells), length)
    if pool is not None:
        cand = cand.take(pool_order(cand, constrain_left, constrain_right, pool))
    inter = selected_intersection(bits, cand, starts, ends, constrain_left, constrain_right).astype(np.int64)
    union = None
    if with_union:
        _, union = _rescore(cand, fetch_rows, threshold, cells, n_cells, starts, ends, constrain_left, constrain_right,
                            rescorer)
    return ScoredCandidates(cand.start.astype(np.int64), cand.length.astype(np.int64), inter,
                            len(cells) - inter, union)
