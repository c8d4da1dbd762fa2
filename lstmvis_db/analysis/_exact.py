"""Exact values behind the 14-bit index: bucketed statistics refined where a bucket is ambiguous.

The quantiser's buckets are exact (a value's bucket is decided against float64 edges), so the
order of two values in different buckets is known from the index alone; only pairs or order
statistics inside one bucket need the exact float values, which ``Exact`` fetches.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from lstmvis_db import queries
from lstmvis_db.matching.quant import LEVELS, Quantizer
from lstmvis_db.queries import Catalog, SourceInfo

# projects up to this many values are read into memory once; larger ones fetch rows on demand
_IN_MEMORY = 16_000_000
_BLOCK = 65536


class Exact:
    """Exact float values of one source: whole columns, or chosen positions of one cell."""

    def __init__(self, cat: Catalog, info: SourceInfo) -> None:
        self.cat, self.info = cat, info
        n = cat.n_positions
        self.full: np.ndarray | None = None
        self._cols: dict[int, int] = {}  # cell -> column of ``_chunk`` (prefetched exact columns)
        self._chunk: np.ndarray | None = None
        if n * info.n_cells <= _IN_MEMORY:
            self.full = queries.window(cat, info.source, 0, n - 1)

    def prefetch(self, cells: np.ndarray) -> None:
        """Read the exact columns of ``cells`` in one scan (for a large source whose rows are
        not in memory), so refinements of these cells need no row look-ups."""
        if self.full is not None:
            return
        from lstmvis_db.analysis._labels import exact_columns

        self._chunk = exact_columns(self.cat, self.info, cells)
        self._cols = {int(c): i for i, c in enumerate(cells)}

    def at(self, cell: int, positions: np.ndarray) -> np.ndarray:
        """Values (float64) of ``cell`` at sorted positions."""
        if len(positions) == 0:
            return np.zeros(0)
        if self.full is not None:
            return self.full[positions, cell].astype(np.float64)
        if self._chunk is not None and cell in self._cols:
            return self._chunk[positions, self._cols[cell]].astype(np.float64)
        return queries.rows_at(self.cat, self.info.source, positions)[:, cell].astype(np.float64)

    def blocks(self):
        """(first position, rows) blocks covering the corpus in order."""
        n = self.cat.n_positions
        if self.full is not None:
            yield 0, self.full
            return
        for a in range(0, n, _BLOCK):
            yield a, queries.window(self.cat, self.info.source, a, min(n, a + _BLOCK) - 1)


def _average_ranks(v: np.ndarray) -> np.ndarray:
    """1-based ranks of v, ties sharing their average rank."""
    order = np.argsort(v, kind="stable")
    sv = v[order]
    first = np.r_[True, sv[1:] != sv[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(sv)]
    avg = (starts + ends + 1) / 2.0
    out = np.empty(len(v))
    out[order] = avg[group]
    return out


def _refine_buckets(bound: np.ndarray, pairs: np.ndarray, buckets: np.ndarray, tol: float) -> np.ndarray:
    """The fewest buckets (largest share first) whose refinement leaves every bound <= tol."""
    weight = pairs.max(axis=1)
    order = np.argsort(-weight, kind="stable")
    left = bound[None, :] - np.cumsum(pairs[order], axis=0)
    ok = np.flatnonzero(left.max(axis=1) <= tol)
    k = int(ok[0]) + 1 if len(ok) else len(order)
    return buckets[order[:k]]


def aurocs(q: np.ndarray, codes: np.ndarray, groups: np.ndarray, fetch, tol: float = 1e-4,
           fine: np.ndarray | None = None) -> np.ndarray:
    """AUROC of the values behind buckets ``q`` as a score for each target label (one vs rest).

    ``codes`` (K fine codes per position) and ``groups`` (K, M) 0/1: target m is the union of
    the codes with ``groups[:, m]`` set.  Ranks from the index treat values sharing a bucket as
    tied (a tie counts one half); the pairs inside a bucket bound each target's error, and the
    buckets that carry most of it are re-ranked with the exact values ``fetch(index array into
    q) -> float64`` until every bound is <= ``tol``.  NaN for a target held by none or all.
    ``fine``: the (LEVELS, K) histogram of (bucket, code) when the caller already has it.
    """
    n, k = len(q), groups.shape[0]
    if fine is None:
        fine = np.bincount(q * k + codes, minlength=LEVELS * k).reshape(LEVELS, k)
    hist = fine @ groups
    tot = fine.sum(axis=1)
    n_m = hist.sum(axis=0).astype(np.float64)
    scale = n_m * (n - n_m)
    below = (np.cumsum(tot) - tot).astype(np.float64)
    rank_b = below + (tot + 1) / 2.0  # every value of a bucket at the bucket's average rank
    ranks = rank_b @ hist
    mixed = np.flatnonzero((hist > 0).any(axis=1) & (hist < tot[:, None]).any(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        pairs = np.nan_to_num(0.5 * hist[mixed] * (tot[mixed, None] - hist[mixed]) / scale[None, :])
        bound = pairs.sum(axis=0)
        if (bound > tol).any():
            need = _refine_buckets(bound, pairs, mixed, tol)
            mark = np.zeros(LEVELS, dtype=bool)
            mark[need] = True
            idx = np.flatnonzero(mark[q])
            r_sub = _average_ranks(fetch(idx))
            cnt = np.where(mark, tot, 0)
            offset = np.cumsum(cnt) - cnt  # refined values in lower refined buckets
            qb = q[idx]
            delta = np.bincount(codes[idx], weights=below[qb] + r_sub - offset[qb] - rank_b[qb], minlength=k)
            ranks = ranks + delta @ groups
        u = ranks - n_m * (n_m + 1) / 2.0
        return np.where(scale > 0, u / scale, np.nan)


def on_counts(hist: np.ndarray, q: np.ndarray, codes: np.ndarray, quant: Quantizer, t: float, fetch) -> np.ndarray:
    """Per label k, how many positions with code k have value >= t (hist: (LEVELS, K))."""
    j, exact = quant.threshold_bucket(t)
    if j < 0:
        return hist.sum(axis=0)
    if j >= LEVELS:
        return np.zeros(hist.shape[1], dtype=np.int64)
    on = hist[j + 1:].sum(axis=0).astype(np.int64)
    if exact:
        return on + hist[j]
    idx = np.flatnonzero(q == j)
    if len(idx):
        hit = fetch(idx) >= np.float64(t)
        on += np.bincount(codes[idx][hit], minlength=hist.shape[1])
    return on


def quantile(q: np.ndarray, level: float, fetch) -> float:
    """``quantile_cont(v, level)`` (DuckDB, over DOUBLE) of the values behind buckets ``q``."""
    n = len(q)
    hist = np.bincount(q, minlength=LEVELS)
    cum = np.cumsum(hist)
    h = (n - 1) * level
    lo, hi = int(np.floor(h)), int(np.ceil(h))

    def order_stat(r: int) -> float:
        b = int(np.searchsorted(cum, r, side="right"))
        vals = np.sort(fetch(np.flatnonzero(q == b)))
        return float(vals[r - (cum[b] - hist[b])])

    x_lo = order_stat(lo)
    x_hi = x_lo if hi == lo else order_stat(hi)
    return interpolate(x_lo, x_hi, h - lo)


def interpolate(lo: float, hi: float, d: float) -> float:
    """DuckDB's ``quantile_cont`` interpolation, bit for bit: ``lo * (1 - d) + hi * d`` as its
    build evaluates it (the first product fused into the sum, one rounding; checked against
    DuckDB in the tests)."""
    if d == 0.0:
        return float(lo)
    return float(Fraction(lo) * Fraction(1.0 - d) + Fraction(hi * d))
