"""14-bit bucket quantisation of a source's values, exact at the threshold.

The quantised index answers "is value >= t" exactly for every value outside the bucket that
holds t; values inside that one bucket are looked up in the exact rows.  Buckets are
``[(j - zero) * step, (j + 1 - zero) * step)``, computed in float64, so 0 is always a bucket
boundary (a threshold of 0 needs no look-up) and the bucket of a value is found exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LEVELS = 16384
_SPAN = 16000  # buckets the value range spans; the rest is margin on both sides
# below this magnitude (in buckets) a float32 estimate is within 0.01 of a bucket of the truth
_FAST_LIMIT = 32768


_ROUND = (1, 1.25, 2, 2.5, 5)  # mantissas that divide 10: every multiple of 10^(e+1) is a multiple of m x 10^e


def round_step(raw: float) -> float:
    """The smallest m x 10^e >= ``raw`` with m in 1, 1.25, 2, 2.5, 5 (at most 2x ``raw``), as the
    double nearest that decimal.  Then a threshold t that is a multiple of the step is usually
    an edge exactly ((j - zero) * step == t in float64: 179 of the 199 multiples of 0.01 in
    (-1, 1) at the step 1.25e-4 of tanh states), and an edge needs no look-up of exact values in
    select, match and the cell statistics.  Without a round step almost no such t is an edge."""
    if not (math.isfinite(raw) and raw > 0):
        return raw
    e = math.floor(math.log10(raw))
    for exp in (e - 1, e, e + 1):
        for m in _ROUND:
            cand = float(f"{m}e{exp}")
            if cand >= raw:
                return cand
    return raw


@dataclass(frozen=True)
class Quantizer:
    step: float
    zero: int

    @classmethod
    def for_range(cls, lo: float, hi: float) -> Quantizer:
        """Buckets for values in [lo, hi]: the range spans at most :data:`_SPAN` of them, with a
        round step (:func:`round_step`), so that most thresholds of two decimals are edges."""
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
            lo, hi = 0.0, 1.0
        step = round_step((hi - lo) / _SPAN if hi > lo else max(abs(lo), 1.0) / _SPAN)
        zero = math.ceil(-lo / step) + 1
        return cls(step=float(step), zero=int(zero))

    def boundary(self, j: np.ndarray | int) -> np.ndarray | float:
        """Lower edge of bucket j."""
        return (np.asarray(j, dtype=np.float64) - self.zero) * self.step

    def bucket(self, values: np.ndarray) -> np.ndarray:
        """Bucket numbers (uint16, < LEVELS) of float values; exact at the edges.

        A float32 estimate (error well below 0.01 of a bucket) decides every value that is not
        near a bucket edge; the few near an edge are settled by the exact float64 comparison
        with the edges that ``threshold_bucket`` uses.
        """
        v = np.ascontiguousarray(values, dtype=np.float32)
        peak = float(np.abs(v).max()) / self.step if v.size else 0.0
        if abs(self.zero) > _FAST_LIMIT or peak > _FAST_LIMIT:  # float32 too coarse: exact path
            return self._bucket_exact(v)
        est = v * np.float32(1.0 / self.step)
        est += np.float32(self.zero)
        j = np.floor(est)
        est -= j  # fractional part
        near = np.flatnonzero((est < 0.02) | (est > 0.98))
        j = j.astype(np.int32)
        if len(near):
            flat_j = j.reshape(-1)
            vv = v.reshape(-1)[near].astype(np.float64)
            jj = flat_j[near].astype(np.float64)
            jj -= self.boundary(jj) > vv
            jj += self.boundary(jj + 1) <= vv
            flat_j[near] = jj.astype(np.int32)
        np.clip(j, 0, LEVELS - 1, out=j)
        return j.astype(np.uint16)

    def _bucket_exact(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        j = np.floor(v / self.step) + self.zero
        j -= self.boundary(j) > v
        j += self.boundary(j + 1) <= v
        return np.clip(j, 0, LEVELS - 1).astype(np.uint16)

    def threshold_bucket(self, t: float) -> tuple[int, bool]:
        """(bucket j, exact) for threshold t: value >= t iff bucket > j, or bucket == j and
        (exact or the exact value >= t).  j = -1 means every value is on, LEVELS every one off."""
        j = math.floor(t / self.step) + self.zero
        if float(self.boundary(j)) > t:
            j -= 1
        if float(self.boundary(j + 1)) <= t:
            j += 1
        if j < 0:
            return -1, True
        if j >= LEVELS:
            return LEVELS, True
        return j, float(self.boundary(j)) == t
