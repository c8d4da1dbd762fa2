"""Benjamini-Hochberg adjusted p-values (q-values) over one family of tests (docs/analysis.md §The span null).

q_(i) = min over j >= i of (m / j) * p_(j), capped at 1, with p sorted ascending and m the
family size.  Computed on log10 p, so q-values below the float range keep their order.
"""

from __future__ import annotations

import numpy as np


def bh_log10(log10_p: np.ndarray) -> np.ndarray:
    """log10 of the BH q-values for log10 p-values (-inf allowed for p = 0)."""
    lp = np.asarray(log10_p, dtype=np.float64)
    m = len(lp)
    if m == 0:
        return lp.copy()
    order = np.argsort(lp, kind="stable")
    ranks = np.arange(1, m + 1, dtype=np.float64)
    adj = lp[order] + np.log10(m / ranks)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 0.0)
    return out


def bh(p: np.ndarray) -> np.ndarray:
    """BH q-values of p-values (the textbook form, for callers with plain p)."""
    with np.errstate(divide="ignore"):
        return 10.0 ** bh_log10(np.log10(np.asarray(p, dtype=np.float64)))
