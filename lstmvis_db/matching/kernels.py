"""Compiled loops of the match (numba): the three steps that numpy can only do in many passes.

* ``threshold_column``: one quantised column of the index -> one bit of the selection's words
  (``threshold_column_at`` for rows that are not consecutive positions).
* ``maximal_runs``: every maximal run of ``count >= k`` for every level k, in one scan.
* ``intersections``: per candidate, the selected cells on throughout it (and off at its
  constraint positions): the exact I.
* ``range_and``: the AND of each candidate's rows of bit words (rescoring on all cells).
* ``count_rises``: ``budget.candidate_bound`` in one pass without temporaries.

Each is a plain loop over arrays; ``matching`` holds the semantics and calls them.  Compiled
code is cached next to the module (or in numba's user cache), so only a fresh install pays
the compile time, once.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def cache_dir_fallback(env: MutableMapping[str, str] | None = None) -> None:
    """numba caches compiled code in ``__pycache__`` next to this file, else in the user's cache
    folder, and fails a call when it can write to neither (a read-only install in a locked-down
    container).  Then point it at the temp folder; an explicit NUMBA_CACHE_DIR is left alone."""
    env = os.environ if env is None else env
    if "NUMBA_CACHE_DIR" in env:
        return
    here = os.path.dirname(os.path.abspath(__file__))
    home = os.path.expanduser("~")
    user_cache = os.path.join(home, ".cache")
    if os.access(here, os.W_OK) or os.access(user_cache if os.path.isdir(user_cache) else home, os.W_OK):
        return
    env["NUMBA_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), "lstmvis-numba-cache")


cache_dir_fallback()  # before numba reads its configuration

from numba import njit  # noqa: E402  (after the fallback above: numba reads NUMBA_CACHE_DIR on import)

# The kernels release the GIL, so plain threads run pieces of one scan on all cores (portable,
# and safe when several app sessions match at once, unlike numba's own parallel layers).
WORKERS = max(1, min(8, os.cpu_count() or 1))
PARALLEL_MIN = 1 << 18  # positions below which one thread is faster than handing out pieces
_pools: dict[int, ThreadPoolExecutor] = {}  # per process id: a forked child gets its own threads


def _on_all_cores(fn: Callable[[int, int], int | None], pieces: list[tuple[int, int]]) -> list:
    """fn(lo, hi) for every piece, spread over the worker threads; results in piece order."""
    if WORKERS < 2 or len(pieces) < 2:
        return [fn(lo, hi) for lo, hi in pieces]
    pool = _pools.get(os.getpid())
    if pool is None:
        pool = _pools.setdefault(os.getpid(), ThreadPoolExecutor(WORKERS, thread_name_prefix="lstmvis-kernel"))
    return [f.result() for f in [pool.submit(fn, lo, hi) for lo, hi in pieces]]


@njit(cache=True, nogil=True)
def threshold_column(q, j, exact, acc, bit, ambiguous):  # pragma: no cover - compiled
    """acc[i] |= (q[i] > j, or q[i] >= j if exact) << bit; unless exact, ambiguous[i] |= q[i] == j.

    Written as mask arithmetic in two branch-free loops so that LLVM vectorises them (a shift
    of a comparison result did not vectorise and was 4-5x slower).
    """
    lo = np.uint16(j if exact else j + 1)
    jj = np.uint16(j)
    zero = acc.dtype.type(0)
    bitval = acc.dtype.type(1) << acc.dtype.type(bit)
    if exact:
        for i in range(q.shape[0]):
            acc[i] |= (zero - acc.dtype.type(q[i] >= lo)) & bitval
    else:
        for i in range(q.shape[0]):
            v = q[i]
            acc[i] |= (zero - acc.dtype.type(v >= lo)) & bitval
            ambiguous[i] |= v == jj


@njit(cache=True, nogil=True)
def threshold_column_at(q, pos, j, exact, acc, bit, ambiguous):  # pragma: no cover - compiled
    """``threshold_column`` for rows at positions ``pos`` (a scatter: several times slower)."""
    lo = np.uint16(j if exact else j + 1)
    jj = np.uint16(j)
    shift = acc.dtype.type(bit)
    for i in range(q.shape[0]):
        v = q[i]
        p = pos[i]
        acc[p] |= acc.dtype.type(v >= lo) << shift
        if not exact:
            ambiguous[p] |= v == jj


@njit(cache=True, nogil=True)
def stretches(pos):  # pragma: no cover - compiled
    """Indices where pos stops counting up by one: [0, i1, i2, ..., len(pos)]."""
    cuts = [0]
    for i in range(1, pos.shape[0]):
        if pos[i] != pos[i - 1] + 1:
            cuts.append(i)
    cuts.append(pos.shape[0])
    return np.array(cuts, dtype=np.int64)


@njit(cache=True, nogil=True)
def _runs(c, m, lo, hi, doc_start, doc_end, length, out):  # pragma: no cover - compiled
    """The runs that end in lo..hi-1, written to out[:, lo:]; no run may cross lo or hi."""
    n = c.shape[0]
    open_at = np.zeros(m + 2, dtype=out.dtype)
    open_after = np.zeros(m + 2, dtype=out.dtype)
    found = lo
    prev = 0
    for p in range(lo, hi):
        here = min(np.int64(c[p]), m)
        if doc_start[p]:
            prev = 0
        for k in range(prev + 1, here + 1):  # runs of levels prev+1..here open at p
            open_at[k] = p
            open_after[k] = prev
        nxt = 0 if (p == n - 1 or doc_end[p]) else min(np.int64(c[p + 1]), m)
        # runs of levels nxt+1..here close at p; open_at is non-decreasing in k, and the same
        # interval at several levels is one candidate with the highest of them
        last = -1
        for k in range(here, nxt, -1):
            s = open_at[k]
            if s != last:
                last = s
                ln = p - s + 1
                if (length <= 0 and ln >= 2) or ln == length:
                    out[0, found] = s
                    out[1, found] = ln
                    out[2, found] = k
                    out[3, found] = open_after[k]
                    out[4, found] = nxt
                    found += 1
        prev = here
    return found - lo


@njit(cache=True, nogil=True)
def _split_points(c, doc_start, targets):  # pragma: no cover - compiled
    """For each target, the first position at or after it where no run can cross: a document
    start or a count of 0 (len(c) if there is none)."""
    n = c.shape[0]
    out = np.full(targets.shape[0], n, dtype=np.int64)
    for i in range(targets.shape[0]):
        for p in range(targets[i], n):
            if doc_start[p] or c[p] == 0:
                out[i] = p
                break
    return out


def maximal_runs(c: np.ndarray, doc_start: np.ndarray, doc_end: np.ndarray, m: int, length: int) -> np.ndarray:
    """Every maximal run of min(c, m) >= k, k = 1..m, cut at document ends: rows start, length,
    level, count before and count after (0 outside the document), ordered by end.

    The runs form a laminar family of distinct intervals (nested or disjoint), so a stretch of
    n positions holds fewer than n of length >= 2 and at most n of one fixed length: each
    stretch writes into its own n slots.  Long inputs are cut where no run crosses and the
    pieces are scanned on all cores.
    """
    n = len(c)
    kind = np.int32 if n < 2**31 - 1 else np.int64
    c = np.ascontiguousarray(c)
    out = np.empty((5, n), dtype=kind)
    cuts = [0, n]
    if n >= PARALLEL_MIN and WORKERS > 1:
        targets = np.arange(1, 2 * WORKERS, dtype=np.int64) * n // (2 * WORKERS)
        cuts = sorted({0, n, *_split_points(c, doc_start, targets).tolist()})
    pieces = list(itertools.pairwise(cuts))
    found = _on_all_cores(lambda lo, hi: _runs(c, m, lo, hi, doc_start, doc_end, length, out), pieces)
    return np.concatenate([out[:, lo:lo + f] for (lo, _), f in zip(pieces, found)], axis=1)


@njit(cache=True, nogil=True)
def _popcount(x):  # pragma: no cover - compiled
    x = np.uint64(x)
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True, nogil=True)
def _and_of_rows(words, a, b, j):  # pragma: no cover - compiled
    """AND of words[a..b, j] (inclusive), stopping early once it is 0."""
    acc = words[a, j]
    r = a + 1
    while r <= b and acc != 0:
        acc &= words[r, j]
        r += 1
    return acc


@njit(cache=True, nogil=True)
def _intersections(words, start, length, doc_start, doc_end, left, right, lo, hi, out):  # pragma: no cover
    for i in range(lo, hi):
        a = start[i]
        b = a + length[i] - 1
        total = 0
        for j in range(words.shape[1]):
            acc = _and_of_rows(words, a, b, j)
            if left and not doc_start[a]:
                acc &= ~words[a - 1, j]
            if right and not doc_end[b]:
                acc &= ~words[b + 1, j]
            total += _popcount(acc)
        out[i] = total


def intersections(words: np.ndarray, start: np.ndarray, length: np.ndarray, doc_start: np.ndarray,
                  doc_end: np.ndarray, left: bool, right: bool) -> np.ndarray:
    """Per run: the cells (bits) on at every position of it, and off just before it (``left``)
    and just after it (``right``) unless that is outside the document; their number."""
    k = len(start)
    out = np.empty(k, dtype=np.int64)
    step = k // WORKERS + 1 if k >= PARALLEL_MIN // 4 else k + 1
    pieces = [(a, min(k, a + step)) for a in range(0, k, step)]
    _on_all_cores(lambda lo, hi: _intersections(words, start, length, doc_start, doc_end, left, right, lo, hi, out),
                  pieces)
    return out


@njit(cache=True, nogil=True)
def _rises(c, doc_start, m, lo, hi):  # pragma: no cover - compiled
    total = 0
    prev = 0 if lo == 0 or doc_start[lo] else min(np.int64(c[lo - 1]), m)
    for p in range(lo, hi):
        here = min(np.int64(c[p]), m)
        if doc_start[p]:
            prev = 0
        if here > prev:
            total += here - prev
        prev = here
    return total


def count_rises(c: np.ndarray, doc_start: np.ndarray, m: int) -> int:
    """``budget.candidate_bound(c, doc_start, m)``: the sum of the count's rises (clipped at m,
    from 0 at each document start), capped at len(c); pieces on all cores."""
    n = len(c)
    step = n // WORKERS + 1 if n >= PARALLEL_MIN else n + 1
    pieces = [(a, min(n, a + step)) for a in range(0, n, step)]
    c = np.ascontiguousarray(c)
    total = sum(_on_all_cores(lambda lo, hi: _rises(c, doc_start, int(m), lo, hi), pieces))
    return min(n, int(total))


@njit(cache=True, nogil=True)
def range_and(words, first, last):  # pragma: no cover - compiled
    """out[i] = AND of words[first[i]..last[i]] (inclusive), stopping early once a word is 0."""
    k = first.shape[0]
    w = words.shape[1]
    out = np.empty((k, w), dtype=np.uint64)
    for i in range(k):
        for j in range(w):
            out[i, j] = _and_of_rows(words, first[i], last[i], j)
    return out


def warm_up() -> None:
    """Run each kernel once on a few positions.  The first compiled call in a process loads
    numba's code generator (about 0.5 s even from the cache); the app does this in the
    background at start so that the first match does not wait for it."""
    count = np.array([1, 2, 2, 0], dtype=np.uint8)
    first = np.array([True, False, False, False])
    last = np.array([False, False, False, True])
    words = count.reshape(-1, 1).copy()
    start, length = maximal_runs(count, first, last, 2, 0)[:2]
    intersections(words, start, length, first, last, True, True)
    range_and(words, start.astype(np.int64), (start + length - 1).astype(np.int64))
    count_rises(count, first, 2)
    pos = np.arange(4, dtype=np.int32)
    acc = np.zeros(4, dtype=np.uint8)
    ambiguous = np.zeros(4, dtype=bool)
    threshold_column(np.arange(4, dtype=np.uint16), 1, False, acc, 0, ambiguous)
    threshold_column_at(np.arange(4, dtype=np.uint16), pos, 1, False, acc, 0, ambiguous)
    stretches(pos)
