"""The cell-set null (docs/analysis.md §The cell-set null): is the hypothesis itself special?

K cell sets of the hypothesis's size m are drawn uniformly (without replacement within a set)
from the source's cells by ``numpy.random.default_rng(seed)``; each is matched with the same
options and match set kind, and gets the same statistic: the best lift over the same tracks and
conditions (``best_lift``), or the lift of one chosen (track, label, condition).  A random set
with an empty match set, or whose statistic is undefined (E = 0), counts as below the observed
value.  Empirical p = (1 + #{random >= observed}) / (K + 1).

The fast path (``cellbits``) reads every cell's on-bits once and matches the K sets from them,
on all cores (the compiled kernels and numpy release the GIL); the sets are drawn before any is
matched, so the draws, the matches and p are those of matching each set with ``match``
(``plain_spans``, which ``tests/unit/test_align_speed.py`` compares it with).  A source whose bits do
not fit the match budget takes the plain path.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypedDict

import numpy as np

from lstmvis_db import matchbits, queries
from lstmvis_db.analysis import cellbits, family, spans
from lstmvis_db.analysis.spans import MatchOptions
from lstmvis_db.errors import QueryError
from lstmvis_db.queries import Catalog

Statistic = Callable[[list[int]], float]
WORKERS = max(1, min(4, os.cpu_count() or 1))


class CellNull(TypedDict):
    k: int
    seed: int
    statistic: str
    observed: float | None
    p: float
    estimated_seconds: float
    seconds: float
    prepare_seconds: float


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


def _value(statistic_of: Statistic, cells: list[int]) -> float:
    try:
        return statistic_of(cells)
    except QueryError:  # an empty match set: no statistic
        return -math.inf


def _values(statistic_of: Statistic, sets: list[list[int]], workers: int,
            progress: Callable[[int, int], None] | None = None) -> list[float]:
    """The statistic of each set, in order (``workers`` threads)."""
    if workers < 2 or len(sets) < 2:
        out = []
        for i, cells in enumerate(sets):
            out.append(_value(statistic_of, cells))
            if progress is not None:
                progress(i + 1, len(sets))
        return out
    with ThreadPoolExecutor(workers, thread_name_prefix="lstmvis-cellnull") as pool:
        out = []
        for i, v in enumerate(pool.map(lambda c: _value(statistic_of, c), sets)):
            out.append(v)
            if progress is not None:
                progress(i + 1, len(sets))
        return out


def estimate(statistic_of: Statistic, n_cells: int, m: int, k: int, seed: int, workers: int = 1) -> float:
    """Seconds the K sets will take: ``workers`` random sets timed side by side, times K / workers
    (from a separate generator, so the run's draws are unaffected)."""
    rng = np.random.default_rng([seed, 1])
    sets = [draw(rng, n_cells, m) for _ in range(max(1, min(workers, k)))]
    t0 = time.perf_counter()
    _values(statistic_of, sets, workers)  # an empty match set is quick; the time taken is still the estimate
    return (time.perf_counter() - t0) * k / len(sets)


def run(statistic_of: Statistic, observed: float, n_cells: int, m: int, k: int, seed: int, name: str,
        estimated: float, progress: Callable[[int, int], None] | None = None, workers: int = 1,
        prepare_seconds: float = 0.0) -> CellNull:
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    sets = [draw(rng, n_cells, m) for _ in range(k)]
    above = sum(v >= observed for v in _values(statistic_of, sets, workers, progress))
    return {"k": k, "seed": seed, "statistic": name,
            "observed": None if not math.isfinite(observed) else float(observed),
            "p": (1 + above) / (k + 1), "estimated_seconds": float(estimated),
            "seconds": time.perf_counter() - t0, "prepare_seconds": float(prepare_seconds)}


SpansOf = Callable[[list[int]], spans.Spans]


def plain_spans(cat: Catalog, source: str, threshold: float | None, quantile: float | None, options: MatchOptions,
                kind: str, limit: int) -> SpansOf:
    """A random set's match set, matched as ``align`` matches the hypothesis (a read per set)."""
    return lambda cells: spans.match_set(cat, source, cells, threshold, options, kind, limit, quantile)


def fast_spans(cat: Catalog, source: str, threshold: float | None, quantile: float | None, options: MatchOptions,
               kind: str, limit: int) -> SpansOf:
    """The same match sets from every cell's bits, read once here (``cellbits``)."""
    qt = None
    if quantile is not None:
        from lstmvis_db.analysis.thresholds import quantile_thresholds

        qt = quantile_thresholds(cat, source, quantile)
    bits = cellbits.cell_bits(cat, source, threshold, qt, quantile)
    a = queries.check_match_args(options.constrain_left, options.constrain_right, options.length, limit,
                                 options.pool)
    limit_bytes = None if quantile is not None else matchbits.memory_limit()

    def spans_of(cells: list[int]) -> spans.Spans:
        sel = np.asarray(cells, dtype=np.int64)
        if kind == "top":
            return spans.top_spans(cellbits.as_match(bits, cat, sel, a, limit_bytes))
        return spans.candidate_spans(cellbits.as_candidates(bits, cat, sel, a, limit_bytes), kind)

    return spans_of


def statistic(cat: Catalog, spans_of: SpansOf, tracks: list[str], conds: tuple[str, ...],
              chosen: tuple[str, str, str] | None) -> Statistic:
    """The statistic of a random set: its match set's best lift (or the chosen label's lift)."""
    return lambda cells: family.statistic(family.tests(cat, spans_of(cells), tracks, conds, with_p=False), chosen)


def prepared(cat: Catalog, source: str, threshold: float | None, quantile: float | None, options: MatchOptions,
             kind: str, limit: int, tracks: list[str], conds: tuple[str, ...],
             chosen: tuple[str, str, str] | None) -> tuple[Statistic, int, float]:
    """(statistic of a random set, worker threads, seconds spent preparing): the fast path where
    every cell's bits fit the budget, else the plain one."""
    t0 = time.perf_counter()
    match = (source, threshold, quantile, options, kind, limit)
    if not cellbits.fits(cat, source):
        return statistic(cat, plain_spans(cat, *match), tracks, conds, chosen), 1, 0.0
    spans_of = fast_spans(cat, *match)
    return statistic(cat, spans_of, tracks, conds, chosen), WORKERS, time.perf_counter() - t0
