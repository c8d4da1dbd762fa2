"""Rescoring a match's candidates on every cell of a sparse source, from its exceptions.

An absent entry of a sparse source is 0, so every cell has a default state at threshold t
(off when t > 0, on when t <= 0); the *exceptions* are the stored entries whose state differs
from it (value >= t when t > 0, value < t when t <= 0).  A candidate's set A (contract §2:
on at every position of the run, off at its constraint positions) follows from the exceptions
inside the run and at the constraint positions alone, so the rescoring costs time and memory in
proportion to those entries, never positions x cells.  Arrays only (numpy), like the rest of
``matching``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rescorer:
    """Exceptions (``pos``, ``unit``; sorted by pos, a (pos, unit) pair once) of a source of
    ``n_cells`` cells whose absent entries are on (``default_on``) or off."""

    pos: np.ndarray
    unit: np.ndarray
    default_on: bool
    n_cells: int

    def _at(self, a: int, b: int) -> np.ndarray:
        """Units of the exceptions at positions a..b."""
        lo, hi = np.searchsorted(self.pos, [a, b + 1])
        return self.unit[lo:hi]

    def __call__(self, start: np.ndarray, length: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(I, U) of each candidate (start, length) with constraint positions lo < start, hi > end."""
        m = len(cells)
        is_sel = np.zeros(self.n_cells, dtype=bool)
        is_sel[cells] = True
        inter = np.zeros(len(start), dtype=np.int64)
        union = np.zeros(len(start), dtype=np.int64)
        for i in range(len(start)):
            s, e = int(start[i]), int(start[i]) + int(length[i]) - 1
            constraints = [p for p in (int(lo[i]), int(hi[i])) if p < s or p > e]
            inside = self._at(s, e)
            if not self.default_on:  # on = exception; on at every step of the run = an exception at each
                units, counts = np.unique(inside, return_counts=True)
                a = units[counts == e - s + 1]
                for p in constraints:  # off there = no exception there
                    a = a[~np.isin(a, self._at(p, p))]
                n_a, n_in = len(a), int(is_sel[a].sum())
            elif constraints:  # on by default: off at a constraint = an exception there
                a = np.unique(self._at(constraints[0], constraints[0]))
                for p in constraints[1:]:
                    a = a[np.isin(a, self._at(p, p))]
                a = a[~np.isin(a, inside)]
                n_a, n_in = len(a), int(is_sel[a].sum())
            else:  # A = every cell without an exception in the run
                x = np.unique(inside)
                n_a, n_in = self.n_cells - len(x), m - int(is_sel[x].sum())
            inter[i] = n_in
            union[i] = n_a + m - n_in
        return inter, union
