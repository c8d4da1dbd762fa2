"""Compiled loops of the control statistics kept at ingest (:mod:`lstmvis_db.analysis._control`),
for many categorical tracks at once (numba, cached like the other cell kernels):

* ``control_stats``: per cell, the bucketed AUROC of every control label of every track and the
  bound of its error, from one pass over the cell's 14-bit codes, and the buckets to re-rank;
* ``marked_count`` / ``marked_fill``: the positions (and their buckets) whose exact values the
  re-ranking needs, with a bit per track that needs them;
* ``block_pass``: over one block of exact rows, the per-label sums of every track and the
  values of the marked positions;
* ``control_offsets``: for one cell, what re-ranking the marked buckets by exact values adds to
  each control label's rank sum, every track from one sort.

Each repeats, for several tracks, the arithmetic of ``_cell_kernels.label_stats`` (control
targets only) and ``_plan``, ``group_sums`` and ``_exact.bucket_rank_offsets`` with
``np.bincount``: every float sum has the same terms in the same order (the only terms added or
left out are +0.0, which change no sum here; the rank offsets are exact half-integers however
they are computed), so the numbers are the on-demand path's bit for bit.
"""

from __future__ import annotations

import numpy as np

from lstmvis_db.matching import kernels

njit = kernels.njit


@njit(cache=True, nogil=True)
def control_stats(codes, lo, hi, g2, t0, t1, k2, tol, est, bound, mark):  # pragma: no cover - compiled
    """Rows lo..hi of ``codes`` (cells, N), tracks t0..t1: ``g2[i, t]`` is position i's control
    label for track t as a column of ``est``/``bound`` (cells, M) (``k2[t]`` .. ``k2[t + 1]`` - 1;
    -1: unlabelled).  Per target: the AUROC with each bucket's values at the bucket's average rank
    among the track's labelled positions, the within-bucket pairs over n_m (n - n_m); where a
    track's bound exceeds ``tol``, its buckets to re-rank in ``mark[t - t0, c]``.  The sums over
    buckets add every bucket's term, zero or not (adding +0.0 leaves a non-negative sum as it is,
    so they equal ``label_stats``'s, which skips the zeros, bit for bit, without its branches)."""
    levels = 16384
    base = k2[t0]
    m = k2[t1] - base
    n_t = t1 - t0
    hist = np.zeros(levels * m, np.int32)
    tot = np.zeros(n_t * levels, np.int64)
    ranks = np.zeros(m)
    pairs = np.zeros(m)
    n_m = np.zeros(m)
    for c in range(lo, hi):
        for i in range(codes.shape[1]):
            b = np.int64(codes[c, i])
            for t in range(t0, t1):
                g = g2[i, t]
                if g >= 0:
                    tot[b * n_t + t - t0] += 1
                    hist[b * m + g - base] += 1
        for t in range(t0, t1):
            k0, k1 = k2[t] - base, k2[t + 1] - base
            tt = tot[t - t0::n_t]
            ranks[k0:k1] = 0.0
            pairs[k0:k1] = 0.0
            n_m[k0:k1] = 0.0
            below = 0.0
            for b in range(levels):
                s = tt[b]
                if s == 0:
                    continue
                rb = below + (s + 1) / 2.0
                row = b * m
                for k in range(k0, k1):
                    h = hist[row + k]
                    ranks[k] += rb * h
                    n_m[k] += h
                    pairs[k] += 0.5 * h * (s - h)
                below += s
            n = below
            need = False
            for k in range(k0, k1):
                scale = n_m[k] * (n - n_m[k])
                if scale > 0:
                    est[c, base + k] = (ranks[k] - n_m[k] * (n_m[k] + 1) / 2.0) / scale
                    bound[c, base + k] = pairs[k] / scale
                else:
                    est[c, base + k] = np.nan
                    bound[c, base + k] = 0.0
                if bound[c, base + k] > tol:
                    need = True
            if need:
                _plan(hist, tt, m, k0, k1, n_m, n, bound[c, base:], tol, mark[t - t0, c])
        for b in range(levels):  # clear what this cell touched
            hit = False
            for t in range(n_t):
                if tot[b * n_t + t]:
                    hit = True
                    tot[b * n_t + t] = 0
            if hit:
                hist[b * m:(b + 1) * m] = 0


