"""The cell-set null (docs/analysis.md §The cell-set null): is the hypothesis itself special?

K cell sets of the hypothesis's size m are drawn uniformly (without replacement within a set)
from the source's cells by ``numpy.random.default_rng(seed)``; each is matched with the same
options and match set kind, and gets the same statistic: the best lift over the same tracks and
conditions (``best_lift``), or the lift of one chosen (track, label, condition).  A random set
with an empty match set, or whose statistic is undefined (E = 0), counts as below the observed
value.  Empirical p = (1 + #{random >= observed}) / (K + 1).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypedDict

import numpy as np

from lstmvis_db.errors import QueryError


class CellNull(TypedDict):
    k: int
    seed: int
    statistic: str
    observed: float | None
    p: float
    estimated_seconds: float
    seconds: float


def check_k_seed(k: object, seed: object) -> tuple[int, int]:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) < 1:
        raise QueryError(f"the number of random cell sets must be an integer >= 1, got {k!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        try:
            seed = int(str(seed), 10)
        except ValueError:
            raise QueryError(f"the seed must be an integer, got {seed!r}") from None
    if int(seed) < 0:
        raise QueryError(f"the seed must be an integer >= 0, got {seed!r}")
    return int(k), int(seed)


def draw(rng: np.random.Generator, n_cells: int, m: int) -> list[int]:
    return sorted(int(c) for c in rng.choice(n_cells, size=m, replace=False))


def estimate(statistic_of: Callable[[list[int]], float], n_cells: int, m: int, k: int, seed: int) -> float:
    """Seconds the run will take: one random set timed, times K (a separate generator, so the
    run's draws are unaffected)."""
    t0 = time.perf_counter()
    try:
        statistic_of(draw(np.random.default_rng([seed, 1]), n_cells, m))
    except QueryError:  # an empty match set is quick; the time taken is still the estimate
        pass
    return (time.perf_counter() - t0) * k


def run(statistic_of: Callable[[list[int]], float], observed: float, n_cells: int, m: int, k: int,
        seed: int, name: str, estimated: float,
        progress: Callable[[int, int], None] | None = None) -> CellNull:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    above = 0
    for i in range(k):
        try:
            value = statistic_of(draw(rng, n_cells, m))
        except QueryError:  # an empty match set: no statistic
            value = -math.inf
        above += value >= observed
        if progress is not None:
            progress(i + 1, k)
    return {"k": k, "seed": seed, "statistic": name,
            "observed": None if not math.isfinite(observed) else float(observed),
            "p": (1 + above) / (k + 1), "estimated_seconds": float(estimated),
            "seconds": time.perf_counter() - t0}
