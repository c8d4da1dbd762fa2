"""Compiled loops of the match (numba): the three steps that numpy can only do in many passes.

* ``threshold_column``: one quantised column of the index -> one bit of the selection's words
  (``threshold_column_at`` for rows that are not consecutive positions).
* ``maximal_runs``: every maximal run of ``count >= k`` for every level k, in one scan.
* ``range_and``: the AND of each candidate's rows of bit words.

Each is a plain loop over arrays; ``matching`` holds the semantics and calls them.  Compiled
code is cached next to the module (or in numba's user cache), so only a fresh install pays
the compile time, once.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def threshold_column(q, j, exact, acc, bit, ambiguous):  # pragma: no cover - compiled
    """acc[i] |= (q[i] > j, or q[i] >= j if exact) << bit; unless exact, ambiguous[i] |= q[i] == j."""
    lo = np.uint16(j if exact else j + 1)
    jj = np.uint16(j)
    shift = acc.dtype.type(bit)
    for i in range(q.shape[0]):
        v = q[i]
        acc[i] |= acc.dtype.type(v >= lo) << shift
        if not exact:
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
def _runs(c, doc_start, doc_end, length, open_at, open_after, out):  # pragma: no cover - compiled
    n = c.shape[0]
    found = 0
    prev = 0
    for p in range(n):
        here = c[p]
        if doc_start[p]:
            prev = 0
        for k in range(prev + 1, here + 1):  # runs of levels prev+1..here open at p
            open_at[k] = p
            open_after[k] = prev
        nxt = 0 if (p == n - 1 or doc_end[p]) else c[p + 1]
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
    return found


def maximal_runs(c: np.ndarray, doc_start: np.ndarray, doc_end: np.ndarray, m: int, length: int) -> np.ndarray:
    """Every maximal run of c >= k, k = 1..m, cut at document ends: rows start, length, level,
    count before and count after (0 outside the document), ordered by end.

    The runs form a laminar family of distinct intervals (nested or disjoint), so there are
    fewer than n of length >= 2 and at most n of one fixed length: n slots always suffice.
    """
    n = len(c)
    kind = np.int32 if n < 2**31 - 1 else np.int64
    c = np.ascontiguousarray(c, dtype=kind)
    out = np.empty((5, n), dtype=kind)
    found = _runs(c, doc_start, doc_end, length, np.zeros(m + 2, dtype=kind), np.zeros(m + 2, dtype=kind), out)
    return out[:, :found].copy()


@njit(cache=True, nogil=True)
def range_and(words, first, last):  # pragma: no cover - compiled
    """out[i] = AND of words[first[i]..last[i]] (inclusive), stopping early once a word is 0."""
    k = first.shape[0]
    w = words.shape[1]
    out = np.empty((k, w), dtype=np.uint64)
    for i in range(k):
        a, b = first[i], last[i]
        for j in range(w):
            acc = words[a, j]
            r = a + 1
            while r <= b and acc != 0:
                acc &= words[r, j]
                r += 1
            out[i, j] = acc
    return out