@njit(cache=True, nogil=True)
def _plan(hist, tot, m, k0, k1, n_m, n, bound, tol, mark):  # pragma: no cover - compiled
    """``_cell_kernels._plan`` over the buckets that hold values: mark the fewest buckets,
    largest share first (stable), whose refinement leaves the bound of every target k0..k1-1
    <= tol.  A bucket of weight 0 is never marked there (the loop stops at the first), so
    sorting only the others, stably, visits the same buckets in the same order; a share of 0
    (h = 0 or h = the bucket's size) is skipped, as adding or subtracting +0.0 changes nothing."""
    levels = tot.shape[0]
    weight = np.zeros(levels)
    cand = np.zeros(levels, np.int64)
    scale = np.zeros(k1 - k0)
    for k in range(k0, k1):
        scale[k - k0] = n_m[k] * (n - n_m[k])
    n_cand = 0
    for b in range(levels):
        t = tot[b]
        if t == 0:
            continue
        w_b = 0.0
        for k in range(k0, k1):
            h = hist[b * m + k]
            if 0 < h < t and scale[k - k0] > 0:  # else its share is 0
                w = 0.5 * h * (t - h) / scale[k - k0]
                if w > w_b:
                    w_b = w
        if w_b > 0.0:
            weight[n_cand] = -w_b
            cand[n_cand] = b
            n_cand += 1
    order = np.argsort(weight[:n_cand], kind="mergesort")
    left = bound[k0:k1].copy()
    for j in order:
        b = cand[j]
        mark[b] = True
        t = tot[b]
        worst = 0.0
        for k in range(k0, k1):
            h = hist[b * m + k]
            if 0 < h < t and scale[k - k0] > 0:  # subtracting a share of 0 leaves left as it is
                left[k - k0] -= 0.5 * h * (t - h) / scale[k - k0]
            if left[k - k0] > worst:
                worst = left[k - k0]
        if worst <= tol:
            break


@njit(cache=True, nogil=True)
def _wanted_bits(codes, c, i, g2, t0, t1, mark, row):  # pragma: no cover - compiled
    """Bit t - t0 set when track t labels position i and marked its bucket in cell c."""
    b = codes[c, i]
    bits = 0
    for t in range(t0, t1):
        if g2[i, t] >= 0 and mark[t - t0, row, b]:
            bits |= 1 << (t - t0)
    return bits


@njit(cache=True, nogil=True)
def marked_count(codes, lo, hi, g2, t0, t1, mark, any_mark, counts):  # pragma: no cover - compiled
    """counts[c] = the positions some track needs re-ranked in cell c (rows lo..hi of codes)."""
    for c in range(lo, hi):
        n = 0
        if any_mark[c]:
            for i in range(codes.shape[1]):
                if _wanted_bits(codes, c, i, g2, t0, t1, mark, c) != 0:
                    n += 1
        counts[c] = n


@njit(cache=True, nogil=True)
def marked_fill(codes, lo, hi, g2, t0, t1, mark, any_mark, offs, pos, q, bits):  # pragma: no cover - compiled
    """Those positions (ascending) of cell c at offs[c]..offs[c + 1], their buckets and track bits."""
    for c in range(lo, hi):
        if not any_mark[c]:
            continue
        j = offs[c]
        for i in range(codes.shape[1]):
            w = _wanted_bits(codes, c, i, g2, t0, t1, mark, c)
            if w != 0:
                pos[j] = i
                q[j] = codes[c, i]
                bits[j] = w
                j += 1


@njit(cache=True, nogil=True)
def block_pass(rows, a, lo, hi, cell0, g1, g2, t0, t1, s1, s2, offs, pos, cursor, vals):  # pragma: no cover
    """Rows a.. of a source (``rows`` (B, D) float32), columns lo..hi: s1[g1[i, t], c] and
    s2[g2[i, t], c] += the value in float64 for each track t0..t1 labelling position i (rows in
    position order, as ``group_sums`` adds them); and the values of cell c's wanted positions
    (entries offs[c - cell0] .. offs[c - cell0 + 1], from cursor[c - cell0] on) in this block."""
    for i in range(rows.shape[0]):
        for t in range(t0, t1):
            x = g1[a + i, t]
            if x < 0:
                continue
            y = g2[a + i, t]
            for c in range(lo, hi):
                v = np.float64(rows[i, c])
                s1[x, c] += v
                s2[y, c] += v
    end_pos = a + rows.shape[0]
    for c in range(lo, hi):
        r = c - cell0
        j = cursor[r]
        while j < offs[r + 1] and pos[j] < end_pos:
            vals[j] = rows[pos[j] - a, c]
            j += 1
        cursor[r] = j


@njit(cache=True, nogil=True)
def control_offsets(pos, q, vals, bits, order, g2, t0, t1, base, delta):  # pragma: no cover - compiled
    """One cell's wanted entries (position order; ``order`` sorts them by bucket, then value):
    for each track t0..t1, over the entries with its bit, each value's average rank inside its
    bucket among them minus the bucket's average rank ((size + 1) / 2), summed per control label
    in position order into ``delta[g2[pos, t] - base]``."""
    e_n = pos.shape[0]
    dev = np.zeros(e_n)
    for t in range(t0, t1):
        bit = 1 << (t - t0)
        j = 0
        while j < e_n:
            b = q[order[j]]
            jb = j
            nb = 0
            while jb < e_n and q[order[jb]] == b:
                if bits[order[jb]] & bit:
                    nb += 1
                jb += 1
            r0 = 0
            r = j
            while r < jb:
                v = vals[order[r]]
                re = r + 1
                while re < jb and vals[order[re]] == v:
                    re += 1
                mg = 0
                for s in range(r, re):
                    if bits[order[s]] & bit:
                        mg += 1
                d = (r0 + (mg + 1) / 2.0) - (nb + 1) / 2.0
                for s in range(r, re):
                    dev[order[s]] = d
                r0 += mg
                r = re
            j = jb
        for e in range(e_n):
            if bits[e] & bit:
                delta[g2[pos[e], t] - base] += dev[e]
