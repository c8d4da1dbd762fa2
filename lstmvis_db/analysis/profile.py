"""One cell's profile (docs/analysis.md §A cell's profile) under a filter: count, mean, population std, DuckDB
``quantile_cont`` quantiles, histogram, on-rate, on-rate per label of every categorical track,
and the top / bottom contexts with the gap rule, in their text."""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from lstmvis_db import queries
from lstmvis_db.analysis import _labels
from lstmvis_db.analysis._exact import interpolate
from lstmvis_db.analysis.positions import Filter
from lstmvis_db.errors import QueryError
from lstmvis_db.queries import Catalog, check_threshold

LEVELS = (0.0, 0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0)
CONTEXT = 8


class Context(TypedDict):
    pos: int
    doc: int
    value: float
    text: str
    left: str
    token: str
    right: str


class Histogram(TypedDict):
    edges: list[float]
    counts: list[int]


class ProfileResult(TypedDict):
    source: str
    cell: int
    threshold: float | None
    count: int
    mean: float
    std: float
    quantiles: dict[str, float]
    histogram: Histogram
    on_rate: float | None
    by_label: dict[str, dict[str, float]]
    top: list[Context]
    bottom: list[Context]


def quantile_cont(sorted_values: np.ndarray, q: float) -> float:
    """DuckDB's ``quantile_cont`` over DOUBLE: linear interpolation at (n-1)q of sorted values."""
    h = (len(sorted_values) - 1) * q
    lo, hi = int(np.floor(h)), int(np.ceil(h))
    return interpolate(float(sorted_values[lo]), float(sorted_values[hi]), h - lo)


def spaced_extremes(values: np.ndarray, pos: np.ndarray, doc: np.ndarray, k: int, gap: int,
                    largest: bool = True) -> list[int]:
    """Indices of the k largest (smallest) values, ties by smaller position, each at least
    ``gap`` positions from every higher-ranked one of the same document.  Only the leading
    values are ordered (all values equal to the last one taken, so ties stay in order); more are
    taken while the gap rule leaves fewer than k."""
    key = -values if largest else values
    m = min(len(key), max(4 * k * max(gap, 1), 64))
    while True:
        if m >= len(key):
            cand = np.arange(len(key))
        else:
            cut = np.partition(key, m - 1)[m - 1]
            cand = np.flatnonzero(key <= cut)
        out = _greedy(cand[np.lexsort((pos[cand], key[cand]))], pos, doc, k, gap)
        if len(out) >= k or len(cand) >= len(key):
            return out
        m *= 4


def _greedy(order: np.ndarray, pos: np.ndarray, doc: np.ndarray, k: int, gap: int) -> list[int]:
    taken: dict[int, list[int]] = {}
    out: list[int] = []
    for i in order:
        if len(out) >= k:
            break
        p, d = int(pos[i]), int(doc[i])
        if all(abs(p - q) >= gap for q in taken.get(d, ())):
            taken.setdefault(d, []).append(p)
            out.append(int(i))
    return out


def _order_stats(vals: np.ndarray, levels) -> np.ndarray:
    """``vals`` with the order statistics that the quantiles of ``levels`` (and min, max) use in
    place (np.partition: no full sort)."""
    n = len(vals)
    ks = sorted({int(f((n - 1) * q)) for q in levels for f in (np.floor, np.ceil)} | {0, n - 1})
    return np.partition(vals, ks)


def _context(cat: Catalog, p: int, doc: int, value: float) -> Context:
    lo = max(int(cat.doc_first[doc]), p - CONTEXT)
    hi = min(int(cat.doc_last[doc]), p + CONTEXT)
    toks, joiner = queries.token_range(cat, lo, hi), queries.token_joiner(cat)  # only the context's rows
    left, token, right = joiner.join(toks[:p - lo]), toks[p - lo], joiner.join(toks[p - lo + 1:])
    return Context(pos=p, doc=doc, value=value, text=f"{left}{joiner}[{token}]{joiner}{right}",
                   left=left, token=token, right=right)


