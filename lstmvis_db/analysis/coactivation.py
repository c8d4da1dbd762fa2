"""Co-activation (docs/analysis.md §Co-activation): lift, PMI and phi of query cells with every other cell of
the source, at one threshold or each cell's own quantile, optionally lagged ("a on, then b on
within k positions of the same document"), over all positions or a filter."""

from __future__ import annotations

import functools
import math
from typing import TypedDict

import numpy as np

from lstmvis_db.analysis import _cell_kernels, _exact
from lstmvis_db.analysis.positions import Filter
from lstmvis_db.errors import QueryError
from lstmvis_db.matching.quant import LEVELS
from lstmvis_db.queries import Catalog, SourceInfo, check_cells, check_threshold


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


@_exact.serialised
def cell_thresholds(cat: Catalog, info: SourceInfo, cells: np.ndarray, threshold: float | None,
                    quantile: float | None) -> np.ndarray:
    """One threshold per cell: the given number, or each cell's own q-quantile (docs/analysis.md §A cell's profile):
    the order statistics' buckets from the index, their exact values read once for every cell."""
    if (threshold is None) == (quantile is None):
        raise QueryError("give a threshold or a quantile (exactly one)")
    if threshold is not None:
        return np.full(len(cells), check_threshold(threshold))
    from lstmvis_db.analysis.selectivity import check_quantile

    qlevel = check_quantile(quantile)
    n = cat.n_positions
    h = (n - 1) * qlevel
    lo, hi = int(np.floor(h)), int(np.ceil(h))
    store = _exact.BucketValues.of(cat, info)
    out = np.empty(len(cells))
    at = 0
    for chunk, codes in _exact.code_chunks(cat, info, cells):
        found = {}
        for i, c in enumerate(chunk.tolist()):
            hist = np.bincount(codes[i], minlength=LEVELS)
            cum = np.cumsum(hist)
            b = np.searchsorted(cum, [lo, hi], side="right")
            found[c] = (b, cum[b] - hist[b], i)  # the order statistics' buckets, values below each
        store.ensure({c: np.unique(b) for c, (b, _, _) in found.items()},
                     lambda c, codes=codes, found=found: codes[found[c][2]])
        for c, (b, below, i) in found.items():
            qs = codes[i][store.pos[c]]
            x_lo = _order_stat(store.val[c][qs == b[0]], lo - below[0])
            x_hi = x_lo if hi == lo else _order_stat(store.val[c][qs == b[1]], hi - below[1])
            out[at + i] = _exact.interpolate(x_lo, x_hi, h - lo)
        at += len(chunk)
    return out


def _order_stat(values: np.ndarray, r: int) -> float:
    """The r-th smallest (0-based) of one bucket's exact values."""
    return float(np.sort(values.astype(np.float64))[r])


