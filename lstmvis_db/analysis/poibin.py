"""Upper tail P(X >= H) of a Poisson-binomial sum X = sum of independent Bernoulli(pi_i).

Input is grouped: ``probs[j]`` with multiplicity ``counts[j]`` (spans of one document and
length share one pi), so X is a sum of binomials.

- ``exact`` (n <= 20,000): the distribution is built by convolving the groups' binomial
  probability vectors, after an exponential tilt that moves its mean to H (saddle point,
  K'(theta) = H):  P(X >= H) = exp(K(theta) - theta H) * sum_{k >= H} q_theta(k) e^{-theta (k - H)}
  where q_theta is the tilted distribution and K the cumulant generating function.  The identity
  is exact for every theta; the tilt only keeps the terms that matter near the top of the
  float range, so p-values far below 1e-300 keep an accurate log10.  Entries below 1e-40 of
  the running maximum are dropped (relative error of the result below n * 1e-40).
- ``saddlepoint`` (n > 20,000): the Lugannani-Rice formula with the second continuity
  correction (Daniels 1987) for a lattice variable, evaluated at the saddle point of
  K'(theta) = H - 1/2.  Its relative error is O(1/n) in the tail; compared with ``exact`` on
  random pi in tests/unit/test_align.py it stays below 2% at n = 2,000 and shrinks with n.
  It is not a strict bound: the JSON says ``p_method = "saddlepoint"`` whenever it is used.

Degenerate cases are exact: H <= (number of pi_i = 1) gives 1; H above the number of pi_i > 0
gives 0 (log10 = -inf, reported as null); H = that number gives the product of the pi_i.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EXACT_MAX_N = 20_000
_TRIM = 1e-40
_LN10 = math.log(10.0)


@dataclass(frozen=True)
class Tail:
    p: float
    log10_p: float | None  # None when p == 0 exactly
    method: str


def _log1pexp(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _tilted(probs: np.ndarray, theta: float) -> np.ndarray:
    """pi e^theta / (1 - pi + pi e^theta), computed on the log-odds scale."""
    logit = np.log(probs) - np.log1p(-probs) + theta
    return 1.0 / (1.0 + np.exp(-logit))


def _cgf_terms(probs: np.ndarray, theta: np.ndarray | float) -> np.ndarray:
    """log(1 - pi + pi e^theta) per element: as log1p(pi (e^theta - 1)) for |theta| < 1, where
    the log-odds form below would lose digits to cancellation (near the mean theta -> 0 and
    K(theta) - theta x, Lugannani-Rice's r, is a small difference of two near-equal numbers),
    and on the log-odds scale beyond, where e^theta could overflow."""
    theta = np.asarray(theta, dtype=np.float64)
    small = np.abs(theta) < 1.0
    near = np.log1p(probs * np.expm1(np.where(small, theta, 0.0)))
    far = np.log1p(-probs) + _log1pexp(np.log(probs) - np.log1p(-probs) + theta)
    return np.where(small, near, far)


def _cgf(probs: np.ndarray, counts: np.ndarray, theta: float) -> float:
    """K(theta) = sum log(1 - pi + pi e^theta)."""
    return float(np.sum(counts * _cgf_terms(probs, theta)))


def _saddle(probs: np.ndarray, counts: np.ndarray, target: float) -> float:
    """theta with K'(theta) = target (0 < target < n), by bisection on a bracket then Newton."""
    lo, hi = -1.0, 1.0
    while float(np.sum(counts * _tilted(probs, lo))) > target:
        lo *= 2
    while float(np.sum(counts * _tilted(probs, hi))) < target:
        hi *= 2
    theta = 0.0 if lo < 0 < hi else (lo + hi) / 2
    for _ in range(200):
        q = _tilted(probs, theta)
        mean = float(np.sum(counts * q))
        var = float(np.sum(counts * q * (1 - q)))
        if mean > target:
            hi = theta
        else:
            lo = theta
        step = (mean - target) / var if var > 0 else 0.0
        nxt = theta - step
        if not lo < nxt < hi:
            nxt = (lo + hi) / 2
        if abs(nxt - theta) < 1e-13 * max(1.0, abs(theta)):
            return nxt
        theta = nxt
    return theta


def _log_binom_pmf(n: int, p: float, logfact: np.ndarray) -> np.ndarray:
    k = np.arange(n + 1)
    return logfact[n] - logfact[k] - logfact[n - k] + k * math.log(p) + (n - k) * math.log1p(-p)


def _exact(probs: np.ndarray, counts: np.ndarray, h: int) -> float:
    """ln P(X >= h) by tilted convolution (0 < h < n, all 0 < pi < 1)."""
    n = int(counts.sum())
    theta = max(0.0, _saddle(probs, counts, float(h)))
    q = _tilted(probs, theta)
    logfact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))])
    dist, offset = np.ones(1), 0
    for pj, nj in zip(q, counts.astype(np.int64), strict=True):
        lp = _log_binom_pmf(int(nj), float(pj), logfact)
        keep = np.flatnonzero(lp >= lp.max() + math.log(_TRIM))
        part = np.exp(lp[keep[0]:keep[-1] + 1] - lp.max())
        dist = np.convolve(dist, part)
        offset += int(keep[0])
        dist /= dist.max()
        big = np.flatnonzero(dist >= _TRIM)
        dist = dist[big[0]:big[-1] + 1]
        offset += int(big[0])
    k = offset + np.arange(len(dist))
    upper = k >= h
    if not upper.any():
        return -math.inf
    s = float(np.sum(dist[upper] * np.exp(-theta * (k[upper] - h))))
    return _cgf(probs, counts, theta) - theta * h + math.log(s) - math.log(float(dist.sum()))


