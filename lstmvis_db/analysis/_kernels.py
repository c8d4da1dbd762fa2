"""Compiled loops of ``align`` over many spans (numba, loaded on the first call; compiled code
cached as the matcher's kernels are): the observed hits from a track's runs, and the positions
a set of spans covers.  Plain loops over arrays; ``spannull`` and ``shares`` hold the meaning."""

from __future__ import annotations

import numpy as np

from lstmvis_db.matching import kernels  # numba, with its cache folder set up by the matcher

njit = kernels.njit


@njit(cache=True, nogil=True)
def span_hits(run_of, run_code, prev_same, start, length, n_labels):  # pragma: no cover - compiled
    """Per label: spans containing it, covered by it (one run), starting and ending in it.  A run
    inside span i counts for ``contains`` when it is the first run of its code in the span:
    the previous run with its code (``prev_same``) lies before the span's first run."""
    contains = np.zeros(n_labels, dtype=np.int64)
    covers = np.zeros(n_labels, dtype=np.int64)
    starts = np.zeros(n_labels, dtype=np.int64)
    ends = np.zeros(n_labels, dtype=np.int64)
    for i in range(start.shape[0]):
        r0 = run_of[start[i]]
        r1 = run_of[start[i] + length[i] - 1]
        c0, c1 = run_code[r0], run_code[r1]
        if c0 >= 0:
            starts[c0] += 1
        if c1 >= 0:
            ends[c1] += 1
        if r0 == r1:
            if c0 >= 0:
                covers[c0] += 1
                contains[c0] += 1
            continue
        for r in range(r0, r1 + 1):
            c = run_code[r]
            if c >= 0 and prev_same[r] < r0:
                contains[c] += 1
    return contains, covers, starts, ends


@njit(cache=True, nogil=True)
def paint(start, length, n):  # pragma: no cover - compiled
    """Boolean mask of the positions covered by at least one span."""
    mask = np.zeros(n, dtype=np.bool_)
    for i in range(start.shape[0]):
        mask[start[i]:start[i] + length[i]] = True
    return mask


@njit(cache=True, nogil=True)
def masked_counts(codes, mask, n_labels):  # pragma: no cover - compiled
    """Positions of each code (>= 0) where ``mask`` is set."""
    out = np.zeros(n_labels, dtype=np.int64)
    for p in range(codes.shape[0]):
        if mask[p] and codes[p] >= 0:
            out[codes[p]] += 1
    return out
