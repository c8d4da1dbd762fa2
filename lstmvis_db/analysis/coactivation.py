"""Co-activation (docs/analysis.md §Co-activation): lift, PMI and phi of query cells with every other cell of
the source, at one threshold or each cell's own quantile, optionally lagged ("a on, then b on
within k positions of the same document"), over all positions or a filter."""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np

from lstmvis_db import queries
from lstmvis_db.analysis import _exact, _labels
from lstmvis_db.analysis.positions import Filter
from lstmvis_db.errors import QueryError
from lstmvis_db.matching.quant import LEVELS
from lstmvis_db.queries import Catalog, SourceInfo, check_cells, check_threshold

_CHUNK = 64


class Pair(TypedDict):
    a: int
    b: int
    lift: float | None
    pmi: float | None
    phi: float | None
    p_ab: float


class CoactivationResult(TypedDict):
    source: str
    lag: int | None
    positions: int
    thresholds: dict[str, float]
    pairs: list[Pair]


def cell_thresholds(cat: Catalog, info: SourceInfo, cells: np.ndarray, threshold: float | None,
                    quantile: float | None, ex: _exact.Exact | None = None) -> np.ndarray:
    """One threshold per cell: the given number, or each cell's own q-quantile (docs/analysis.md §A cell's profile)."""
    if (threshold is None) == (quantile is None):
        raise QueryError("give a threshold or a quantile (exactly one)")
    if threshold is not None:
        return np.full(len(cells), check_threshold(threshold))
    from lstmvis_db.analysis.selectivity import check_quantile

    qlevel = check_quantile(quantile)
    ex = ex or _exact.Exact(cat, info)
    out = np.empty(len(cells))
    for a in range(0, len(cells), _CHUNK):
        chunk = cells[a:a + _CHUNK]
        q = _labels.quantized_columns(cat, info, chunk).astype(np.int64)
        ex.prefetch(chunk)
        for i, c in enumerate(chunk.tolist()):
            out[a + i] = _exact.quantile(q[:, i], qlevel, lambda idx, c=c: ex.at(c, idx))
    return out


def on_matrix(cat: Catalog, info: SourceInfo, cells: np.ndarray, thresholds: np.ndarray,
              ex: _exact.Exact | None = None) -> np.ndarray:
    """Exact on-indicators (N, len(cells)): value >= the cell's threshold.  The index decides
    every value outside the threshold's bucket; values inside it are compared exactly (one
    row look-up per chunk of cells for all of the chunk's ambiguous positions)."""
    ex = ex or _exact.Exact(cat, info)
    out_t = np.empty((len(cells), cat.n_positions), dtype=bool)  # cell-major while it is filled
    out = out_t.T
    for a in range(0, len(cells), _CHUNK):
        chunk = cells[a:a + _CHUNK]
        q = _labels.quantized_columns(cat, info, chunk)
        ambiguous: list[tuple[int, int, np.ndarray]] = []
        for i, c in enumerate(chunk.tolist()):
            j, exact = info.quant.threshold_bucket(float(thresholds[a + i]))
            if j < 0 or j >= LEVELS:
                out_t[a + i] = j < 0
                continue
            col = q[:, i]
            out_t[a + i] = col >= j if exact else col > j
            if not exact:
                ambiguous.append((i, c, np.flatnonzero(col == j)))
        if not ambiguous:
            continue
        union = np.unique(np.concatenate([amb for _, _, amb in ambiguous]))
        rows = ex.full[union] if ex.full is not None else queries.rows_at(cat, info.source, union)
        for i, c, amb in ambiguous:
            vals = rows[np.searchsorted(union, amb), c].astype(np.float64)
            out[amb, a + i] = vals >= np.float64(thresholds[a + i])
    return out


def _lagged(on: np.ndarray, pos: np.ndarray, end: np.ndarray) -> np.ndarray:
    """B(pos) = some position of (pos, end] is on (end >= pos + 1), per column."""
    out = np.empty((len(pos), on.shape[1]), dtype=bool)
    for a in range(0, on.shape[1], _CHUNK):
        cs = np.zeros((on.shape[0] + 1, min(_CHUNK, on.shape[1] - a)), dtype=np.int32)
        np.cumsum(on[:, a:a + _CHUNK], axis=0, out=cs[1:])
        out[:, a:a + _CHUNK] = cs[end + 1] - cs[pos + 1] > 0
    return out


def _pairs(xa: np.ndarray, xb: np.ndarray, query: np.ndarray, lagged: bool) -> list[Pair]:
    n = len(xa)
    pa = xa.mean(axis=0)
    pb = xb.mean(axis=0)
    pab = (xa.T.astype(np.float32) @ xb.astype(np.float32)).astype(np.float64) / n
    qset = set(query.tolist())
    out: list[Pair] = []
    for i, a in enumerate(query.tolist()):
        for b in range(xb.shape[1]):
            if b == a or (not lagged and b in qset and b < a):  # unlagged pairs are symmetric
                continue
            den = pa[i] * pb[b]
            lift = float(pab[i, b] / den) if den > 0 else None
            var = pa[i] * (1 - pa[i]) * pb[b] * (1 - pb[b])
            phi = float((pab[i, b] - den) / math.sqrt(var)) if var > 0 else None
            out.append(Pair(a=a, b=b, lift=lift, pmi=math.log2(lift) if lift else None, phi=phi,
                            p_ab=float(pab[i, b])))
    out.sort(key=lambda r: (r["lift"] is None, -(r["lift"] or 0.0), r["a"], r["b"]))
    return out


def coactivation(cat: Catalog, source: str, cells: object, threshold: float | None = None,
                 quantile: float | None = None, lag: int | None = None, limit: int | None = None,
                 where: Filter | None = None) -> CoactivationResult:
    """docs/analysis.md §Co-activation for query ``cells`` against every cell of ``source``."""
    info = cat.source(source)
    query = check_cells(info, cells)
    if len(query) == 0:
        raise QueryError("give at least one query cell")
    if lag is not None and (int(lag) != lag or lag < 1):
        raise QueryError(f"lag must be an integer >= 1, got {lag!r}")
    if limit is not None and (int(limit) != limit or limit < 1):
        raise QueryError(f"limit must be an integer >= 1, got {limit!r}")
    pos = (where or Filter()).positions(cat)
    ex = _exact.Exact(cat, info)
    every = np.arange(info.n_cells)
    t = cell_thresholds(cat, info, every, threshold, quantile, ex)
    on = on_matrix(cat, info, every, t, ex)
    if lag is None:
        xb = on[pos]
    else:
        last = cat.doc_last[np.searchsorted(cat.doc_first, pos, side="right") - 1]
        keep = pos < last  # the window (pos, pos + k] is empty at a document's last position
        pos, last = pos[keep], last[keep]
        if len(pos) == 0:
            raise QueryError("the filter leaves no position with a lag window inside its document")
        xb = _lagged(on, pos, np.minimum(pos + int(lag), last))
    xa = on[pos][:, query]
    pairs = _pairs(xa, xb, query, lag is not None)
    return CoactivationResult(
        source=source, lag=None if lag is None else int(lag), positions=len(pos),
        thresholds={str(c): float(t[c]) for c in query}, pairs=pairs[: int(limit)] if limit else pairs,
    )