def _norm_sf_log(w: float) -> float:
    """ln(1 - Phi(w)), stable for large w."""
    if w < 5:
        return math.log(0.5 * math.erfc(w / math.sqrt(2)))
    # asymptotic series of Mills' ratio: 1 - Phi(w) = phi(w)/w * (1 - 1/w^2 + 3/w^4 - 15/w^6)
    s = 1 - 1 / w**2 + 3 / w**4 - 15 / w**6
    return -0.5 * w * w - math.log(w * math.sqrt(2 * math.pi)) + math.log(s)


def _saddlepoint(probs: np.ndarray, counts: np.ndarray, h: int) -> float:
    """ln P(X >= h) by Lugannani-Rice with the lattice continuity correction."""
    x = h - 0.5
    theta = _saddle(probs, counts, x)
    q = _tilted(probs, theta)
    mean = float(np.sum(counts * probs))
    sd = math.sqrt(float(np.sum(counts * probs * (1 - probs))))
    return _lugannani_rice(x, theta, _cgf(probs, counts, theta), float(np.sum(counts * q * (1 - q))), mean, sd)


def _lugannani_rice(x: float, theta: float, kt: float, var: float, mean: float, sd: float) -> float:
    """The tail at x from the saddle point theta, K(theta), K''(theta), and the mean and
    standard deviation (for the normal limit at the mean)."""
    r = theta * x - kt
    if abs(theta) < 1e-8 or r <= 0:  # at the mean: the normal approximation is the formula's limit
        return _norm_sf_log((x - mean) / sd)
    w = math.copysign(math.sqrt(2 * r), theta)
    u = 2 * math.sinh(theta / 2) * math.sqrt(var)
    log_phi = -0.5 * w * w - 0.5 * math.log(2 * math.pi)
    corr = 1 / u - 1 / w
    if w > 5:  # both terms tiny: combine in log space
        base = _norm_sf_log(w)
        return float(np.logaddexp(base, log_phi + math.log(corr))) if corr > 0 else \
            base + math.log1p(-math.exp(log_phi + math.log(-corr) - base))
    val = 0.5 * math.erfc(w / math.sqrt(2)) + math.exp(log_phi) * corr
    return math.log(min(max(val, 1e-300), 1.0))