def _by_label(cat: Catalog, pos: np.ndarray, on: np.ndarray) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for track in _labels.categorical_names(cat):
        tr = _labels.categorical(cat, track)
        codes = tr.codes[pos]
        lab = codes >= 0
        n_k = np.bincount(codes[lab], minlength=len(tr.labels))
        on_k = np.bincount(codes[lab & on], minlength=len(tr.labels))
        out[track] = {tr.labels[k]: float(on_k[k] / n_k[k]) for k in range(len(tr.labels)) if n_k[k]}
    return out


def profile(cat: Catalog, source: str, cell: int, threshold: float | None = None, where: Filter | None = None,
            top: int = 10, gap: int = 5, bins: int = 30) -> ProfileResult:
    """docs/analysis.md §A cell's profile for one cell; ``threshold`` None leaves the on-rates out (null / {})."""
    info = cat.source(source)
    c = _labels.check_cell(info, cell)
    t = None if threshold is None else check_threshold(threshold)
    for name, v, low in (("top", top, 0), ("gap", gap, 0), ("bins", bins, 1)):
        if int(v) != v or v < low:
            raise QueryError(f"{name} must be an integer >= {low}, got {v!r}")
    pos = (where or Filter()).positions(cat)  # sorted, never empty
    lo = int(pos[0])  # so: read only the rows between the first and the last
    vals = _labels.exact_span(cat, info, c, lo, int(pos[-1]))[pos - lo].astype(np.float64)
    doc = np.searchsorted(cat.doc_first, pos, side="right") - 1
    srt = _order_stats(vals, LEVELS)  # the positions quantile_cont reads hold the sorted values
    counts, edges = np.histogram(vals, bins=int(bins), range=(float(srt[0]), float(srt[-1])))
    on = vals >= t if t is not None else np.zeros(len(vals), dtype=bool)
    ctx = [[_context(cat, int(pos[i]), int(doc[i]), float(vals[i]))
            for i in spaced_extremes(vals, pos, doc, int(top), int(gap), largest)] for largest in (True, False)]
    return ProfileResult(
        source=source, cell=c, threshold=t, count=len(vals), mean=float(vals.mean()), std=float(vals.std()),
        quantiles={f"{q:g}": quantile_cont(srt, q) for q in LEVELS},
        histogram=Histogram(edges=[float(e) for e in edges], counts=[int(x) for x in counts]),
        on_rate=float(on.mean()) if t is not None else None,
        by_label=_by_label(cat, pos, on) if t is not None else {},
        top=ctx[0], bottom=ctx[1],
    )


class Distribution(TypedDict):
    source: str
    cells: list[int]
    histogram: Histogram
    quantile: float
    thresholds: dict[str, float]


def distribution(cat: Catalog, source: str, cells: object, quantile: float = 0.9, bins: int = 40) -> Distribution:
    """Threshold guidance: one histogram of all values of ``cells`` over the corpus (shared
    edges) and each cell's own ``quantile`` (DuckDB quantile_cont), the per-cell threshold."""
    from lstmvis_db.analysis.selectivity import check_quantile

    info = cat.source(source)
    sel = queries.check_cells(info, cells)
    q = check_quantile(quantile)
    if int(bins) != bins or bins < 1:
        raise QueryError(f"bins must be an integer >= 1, got {bins!r}")
    if len(sel) == 0:
        return Distribution(source=source, cells=[], histogram=Histogram(edges=[], counts=[]), quantile=q,
                            thresholds={})
    vals = _labels.exact_columns(cat, info, sel).astype(np.float64)
    counts, edges = np.histogram(vals, bins=int(bins), range=(float(vals.min()), float(vals.max())))
    srt = np.sort(vals, axis=0)
    return Distribution(source=source, cells=[int(c) for c in sel],
                        histogram=Histogram(edges=[float(e) for e in edges], counts=[int(x) for x in counts]),
                        quantile=q, thresholds={str(int(c)): quantile_cont(srt[:, i], q) for i, c in enumerate(sel)})
