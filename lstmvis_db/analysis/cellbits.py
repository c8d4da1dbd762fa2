"""Every cell's exact on-bits, read once, for the cell-set null (docs/analysis.md §3).

A cell-set null matches K random cell sets of one source at one threshold.  Matched one at a
time (``queries.match``), each set reads its cells' columns of the quantised index and, to rank
its candidates, the exact rows of all cells around them: ~150 ms a set at 1M x 650, nearly all
of it DuckDB.  Here the index is read once for every cell (``matchbits.selected_bits`` over every
64 cells: the very bits the matcher computes for any subset, exact where the bucket cannot tell),
kept as one word array, and each random set is matched by ``matching.match_arrays`` /
``matching.scored_candidates`` over its cells' bits taken from it, with the "rows" the rescoring
asks for served as on-indicators of all cells (thresholded at 1/2: on exactly when v >= t).  So
the matches, hence every statistic, are the ones ``queries.match`` gives, without a read per set.
With a quantile, the per-cell thresholds' bits come from ``coactivation.on_matrix`` as in
``thresholds.match_quantile``.

Memory: N x ceil(D / 64) x 8 bytes (88 MB at 1M x 650), kept on the catalog for one
(source, threshold) at a time; a project where that exceeds the match budget uses the per-set path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmvis_db import matchbits, queries
from lstmvis_db.errors import QueryError
from lstmvis_db.matching import algorithm as matching
from lstmvis_db.matching import budget
from lstmvis_db.queries import Catalog
from lstmvis_db.types import MatchResult

_CACHE_KEY = ("analysis", "cell_bits")
_QUANTILE_CHUNK = 32  # cells per on_matrix call when building quantile bits (N x 32 bools at a time)


def _word_dtype(m: int) -> type:
    """The matcher's word type for m selected cells (``matchbits.selected_bits``): the narrowest
    unsigned integer that holds them when they fit one word, else uint64 words."""
    if m > 64:
        return np.uint64
    return next(d for d in (np.uint8, np.uint16, np.uint32, np.uint64) if np.iinfo(d).bits >= m)


def _gather_kernel():
    from lstmvis_db.matching import kernels  # numba, with its cache folder set up by the matcher

    @kernels.njit(cache=True, nogil=True)
    def gather(words, word_of, bit_of, out):  # pragma: no cover - compiled
        """out[p] = sum over i of (bit ``bit_of[i]`` of ``words[word_of[i], p]``) << i."""
        one = np.uint64(1)
        for p in range(out.shape[0]):
            acc = np.uint64(0)
            for i in range(word_of.shape[0]):
                acc |= ((words[word_of[i], p] >> np.uint64(bit_of[i])) & one) << np.uint64(i)
            out[p] = acc

    return gather


_gather = None


def _kernel(dt: type):
    """The compiled gather, called once on tiny arrays of this word type first (so that loading
    or compiling it is not timed as part of a random set)."""
    global _gather
    if _gather is None:
        _gather = _gather_kernel()
    if dt not in _warm:
        _gather(np.zeros((1, 1), dtype=np.uint64), np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64),
                np.zeros(1, dtype=dt))
        _warm.add(dt)
    return _gather


_warm: set = set()


@dataclass(frozen=True)
class CellBits:
    """On-bits of every cell of ``source`` at ``key`` (a threshold, or ("quantile", q)):
    ``words[w, p]`` holds cell 64 w + b at bit b for position p."""

    source: str
    key: tuple
    n_cells: int
    words: np.ndarray  # (ceil(D / 64), N) uint64

    def selected(self, cells: np.ndarray) -> np.ndarray:
        """The bits of ``cells`` (sorted) in the matcher's layout: (N, 1) of the narrowest type,
        or (N, W) uint64 with cell i at bit i % 64 of word i // 64."""
        n, m = self.words.shape[1], len(cells)
        dt = _word_dtype(m)
        gather = _kernel(dt)
        word_of, bit_of = (np.asarray(cells, dtype=np.int64) // 64), (np.asarray(cells, dtype=np.int64) % 64)
        out: np.ndarray = np.empty(((m + 63) // 64, n), dtype=dt)
        for w in range(out.shape[0]):
            gather(self.words, word_of[64 * w:64 * w + 64], bit_of[64 * w:64 * w + 64], out[w])
        return np.ascontiguousarray(out.T) if out.shape[0] > 1 else out.reshape(n, 1)

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """(len(positions), D) uint8 on-indicators of all cells: what the rescoring compares with 1/2."""
        got = np.ascontiguousarray(self.words[:, np.asarray(positions, dtype=np.int64)].T)
        return np.unpackbits(got.view(np.uint8), axis=1, bitorder="little")[:, :self.n_cells]


def nbytes(cat: Catalog, source: str) -> int:
    return 8 * ((cat.source(source).n_cells + 63) // 64) * cat.n_positions


def fits(cat: Catalog, source: str) -> bool:
    """Whether every cell's bits fit the match budget (else the per-set path is used)."""
    return nbytes(cat, source) <= matchbits.memory_limit() // 2


def cell_bits(cat: Catalog, source: str, threshold: float | None, quantile_t: np.ndarray | None = None,
              quantile: float | None = None) -> CellBits:
    """Every cell's on-bits at ``threshold`` (or at the per-cell ``quantile_t`` of ``quantile``),
    cached on the catalog for the last (source, threshold) asked for."""
    if quantile is None and threshold is None:
        raise QueryError("give a threshold or a quantile")
    key = (source, float(threshold or 0.0)) if quantile is None else (source, "quantile", float(quantile))
    got = cat._cache.get(_CACHE_KEY)
    if isinstance(got, CellBits) and (got.source, *got.key) == key:
        return got
    cat._cache.pop(_CACHE_KEY, None)  # one at a time: free the last before building the next
    info = cat.source(source)
    n, d = cat.n_positions, info.n_cells
    budget.check(n, 8 * ((d + 63) // 64), 0, matchbits.memory_limit(), "reading every cell's bits")
    if quantile is None:
        assert threshold is not None
        words = np.empty(((d + 63) // 64, n), dtype=np.uint64)
        for w in range(len(words)):  # 64 cells a read: one word each, and large batches of index rows
            cells = np.arange(64 * w, min(d, 64 * w + 64), dtype=np.int64)
            bits = matchbits.selected_bits(cat, info, cells, float(threshold),
                                           lambda p: queries.rows_at(cat, source, p))
            words[w] = bits[:, 0]
    else:
        assert quantile_t is not None
        words = _quantile_words(cat, info, quantile_t)
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):  # in this thread, before sets are matched in others
        _kernel(dt)
    out = CellBits(source, key[1:], d, words)
    cat._cache[_CACHE_KEY] = out
    return out


def _quantile_words(cat: Catalog, info: queries.SourceInfo, t: np.ndarray) -> np.ndarray:
    from lstmvis_db.analysis.coactivation import on_matrix

    n, d = cat.n_positions, info.n_cells
    packed = np.zeros((n, (d + 63) // 64 * 8), dtype=np.uint8)
    for a in range(0, d, _QUANTILE_CHUNK):  # byte-aligned chunks (32 cells = 4 bytes)
        cells = np.arange(a, min(d, a + _QUANTILE_CHUNK), dtype=np.int64)
        on = on_matrix(cat, info, cells, t[cells])
        chunk = np.packbits(on, axis=1, bitorder="little")
        packed[:, a // 8:a // 8 + chunk.shape[1]] = chunk
    return np.ascontiguousarray(packed.view(np.uint64).T)


def drop(cat: Catalog) -> None:
    """Free the cached bits."""
    cat._cache.pop(_CACHE_KEY, None)


def _check(cat: Catalog, cells: np.ndarray, limit_bytes: int | None) -> None:
    if limit_bytes is not None:  # queries.match's check before reading (match_quantile has none)
        budget.check(cat.n_positions, 8 * ((len(cells) + 63) // 64), 0, limit_bytes)


def as_match(bits: CellBits, cat: Catalog, cells: np.ndarray, a: queries.MatchArgs,
             limit_bytes: int | None) -> MatchResult:
    """``queries.match``'s result for ``cells`` (sorted, unique) from the cached bits."""
    _check(cat, cells, limit_bytes)
    return matching.match_arrays(bits.selected(cells), cells, bits.n_cells, 0.5, bits.rows, cat.doc_first,
                                 cat.doc_last, constrain_left=a.constrain_left, constrain_right=a.constrain_right,
                                 length=a.length, limit=a.limit, pool=a.pool, memory_limit=limit_bytes)


def as_candidates(bits: CellBits, cat: Catalog, cells: np.ndarray, a: queries.MatchArgs,
                  limit_bytes: int | None) -> matching.ScoredCandidates:
    """``queries.match_candidates``'s result for ``cells`` from the cached bits."""
    _check(cat, cells, limit_bytes)
    return matching.scored_candidates(bits.selected(cells), cells, bits.n_cells, 0.5, bits.rows, cat.doc_first,
                                      cat.doc_last, a.constrain_left, a.constrain_right, a.length, a.pool)
