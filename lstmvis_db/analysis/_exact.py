"""Exact values behind the 14-bit index: bucketed statistics refined where a bucket is ambiguous.

The quantiser's buckets are exact (a value's bucket is decided against float64 edges), so the
order of two values in different buckets is known from the index alone; only pairs or order
statistics inside one bucket need the exact float values, which ``Exact`` fetches.
"""

from __future__ import annotations

import functools
import os
import threading
from fractions import Fraction

import numpy as np

from lstmvis_db import queries
from lstmvis_db.analysis import _labels, _rowpass
from lstmvis_db.errors import QueryError
from lstmvis_db.matching.quant import LEVELS, Quantizer
from lstmvis_db.queries import Catalog, SourceInfo

# projects up to this many values are read into memory once; larger ones fetch rows on demand
_IN_MEMORY = 16_000_000
_BLOCK = 65536
_CHUNK = 64


# What an open project keeps (codes, bucket values) is shared by every thread using it (app
# sessions): the computations that fill and read it take this lock, one at a time per process.
LOCK = threading.RLock()


def serialised(fn):
    """``fn`` run under :data:`LOCK`."""
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        with LOCK:
            return fn(*args, **kwargs)
    return inner


def cache_bytes() -> int:
    """Bytes of derived data (codes, exact bucket values) an open project keeps per source:
    ``LSTMVIS_CELL_CACHE_MB`` (default 2048)."""
    try:
        mb = float(os.environ.get("LSTMVIS_CELL_CACHE_MB", "2048"))
    except ValueError:
        mb = 2048.0
    return int(max(mb, 0.0) * 2**20)


def codes(cat: Catalog, info: SourceInfo) -> np.ndarray | None:
    """The 14-bit codes (cells, N) uint16 of every cell, one cell's positions contiguous, read
    once per open project (through ``_labels.quantized_columns``, 64 cells a query) and kept;
    None when they exceed :func:`cache_bytes` (callers then read chunks of cells)."""
    key = ("codes", info.sid)
    if key not in cat._cache:
        n = cat.n_positions
        if info.n_cells * n * 2 > cache_bytes():
            return None
        out = np.empty((info.n_cells, n), dtype=np.uint16)
        for a in range(0, info.n_cells, _CHUNK):
            chunk = np.arange(a, min(info.n_cells, a + _CHUNK))
            _labels.quantized_columns(cat, info, chunk, out[a:a + len(chunk)])
        cat._cache[key] = out
    return cat._cache[key]


def code_chunks(cat: Catalog, info: SourceInfo, cells: np.ndarray):
    """(cells, their codes (len, N)) covering ``cells``: one piece when the codes are kept,
    else 64 cells a read."""
    cells = np.asarray(cells, dtype=np.int64)
    full = codes(cat, info)
    if full is not None:
        same = len(cells) == info.n_cells and np.array_equal(cells, np.arange(info.n_cells))
        yield cells, (full if same else full[cells])
        return
    for a in range(0, len(cells), _CHUNK):
        chunk = cells[a:a + _CHUNK]
        yield chunk, np.ascontiguousarray(_labels.quantized_columns(cat, info, chunk).T)