@_exact.serialised
def on_bits(cat: Catalog, info: SourceInfo, cells: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Exact on-indicators of ``cells`` packed over positions: (len(cells), ceil(N / 8)) uint8,
    bit p of row i (little-endian) = value >= thresholds[i].  The index decides every value
    outside the threshold's bucket; values inside it are read once for all cells and kept."""
    n = cat.n_positions
    out = np.zeros((len(cells), (n + 7) // 8), dtype=np.uint8)
    store = _exact.BucketValues.of(cat, info)
    at = 0
    for chunk, codes in _exact.code_chunks(cat, info, cells):
        part = out[at:at + len(chunk)]
        pairs = [info.quant.threshold_bucket(float(x)) for x in thresholds[at:at + len(chunk)]]
        jt = np.array([j for j, _ in pairs], dtype=np.int64)
        jex = np.array([e for _, e in pairs], dtype=bool)
        _cell_kernels.on_all_cores(functools.partial(_bits_piece, codes, jt, jex, part), len(chunk))
        amb = {int(c): np.array([jt[i]]) for i, c in enumerate(chunk) if not jex[i] and 0 <= jt[i] < LEVELS}
        rows = {int(c): i for i, c in enumerate(chunk)}
        store.ensure(amb, lambda c, codes=codes, rows=rows: codes[rows[c]])
        for c in amb:
            i = rows[c]
            pos = store.pos[c][codes[i][store.pos[c]] == jt[i]]
            hit = pos[store.at(c, pos) >= np.float64(thresholds[at + i])]
            np.bitwise_or.at(part[i], hit >> 3, (1 << (hit & 7)).astype(np.uint8))
        at += len(chunk)
    return out


def _bits_piece(codes: np.ndarray, jt: np.ndarray, jex: np.ndarray, out: np.ndarray, lo: int, hi: int) -> None:
    _cell_kernels.threshold_bits(codes, lo, hi, jt, jex, out)


def on_matrix(cat: Catalog, info: SourceInfo, cells: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Exact on-indicators (N, len(cells)) bool: value >= the cell's threshold."""
    bits = on_bits(cat, info, np.asarray(cells, dtype=np.int64), np.asarray(thresholds, dtype=np.float64))
    return np.unpackbits(bits, axis=1, count=cat.n_positions, bitorder="little").astype(bool).T


def joint_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) int64: positions where row i of ``a`` and row j of ``b`` (bits packed
    over positions, uint8) are both on; exact for any corpus size."""
    width = a.shape[1]
    pad = (-width) % 8
    a64 = np.ascontiguousarray(np.pad(a, ((0, 0), (0, pad)))).view(np.uint64)
    b64 = np.ascontiguousarray(np.pad(b, ((0, 0), (0, pad)))).view(np.uint64)
    out = np.empty((len(a64), len(b64)), dtype=np.int64)
    for j in range(0, len(b64), 64):
        part = b64[j:j + 64]
        for i in range(len(a64)):
            out[i, j:j + len(part)] = np.bitwise_count(part & a64[i]).sum(axis=1, dtype=np.int64)
    return out


def _words(bits: np.ndarray) -> np.ndarray:
    """Bits packed over positions (uint8, little bit order) as uint64 words, zero-padded: bit p of a
    row is bit p % 64 of word p // 64."""
    pad = (-bits.shape[1]) % 8
    return np.ascontiguousarray(np.pad(bits, ((0, 0), (0, pad)))).view("<u8")


def _ahead(x: np.ndarray, a: int) -> np.ndarray:
    """Row-wise y(p) = x(p + a) over word-packed bits (0 past the end)."""
    w, s = divmod(a, 64)
    y = np.zeros_like(x)
    if w >= x.shape[1]:
        return y
    src = x[:, w:]
    y[:, :src.shape[1]] = src >> np.uint64(s) if s else src
    if s:
        y[:, :src.shape[1] - 1] |= src[:, 1:] << np.uint64(64 - s)
    return y


def _lagged_bits(bits: np.ndarray, n: int, last: np.ndarray, lag: int) -> np.ndarray:
    """W(p) = some position of (p, min(p + lag, last(p))] is on, per row, as uint64 words; ``last`` is
    each position's document end.  Built by doubling: W_{r+m}(p) = W_r(p) | (P_m(p + r) if p + r <= last(p))
    and P_{2m}(p) = P_m(p) | (P_m(p + m) if p + m <= last(p)), since p + r <= last(p) keeps p + r in p's
    document; about 2 log2(lag) passes over the bits."""
    x = _words(bits)
    at = np.arange(n, dtype=np.int64)

    def inside(a: int) -> np.ndarray:  # p + a <= last(p), word-packed
        return _words(np.packbits(at + a <= last, bitorder="little")[None, :])[0]

    power = _ahead(x, 1) & inside(1)  # P_1
    out: np.ndarray | None = None
    r, m = 0, 1
    while True:
        if lag & m:
            out = power.copy() if out is None else out | (_ahead(power, r) & inside(r))
            r += m
        m <<= 1
        if m > lag:
            break
        power |= _ahead(power, m // 2) & inside(m // 2)
    assert out is not None and r == lag
    return out


def _pairs(counts: np.ndarray, na: np.ndarray, nb: np.ndarray, n: int, query: np.ndarray,
           lagged: bool) -> list[Pair]:
    pa, pb, pab = na / n, nb / n, counts / n
    qset = set(query.tolist())
    out: list[Pair] = []
    for i, a in enumerate(query.tolist()):
        for b in range(len(nb)):
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


@_exact.serialised
def all_bits(cat: Catalog, info: SourceInfo, threshold: float | None, quantile: float | None):
    """(thresholds, on-bits of every cell packed over positions), kept per open project by
    source and threshold (or quantile)."""
    key = ("on_bits", info.sid, threshold, quantile)
    if key not in cat._cache:
        every = np.arange(info.n_cells)
        t = cell_thresholds(cat, info, every, threshold, quantile)
        cat._cache.pop(next((k for k in cat._cache if k[0] == "on_bits" and k[1] == info.sid), None), None)
        cat._cache[key] = (t, on_bits(cat, info, every, t))
    return cat._cache[key]


def _popcounts(bits: np.ndarray) -> np.ndarray:
    return np.bitwise_count(bits).sum(axis=1, dtype=np.int64)


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
    if (threshold is None) == (quantile is None):
        raise QueryError("give a threshold or a quantile (exactly one)")
    pos = (where or Filter()).positions(cat)
    n = cat.n_positions
    t, bits = all_bits(cat, info, None if threshold is None else check_threshold(threshold), quantile)
    if lag is None:
        if len(pos) < n:
            mask = np.zeros(n, dtype=bool)
            mask[pos] = True
            bits = bits & np.packbits(mask, bitorder="little")[None, :]
        xa, xb = bits[query], bits
    else:
        last = cat.doc_last[np.searchsorted(cat.doc_first, np.arange(n), side="right") - 1]
        keep = np.zeros(n, dtype=bool)
        keep[pos] = True
        keep &= np.arange(n) < last  # the window (pos, pos + k] is empty at a document's last position
        if not keep.any():
            raise QueryError("the filter leaves no position with a lag window inside its document")
        mask = _words(np.packbits(keep, bitorder="little")[None, :])
        xb = (_lagged_bits(bits, n, last, int(lag)) & mask).view(np.uint8)
        xa = (_words(bits[query]) & mask).view(np.uint8)
        pos = np.flatnonzero(keep)
    pairs = _pairs(joint_counts(xa, xb), _popcounts(xa), _popcounts(xb), len(pos), query, lag is not None)
    return CoactivationResult(
        source=source, lag=None if lag is None else int(lag), positions=len(pos),
        thresholds={str(c): float(t[c]) for c in query}, pairs=pairs[: int(limit)] if limit else pairs,
    )