def _saddle_many(logit: np.ndarray, c: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``_saddle`` for many tests at once (rows of ``logit`` = log-odds, weights ``c``): each
    row's iterates are those of ``_saddle``, a row stopping where it would."""
    def mean(theta: np.ndarray) -> np.ndarray:
        return np.sum(c / (1.0 + np.exp(-(logit + theta[:, None]))), axis=1)

    lo, hi = -np.ones(len(target)), np.ones(len(target))
    while (grow := mean(lo) > target).any():
        lo[grow] *= 2
    while (grow := mean(hi) < target).any():
        hi[grow] *= 2
    theta = np.where((lo < 0) & (0 < hi), 0.0, (lo + hi) / 2)
    out, done = theta.copy(), np.zeros(len(target), dtype=bool)
    for _ in range(200):
        q = 1.0 / (1.0 + np.exp(-(logit + theta[:, None])))
        m, var = np.sum(c * q, axis=1), np.sum(c * q * (1 - q), axis=1)
        hi, lo = np.where(m > target, theta, hi), np.where(m > target, lo, theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            nxt = theta - np.where(var > 0, (m - target) / var, 0.0)
        nxt = np.where((lo < nxt) & (nxt < hi), nxt, (lo + hi) / 2)
        stop = ~done & (np.abs(nxt - theta) < 1e-13 * np.maximum(1.0, np.abs(theta)))
        out[stop], done = nxt[stop], done | stop
        if done.all():
            return out
        theta = np.where(done, theta, nxt)
    out[~done] = theta[~done]
    return out


def upper_tails_saddlepoint(probs: np.ndarray, counts: np.ndarray, h: np.ndarray) -> list[Tail | None]:
    """``upper_tail`` for many tests over the same spans (``probs`` is (tests, groups), ``counts``
    the groups' sizes) where it takes the saddle point; None for the tests it would compute
    exactly (n <= EXACT_MAX_N after the sure and impossible spans), left to ``upper_tail``."""
    probs = np.asarray(probs, dtype=np.float64)
    counts = np.broadcast_to(np.asarray(counts, dtype=np.int64), probs.shape)
    sure = np.sum(np.where(probs >= 1, counts, 0), axis=1)
    mid = (probs > 0) & (probs < 1) & (counts > 0)
    c = np.where(mid, counts, 0).astype(np.float64)
    n = c.sum(axis=1).astype(np.int64)
    h_rand = np.asarray(h, dtype=np.int64) - sure
    out: list[Tail | None] = [None] * len(h_rand)
    rows = np.flatnonzero((n > EXACT_MAX_N) & (h_rand > 0) & (h_rand < n))
    for i in np.flatnonzero(h_rand <= 0):
        out[i] = Tail(1.0, 0.0, "exact")
    if len(rows) == 0:
        return out
    pm = np.where(mid[rows], probs[rows], 0.5)
    cm = c[rows]
    logit = np.log(pm) - np.log1p(-pm)
    x = h_rand[rows] - 0.5
    theta = _saddle_many(logit, cm, x)
    q = 1.0 / (1.0 + np.exp(-(logit + theta[:, None])))
    kt = np.sum(cm * _cgf_terms(pm, theta[:, None]), axis=1)
    var = np.sum(cm * q * (1 - q), axis=1)
    mean, sd = np.sum(cm * pm, axis=1), np.sqrt(np.sum(cm * pm * (1 - pm), axis=1))
    for t, i in enumerate(rows):
        ln = min(_lugannani_rice(float(x[t]), float(theta[t]), float(kt[t]), float(var[t]), float(mean[t]),
                                 float(sd[t])), 0.0)
        out[i] = Tail(math.exp(ln), ln / _LN10, "saddlepoint")
    return out


def upper_tail(probs: np.ndarray, counts: np.ndarray, h: int, method: str = "auto") -> Tail:
    """P(X >= h) for X = sum over j of Binomial(counts[j], probs[j])."""
    probs = np.asarray(probs, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.int64)
    keep = counts > 0
    probs, counts = probs[keep], counts[keep]
    sure = int(counts[probs >= 1].sum())
    mid = (probs > 0) & (probs < 1)
    probs, counts = probs[mid], counts[mid]
    n = int(counts.sum())
    h_rand = int(h) - sure
    name = "exact" if (method == "auto" and n <= EXACT_MAX_N) or method == "exact" else "saddlepoint"
    if h_rand <= 0:
        return Tail(1.0, 0.0, "exact")
    if h_rand > n:
        return Tail(0.0, None, "exact")
    if h_rand == n:
        ln = float(np.sum(counts * np.log(probs)))
        return Tail(math.exp(ln), ln / _LN10, "exact")
    ln = _exact(probs, counts, h_rand) if name == "exact" else _saddlepoint(probs, counts, h_rand)
    ln = min(ln, 0.0)
    return Tail(math.exp(ln), ln / _LN10, name)


SMALL_N = 64


def upper_tail_small(pi: np.ndarray, h: np.ndarray) -> np.ndarray:
    """ln P(X_t >= h_t) for many tests at once, each over the same n <= SMALL_N spans
    (``pi`` is (tests, n)): the textbook recursion over spans, in log space (exact)."""
    t, n = pi.shape
    with np.errstate(divide="ignore"):
        lp, lq = np.log(pi), np.log1p(-pi)
    f = np.full((t, n + 1), -np.inf)
    f[:, 0] = 0.0
    for i in range(n):
        shifted = np.concatenate([np.full((t, 1), -np.inf), f[:, :-1] + lp[:, i:i + 1]], axis=1)
        f = np.logaddexp(f + lq[:, i:i + 1], shifted)
    k = np.arange(n + 1)[None, :]
    masked = np.where(k >= np.asarray(h)[:, None], f, -np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        top = masked.max(axis=1)
        out = top + np.log(np.sum(np.exp(masked - np.where(np.isfinite(top), top, 0.0)[:, None]), axis=1))
    return np.where(np.isfinite(top), np.minimum(out, 0.0), -np.inf)
