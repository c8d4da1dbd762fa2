"""Compiled loops of the cell statistics (numba), each a plain scan that numpy would do in many
passes, run on all cores by handing pieces of cells to threads (the loops release the GIL):

* ``label_stats``: per cell, the bucketed AUROC of each target group, the bound of its error
  (pairs sharing a bucket) and the on-counts above a threshold bucket, from one pass over the
  cell's 14-bit codes;
* ``group_sums``: per group of positions, the float64 sums of every cell's exact values (mean
  differences);
* ``threshold_bits``: a cell's on-indicator from its codes, packed over positions;
* ``label_plans``: per cell, the union of the buckets every label's refinement plan marks;
* ``bucket_counts`` / ``kept_label_stats``: per (cell, bucket) the positions of each label of a
  track and of its control, as ingest keeps them, and ``label_stats``'s outputs from those.

The semantics live in ``selectivity``, ``coactivation`` and ``_exact``; these only count.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lstmvis_db.matching.kernels import cache_dir_fallback

cache_dir_fallback()  # before numba reads its configuration

from numba import njit  # noqa: E402

WORKERS = max(1, min(8, os.cpu_count() or 1))
_pools: dict[int, ThreadPoolExecutor] = {}


def on_all_cores(fn: Callable[[int, int], object], n: int, min_piece: int = 1) -> None:
    """fn(lo, hi) over pieces of range(n), spread over worker threads (one per core)."""
    k = max(1, min(WORKERS, n // max(1, min_piece)))
    cuts = np.linspace(0, n, k + 1).astype(int)
    pieces = [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    if len(pieces) < 2:
        for a, b in pieces:
            fn(a, b)
        return
    pool = _pools.get(os.getpid())
    if pool is None:
        pool = _pools.setdefault(os.getpid(), ThreadPoolExecutor(WORKERS, thread_name_prefix="lstmvis-cells"))
    for f in [pool.submit(fn, a, b) for a, b in pieces]:
        f.result()


@njit(cache=True, nogil=True)
def label_stats(codes, lo, hi, group, n_groups, first, jt, jex, tol, lab, est, bound, on,
                mark_lab, mark_ctl, ctrl, ctrl_on):  # pragma: no cover - compiled
    """Rows lo..hi of ``codes`` (cells, N): over positions with ``group[i] >= 0`` (groups
    0..n_groups-1; ``first[i]`` = 1 adds position i to extra target 0 as well), per target m:
    AUROC with each bucket's values at the bucket's average rank (``est``), the within-bucket
    pairs over n_m (n - n_m) (``bound``), and the count of values in buckets above ``jt[c]`` (or
    from it when ``jex[c]``) (``on``).  Targets: 0 = the extra target (when the number of
    targets exceeds n_groups), then one per group.  Where a bound exceeds ``tol``, the buckets
    to re-rank with exact values, as ``_exact.refine_plan`` chooses them, are marked: target
    ``lab`` in ``mark_lab``; the others (the control), together, in ``mark_ctl``.  When
    ``ctrl_on`` has rows, also, per group ``ctrl[i]`` (>= 0), the count of its positions above the
    threshold as for ``on`` (the control's on-counts at a new threshold), in the same pass."""
    levels = 16384
    m = est.shape[1]
    off = m - n_groups  # 1 when the extra target is used, else 0
    # int32 counts (positions are int32 everywhere) halve the histogram's cache footprint, and
    # the bucket totals are summed from it afterwards rather than incremented per position:
    # about a fifth less time per cell than int64 counts and a second increment
    # The position loop has no data-dependent branch: a position outside every group, or a
    # control count not wanted, goes to a slot past the end that nothing reads.  Labels and
    # values mix unpredictably, and the mispredicted branches were 40% of the loop's time.
    hist = np.zeros(levels * m + 1, np.int32)
    dummy = levels * m
    tot = np.zeros(levels, np.int64)
    ranks = np.zeros(m)
    pairs = np.zeros(m)
    n_m = np.zeros(m)
    count_ctrl = ctrl_on.shape[0] > 0
    n_ctrl = ctrl_on.shape[1] if count_ctrl else 0
    c_on = np.zeros(n_ctrl + 1, np.int64)
    for c in range(lo, hi):
        hist[:] = 0
        c_on[:] = 0
        jj = jt[c] if jex[c] else jt[c] + 1  # on: bucket >= jj
        for i in range(codes.shape[1]):
            g = np.int64(group[i])
            b = np.int64(codes[c, i])
            hist[b * m + off + g if g >= 0 else dummy] += 1
            if off:
                hist[b * m if (g >= 0) & (first[i] == 1) else dummy] += 1
            if count_ctrl:
                k = np.int64(ctrl[i])
                c_on[k if (g | k) >= 0 else n_ctrl] += np.int64(b >= jj)
        for k in range(n_ctrl):
            ctrl_on[c, k] += c_on[k]
        _from_hist(hist, tot, ranks, pairs, n_m, m, off, c, jt[c], jex[c], tol, lab, est, bound, on,
                   mark_lab, mark_ctl)


@njit(cache=True, nogil=True)
def kept_label_stats(start, buckets, counts, k, label, lo, hi, jt, jex, tol, est, bound, on, mark_lab,
                     ctrl_on):  # pragma: no cover - compiled
    """``label_stats`` for the two groups (not ``label``, ``label``) of a track of ``k`` labels,
    from kept bucket counts instead of codes (``kept_counts``): cell c's listed buckets are
    ``buckets[start[c]:start[c + 1]]``, and listed bucket r's counts ``counts[r * 2k:(r + 1) * 2k]``
    (the positions of each of the track's labels, then of each control label).  The histogram
    is the one ``label_stats`` counts from the codes, so every output is the same, bit for bit;
    ``ctrl_on`` (cells, k) gets the control's on-counts."""
    levels = 16384
    m = 2
    w = 2 * k
    hist = np.zeros(levels * m, np.int32)
    tot = np.zeros(levels, np.int64)
    ranks = np.zeros(m)
    pairs = np.zeros(m)
    n_m = np.zeros(m)
    mark_ctl = np.zeros((1, 1), np.bool_)  # the control is kept: never refined here
    for c in range(lo, hi):
        hist[:] = 0
        jc = jt[c]
        exc = jex[c]
        for r in range(start[c], start[c + 1]):
            b = np.int64(buckets[r])
            base = r * w
            s = 0
            for g in range(k):
                s += counts[base + g]
            h1 = counts[base + label]
            hist[b * m] = s - h1
            hist[b * m + 1] = h1
            if b > jc or (exc and b == jc):
                for g in range(k):
                    ctrl_on[c, g] += counts[base + k + g]
        _from_hist(hist, tot, ranks, pairs, n_m, m, 0, c, jc, exc, tol, 1, est, bound, on, mark_lab, mark_ctl)


@njit(cache=True, nogil=True)
def _from_hist(hist, tot, ranks, pairs, n_m, m, off, c, j, exc, tol, lab, est, bound, on, mark_lab,
               mark_ctl):  # pragma: no cover - compiled
    """Cell c's outputs of ``label_stats`` from its histogram ``hist`` (levels x m targets)."""
    levels = tot.shape[0]
    for b in range(levels):  # every position counted once: in its group's column
        t = 0
        for k in range(off, m):
            t += hist[b * m + k]
        tot[b] = t
    ranks[:] = 0.0
    pairs[:] = 0.0
    n_m[:] = 0.0
    below = 0.0
    for b in range(levels):
        t = tot[b]
        if t == 0:
            continue
        rb = below + (t + 1) / 2.0
        above = b > j or (b == j and exc)
        for k in range(m):
            h = hist[b * m + k]
            if h:
                ranks[k] += rb * h
                n_m[k] += h
                pairs[k] += 0.5 * h * (t - h)
                if above:
                    on[c, k] += h
        below += t
    n = below
    for k in range(m):
        scale = n_m[k] * (n - n_m[k])
        if scale > 0:
            est[c, k] = (ranks[k] - n_m[k] * (n_m[k] + 1) / 2.0) / scale
            bound[c, k] = pairs[k] / scale
        else:
            est[c, k] = np.nan
            bound[c, k] = 0.0
    if bound[c, lab] > tol:
        _plan(hist, tot, m, lab, lab + 1, n_m, n, bound[c], tol, mark_lab[c])
    if off:  # the targets other than ``lab`` (the control), refined together
        need = False
        for k in range(m):
            if k != lab and bound[c, k] > tol:
                need = True
        if need:
            _plan(hist, tot, m, 1, m, n_m, n, bound[c], tol, mark_ctl[c])


@njit(cache=True, nogil=True)
def _plan(hist, tot, m, k0, k1, n_m, n, bound, tol, mark):  # pragma: no cover - compiled
    """Mark the fewest buckets, largest share first (stable), whose refinement leaves the bound
    of every target k0..k1-1 <= tol (``_exact._refine_buckets``)."""
    _plan_in(hist, tot, _filled(tot), m, k0, k1, n_m, n, bound, tol, mark)


@njit(cache=True, nogil=True)
def _filled(tot):  # pragma: no cover - compiled
    """The non-empty buckets, in bucket order (the only ones a plan can mark)."""
    out = np.empty(tot.shape[0], np.int64)
    n = 0
    for b in range(tot.shape[0]):
        if tot[b] > 0:
            out[n] = b
            n += 1
    return out[:n]


@njit(cache=True, nogil=True)
def _plan_in(hist, tot, filled, m, k0, k1, n_m, n, bound, tol, mark):  # pragma: no cover - compiled
    """:func:`_plan` over the non-empty buckets ``filled`` (bucket order) only."""
    weight = np.zeros(tot.shape[0])
    heavy = np.empty(filled.shape[0], np.int64)  # the buckets of positive weight, in bucket order
    n_heavy = 0
    for b in filled:
        t = tot[b]
        for k in range(k0, k1):
            scale = n_m[k] * (n - n_m[k])
            if scale > 0:
                h = hist[b * m + k]
                w = 0.5 * h * (t - h) / scale
                if w > weight[b]:
                    weight[b] = w
        if weight[b] > 0.0:
            heavy[n_heavy] = b
            n_heavy += 1
    # Only buckets of positive weight can be marked, and a plan usually marks a few dozen of
    # thousands.  So the buckets are taken in the order of a stable sort by weight (ties in
    # bucket order) of just the heaviest ``top`` (all those at least as heavy as the top-th),
    # growing ``top`` fourfold until the bound is met: every such candidate set starts the full order,
    # so the buckets are marked, and the bound reduced, in the same order as a sort of all.
    heavy = heavy[:n_heavy]
    w_heavy = weight[heavy]
    left = bound[k0:k1].copy()
    done = 0  # buckets of the order marked so far
    top = 64
    while done < n_heavy:
        if top < n_heavy:
            cut = np.partition(w_heavy, n_heavy - top)[n_heavy - top]  # the top-th largest weight
            cand = heavy[w_heavy >= cut]
        else:
            cand = heavy
        order = cand[np.argsort(-weight[cand], kind="mergesort")]
        for b in order[done:]:
            mark[b] = True
            done += 1
            t = tot[b]
            worst = 0.0
            for k in range(k0, k1):
                scale = n_m[k] * (n - n_m[k])
                if scale > 0:
                    h = hist[b * m + k]
                    left[k - k0] -= 0.5 * h * (t - h) / scale
                if left[k - k0] > worst:
                    worst = left[k - k0]
            if worst <= tol:
                return
        top *= 4


@njit(cache=True, nogil=True)
def label_plans(codes, lo, hi, group, k, tol, mark):  # pragma: no cover - compiled
    """For rows lo..hi of ``codes`` (cells, N): mark[c] gets the union, over every label g of a
    track (``group[i]``: the label 0..k-1 of position i, -1 none), of the buckets that
    ``label_stats``'s plan marks for label g against the track's other labels, in one pass over
    the codes however many labels (``kept_offsets``).  Each label's histogram column, totals,
    pairs and bound are summed in the same order as ``_from_hist`` sums them for the two groups
    (not g, g), so every plan is the same bit for bit."""
    levels = 16384
    hist = np.zeros(levels * k + 1, np.int32)  # + a slot for positions of no label (no branch)
    dummy = levels * k
    tot = np.zeros(levels, np.int64)
    pairs = np.zeros(k)
    n_m = np.zeros(k)
    bound = np.zeros(k)
    for c in range(lo, hi):
        hist[:] = 0
        for i in range(codes.shape[1]):
            g = np.int64(group[i])
            hist[np.int64(codes[c, i]) * k + g if g >= 0 else dummy] += 1
        pairs[:] = 0.0
        n_m[:] = 0.0
        n = 0.0
        for b in range(levels):
            t = 0
            for g in range(k):
                t += hist[b * k + g]
            tot[b] = t
            if t == 0:
                continue
            for g in range(k):
                h = hist[b * k + g]
                if h:
                    n_m[g] += h
                    pairs[g] += 0.5 * h * (t - h)
            n += t
        for g in range(k):
            scale = n_m[g] * (n - n_m[g])
            bound[g] = pairs[g] / scale if scale > 0 else 0.0
        filled = _filled(tot)  # once for the cell's labels
        for g in range(k):
            if bound[g] > tol:
                _plan_in(hist, tot, filled, k, g, g + 1, n_m, n, bound, tol, mark[c])


@njit(cache=True, nogil=True)
def bucket_counts(codes, lo, hi, g1, g2, k, out):  # pragma: no cover - compiled
    """For rows lo..hi of ``codes`` (cells, N): out[c, b * 2k + g1[i]] and out[c, b * 2k + k + g2[i]]
    count the positions i in bucket b per real label g1 (>= 0; others left out) and per control
    label g2 (``kept_counts``: what ``kept_label_stats`` reads)."""
    w = 2 * k
    for c in range(lo, hi):
        for i in range(codes.shape[1]):
            a = g1[i]
            if a < 0:
                continue
            base = np.int64(codes[c, i]) * w
            out[c, base + a] += 1
            out[c, base + k + g2[i]] += 1


@njit(cache=True, nogil=True)
def counts_fit(start, buckets, counts, k, levels, want):  # pragma: no cover - compiled
    """Whether kept counts (``kept_label_stats``'s layout) can be read safely and fit the track:
    every cell's buckets increasing within 0..levels-1, counts >= 0, and per cell the counts of
    each label adding up to ``want`` (the track's label sizes) and the control's to their sum."""
    w = 2 * k
    total = 0
    for g in range(k):
        total += want[g]
    per = np.zeros(w, np.int64)
    for c in range(start.shape[0] - 1):
        if start[c + 1] < start[c]:
            return False
        per[:] = 0
        last = -1
        for r in range(start[c], start[c + 1]):
            b = buckets[r]
            if b <= last or b >= levels:
                return False
            last = b
            for g in range(w):
                x = counts[r * w + g]
                if x < 0:
                    return False
                per[g] += x
        ctl = 0
        for g in range(k):
            if per[g] != want[g]:
                return False
            ctl += per[k + g]
        if ctl != total:
            return False
    return True


@njit(cache=True, nogil=True)
def group_sums(rows, lo, hi, g1, g2, s1, s2):  # pragma: no cover - compiled
    """For columns lo..hi of ``rows`` (B, D float32): s1[g1[i]] += row i, s2[g2[i]] += row i in
    float64 (rows with g1 < 0 are left out)."""
    for i in range(rows.shape[0]):
        a = g1[i]
        if a < 0:
            continue
        b = g2[i]
        for c in range(lo, hi):
            v = np.float64(rows[i, c])
            s1[a, c] += v
            s2[b, c] += v


@njit(cache=True, nogil=True)
def threshold_bits(codes, lo, hi, jt, jex, out):  # pragma: no cover - compiled
    """out[c] (uint8, positions packed little-endian) = codes[c] > jt[c] (>= when jex[c]) for
    rows lo..hi; values in bucket jt[c] when not jex[c] are left off (settled exactly later)."""
    n = codes.shape[1]
    for c in range(lo, hi):
        j = jt[c]
        ex = jex[c]
        for w in range(out.shape[1]):
            byte = 0
            base = w * 8
            for k in range(8):
                i = base + k
                if i >= n:
                    break
                q = np.int64(codes[c, i])
                if q > j or (ex and q == j):
                    byte |= 1 << k
            out[c, w] = byte