class Exact:
    """Exact float values of one source: in memory for a small source, else read on demand in
    one pass for many cells at once (``fetch``), through ``queries.window`` / ``rows_at`` /
    ``_labels.exact_columns``."""

    def __init__(self, cat: Catalog, info: SourceInfo) -> None:
        self.cat, self.info = cat, info
        n = cat.n_positions
        self.full: np.ndarray | None = None
        if n * info.n_cells <= _IN_MEMORY:
            key = ("exact_full", info.sid)
            if key not in cat._cache:
                cat._cache[key] = queries.window(cat, info.source, 0, n - 1)
            self.full = cat._cache[key]

    def fetch(self, wanted: dict[int, np.ndarray], on_block=None) -> dict[int, np.ndarray]:
        """Values (float32) of each cell at its sorted positions ``wanted[cell]``, in one read;
        ``on_block(first position, rows)`` sees every block of a full pass when one is made (it
        is made whenever ``on_block`` is given)."""
        if self.full is not None:
            if on_block is not None:
                on_block(0, self.full)
            return {c: self.full[p, c] for c, p in wanted.items()}
        total = sum(len(p) for p in wanted.values())
        if on_block is None and total == 0:
            return {c: np.zeros(0, np.float32) for c in wanted}
        if on_block is None and total <= _BLOCK:
            union = np.unique(np.concatenate(list(wanted.values())))
            rows = queries.rows_at(self.cat, self.info.source, union)
            return {c: rows[np.searchsorted(union, p), c] for c, p in wanted.items()}
        if on_block is None and len(wanted) <= 4:
            cells = np.array(sorted(wanted))
            cols = _labels.exact_columns(self.cat, self.info, cells)
            return {int(c): cols[wanted[int(c)], i] for i, c in enumerate(cells)}
        out = {c: np.empty(len(p), np.float32) for c, p in wanted.items()}
        n = self.cat.n_positions
        # a wide sparse source's dense blocks stay within _IN_MEMORY values
        block = max(1, min(_BLOCK, _IN_MEMORY // self.info.n_cells)) if self.info.sparse else _BLOCK
        for a in range(0, n, block):
            b = min(n, a + block)
            direct = on_block is None and not self.info.sparse
            if direct and _rowpass.gather_runs(self.cat, self.info, a, b, wanted, out):
                continue
            rows = queries.window(self.cat, self.info.source, a, b - 1)
            if on_block is not None:
                on_block(a, rows)
            _rowpass.gather(rows, a, wanted, out)
        return out


def in_buckets(codes_c: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """The positions (sorted) whose code is a ``mark``ed bucket.  One bucket (a threshold's:
    most cells of a first ranking) by comparing the codes, several times faster than looking
    every code up in ``mark``; more by ``np.take`` (half the time of indexing ``mark[codes]``)."""
    buckets = np.flatnonzero(mark)
    if len(buckets) == 1:
        return np.flatnonzero(codes_c == buckets[0])
    return np.flatnonzero(np.take(mark, codes_c))


class BucketValues:
    """Exact values of chosen (cell, bucket) pairs, kept per open project (up to
    :func:`cache_bytes`): the buckets the index cannot decide (a threshold's bucket, a
    quantile's, the ties an AUROC refines) are read once, for every cell at once."""

    def __init__(self, cat: Catalog, info: SourceInfo) -> None:
        self.cat, self.info = cat, info
        self.marks: dict[int, np.ndarray] = {}  # cell -> buckets held
        self.pos: dict[int, np.ndarray] = {}
        self.val: dict[int, np.ndarray] = {}
        self.nbytes = 0
        self.derived: dict[tuple, tuple] = {}  # (cell, key) -> what a caller derived from the cell's values

    @classmethod
    def of(cls, cat: Catalog, info: SourceInfo) -> BucketValues:
        key = ("bucket_values", info.sid)
        if key not in cat._cache:
            cat._cache[key] = cls(cat, info)
        return cat._cache[key]

    def ensure(self, want: dict[int, np.ndarray], col_of, on_block=None) -> None:
        """Hold the values of ``want[cell]`` (bucket numbers) for each cell; ``col_of(cell)`` is
        its codes (N,).  One read for every missing pair (and ``on_block`` as in Exact.fetch)."""
        new = self._missing(want, col_of)
        if self.nbytes + 12 * sum(len(p) for _, p in new.values()) > cache_bytes():
            self.marks, self.pos, self.val, self.nbytes, self.derived = {}, {}, {}, 0, {}  # over budget: afresh
            new = self._missing(want, col_of)
        if not new and on_block is None:
            return
        got = Exact(self.cat, self.info).fetch({c: p for c, (_, p) in new.items()}, on_block)
        for c, (mark, p) in new.items():
            pos = np.concatenate([self.pos.get(c, np.zeros(0, np.int64)), p])
            val = np.concatenate([self.val.get(c, np.zeros(0, np.float32)), got[c]])
            order = np.argsort(pos, kind="stable")
            self.pos[c], self.val[c], self.marks[c] = pos[order], val[order], mark
            self.nbytes += 12 * len(p)
            self.derived = {k: v for k, v in self.derived.items() if k[0] != c}

    def _missing(self, want: dict[int, np.ndarray], col_of) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """cell -> (buckets held after the read, positions to read)."""
        out = {}
        for c, buckets in want.items():
            mark = self.marks.get(c, np.zeros(LEVELS, dtype=bool))
            add = np.zeros(LEVELS, dtype=bool)
            add[np.asarray(buckets, dtype=np.int64)] = True
            add &= ~mark
            if add.any():
                out[c] = (mark | add, in_buckets(col_of(c), add))
        return out

    def at(self, cell: int, positions: np.ndarray) -> np.ndarray:
        """Values (float64) of ``cell`` at sorted positions inside buckets it holds."""
        if len(positions) == 0:
            return np.zeros(0)
        p = self.pos[cell]
        i = np.searchsorted(p, positions)
        if i[-1] >= len(p) or not np.array_equal(p[i], positions):
            raise QueryError("internal error: exact values asked for outside the buckets read")
        return self.val[cell][i].astype(np.float64)


def _average_ranks(v: np.ndarray) -> np.ndarray:
    """1-based ranks of v, ties sharing their average rank (so the sort need not be stable)."""
    order = np.argsort(v)
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


def _bucketed(fine: np.ndarray, groups: np.ndarray):
    """From the (LEVELS, K) histogram of (bucket, code): per target, its histogram, the bucket
    totals, sizes, n_m (n - n_m), bucket average ranks and the within-bucket pairs of mixed buckets."""
    hist = fine @ groups
    tot = fine.sum(axis=1)
    n = int(tot.sum())
    n_m = hist.sum(axis=0).astype(np.float64)
    scale = n_m * (n - n_m)
    below = (np.cumsum(tot) - tot).astype(np.float64)
    rank_b = below + (tot + 1) / 2.0  # every value of a bucket at the bucket's average rank
    mixed = np.flatnonzero((hist > 0).any(axis=1) & (hist < tot[:, None]).any(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        pairs = np.nan_to_num(0.5 * hist[mixed] * (tot[mixed, None] - hist[mixed]) / scale[None, :])
    return hist, tot, n_m, scale, below, rank_b, mixed, pairs


def refine_plan(fine: np.ndarray, groups: np.ndarray, tol: float = 1e-4) -> np.ndarray:
    """The buckets whose exact values :func:`aurocs` will ask for (empty when none)."""
    _, _, _, _, _, _, mixed, pairs = _bucketed(fine, groups)
    bound = pairs.sum(axis=0)
    return _refine_buckets(bound, pairs, mixed, tol) if (bound > tol).any() else np.zeros(0, np.int64)


def histogram(q: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """The (LEVELS, k) histogram of (bucket, code)."""
    return np.bincount(q * k + codes, minlength=LEVELS * k).reshape(LEVELS, k)


def aurocs(q: np.ndarray, codes: np.ndarray, groups: np.ndarray, fetch, tol: float = 1e-4,
           fine: np.ndarray | None = None) -> np.ndarray:
    """AUROC of the values behind buckets ``q`` as a score for each target label (one vs rest).

    ``codes`` (K fine codes per position) and ``groups`` (K, M) 0/1: target m is the union of
    the codes with ``groups[:, m]`` set.  Ranks from the index treat values sharing a bucket as
    tied (a tie counts one half); the pairs inside a bucket bound each target's error, and the
    buckets that carry most of it (:func:`refine_plan`) are re-ranked with the exact values
    ``fetch(index array into q) -> float64`` until every bound is <= ``tol``.  NaN for a target
    held by none or all.  ``fine``: the (LEVELS, K) histogram of (bucket, code) when the caller
    already has it.
    """
    k = groups.shape[0]
    if fine is None:
        fine = histogram(q, codes, k)
    hist, tot, n_m, scale, below, rank_b, mixed, pairs = _bucketed(fine, groups)
    ranks = rank_b @ hist
    bound = pairs.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if (bound > tol).any():
            mark = np.zeros(LEVELS, dtype=bool)
            mark[_refine_buckets(bound, pairs, mixed, tol)] = True
            ranks = ranks + rank_delta(q, codes, k, mark, fetch, tot) @ groups
        u = ranks - n_m * (n_m + 1) / 2.0
        return np.where(scale > 0, u / scale, np.nan)


def bucket_rank_offsets(pos: np.ndarray, values: np.ndarray, q: np.ndarray,
                        order: np.ndarray | None = None) -> np.ndarray:
    """For values grouped in whole buckets ``q``: each value's average rank inside its bucket
    minus the bucket's average rank ((size + 1) / 2): what ranking a bucket by exact values
    adds to each position's rank (``rank_delta`` without sorting again).  Order as ``pos``.

    Buckets are monotone in the value (``Quantizer.bucket``), so one sort by value is the sort
    by (bucket, value) that the result is defined by, at a fraction of ``lexsort``'s cost; the
    order inside a run of equal (bucket, value) does not change any output.  Checked: where the
    buckets are not in order along it, ``lexsort`` is used.  ``order``: an argsort of ``values``
    when the caller has one (a larger sort, filtered)."""
    n = len(q)
    if n == 0:
        return np.zeros(0)
    if order is None:
        order = np.argsort(values)
    qs = q[order]
    if n > 1 and bool((qs[1:] < qs[:-1]).any()):
        order = np.lexsort((values, q))
        qs = q[order]
    vs = values[order]
    new_b = np.r_[True, qs[1:] != qs[:-1]]
    tie = new_b.copy()
    tie[1:] |= vs[1:] != vs[:-1]
    b_start = np.flatnonzero(new_b)
    b_size = np.diff(np.r_[b_start, n])
    t_start = np.flatnonzero(tie)  # a run of equal (bucket, value): inside one bucket
    t_size = np.diff(np.r_[t_start, n])
    of_b = np.cumsum(new_b)[t_start] - 1  # each run's bucket
    avg = t_start + (t_size + 1) / 2.0  # 1-based average rank of a run among the sorted values
    out = np.empty(n)
    out[order] = np.repeat(avg - b_start[of_b] - (b_size[of_b] + 1) / 2.0, t_size)
    return out


def rank_delta(q: np.ndarray, codes: np.ndarray, k: int, mark: np.ndarray, fetch,
               tot: np.ndarray | None = None) -> np.ndarray:
    """Per code (k,): how much its rank sum changes when the values of the ``mark``ed buckets
    are ranked by their exact values (``fetch(index array into q)``) instead of sharing their
    bucket's average rank."""
    if tot is None:
        tot = np.bincount(q, minlength=LEVELS)
    below = (np.cumsum(tot) - tot).astype(np.float64)
    rank_b = below + (tot + 1) / 2.0
    idx = np.flatnonzero(mark[q])
    r_sub = _average_ranks(fetch(idx))
    cnt = np.where(mark, tot, 0)
    offset = np.cumsum(cnt) - cnt  # refined values in lower refined buckets
    qb = q[idx]
    return np.bincount(codes[idx], weights=below[qb] + r_sub - offset[qb] - rank_b[qb], minlength=k)


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
