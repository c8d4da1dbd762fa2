"""The exact re-ranking of a first ranking call, kept at ingest for categorical tracks of up to
:data:`MAX_LABELS` labels (docs/performance.md §Kept at ingest).

With the control part kept (:mod:`lstmvis_db.analysis.kept`), what remains of a first ranking
besides reading the codes is the label's own refinement: where the bucketed AUROC's bound
exceeds the tolerance, the buckets its plan marks are re-ranked by their exact values, which
costs a pass over every exact row and a sort per cell.  That re-ranking adds to the label's rank
sum, for each marked bucket, the sum over the label's positions in it of their rank offsets
(``_exact.bucket_rank_offsets``: each value's average rank inside its bucket minus the bucket's).
Those sums depend on the track, not on the label chosen or the threshold.  So ingest finds, in
one compiled pass over each cell's codes per track (``_cell_kernels.label_plans``: the histogram
of (bucket, label) gives every label's plan, the same as the ranking's own pass gives it), the
union of the buckets the labels' plans mark, reads those buckets' exact values once, and stores
per (cell, label, bucket) the sum of the offsets in ``_idx.cell_offsets``, while a track's sums
on a source take at most :data:`MAX_BYTES`.  A first call then adds the stored sums of the
buckets its plan marks.

The offsets are exact half-integers (integer ranks, averaged over ties) and their sums stay far
below 2**52, so every partial sum is exact and the stored sums equal the on-demand path's sums
bit for bit, whatever the order of their terms.  Where a plan marks a bucket that is not stored
(or nothing is stored: an older file, a track of more labels or over the budget, a small
source), the first call reads the exact values as before.

Imports numpy, pyarrow, duckdb and the analysis modules; :mod:`kept` calls :func:`Collector`.
"""

from __future__ import annotations

import functools

import duckdb
import numpy as np
import pyarrow as pa

from lstmvis_db.analysis import _cell_kernels, _exact, _labels
from lstmvis_db.matching.quant import LEVELS
from lstmvis_db.queries import Catalog, SourceInfo

#: tracks of more labels are not kept: each label's sums cost 8 bytes per kept bucket, and the
#: histogram of one pass (16,384 buckets x labels) stays small enough for the cores' caches
MAX_LABELS = 64
#: a track's sums on one source are kept only while they take at most this many bytes
MAX_BYTES = 128 * 1024 * 1024
GROUP_VALUES = 24_000_000  # positions listed at once; one pass over the rows each
_ABSENT = ("kept_offsets_absent",)


class Collector:
    """Gathers, chunk of cells by chunk (``codes``, called with each chunk's codes as ingest
    reads them), the buckets to keep for the tracks ``names`` of ``info``, and their offsets'
    sums (``rows``); ``finish`` reads what is left and returns the rows to store."""

    def __init__(self, cat: Catalog, info: SourceInfo, names: list[str], tol: float) -> None:
        self.cat, self.info, self.tol = cat, info, tol
        self.tracks: list[tuple[str, np.ndarray, int]] = []  # (track, its codes, its number of labels)
        for t in names:
            tr = _labels.categorical(cat, t)
            if 0 < len(tr.labels) <= MAX_LABELS and (tr.codes >= 0).any():
                self.tracks.append((t, tr.codes.astype(np.int32), len(tr.labels)))
        self.listed: dict[int, tuple[np.ndarray, np.ndarray, list]] = {}  # cell -> (positions, codes, marks)
        self.held = 0
        self.size = dict.fromkeys([t for t, _, _ in self.tracks], 0)  # bytes each track would store
        self.rows: dict[str, list] = {"source": [], "track": [], "cell": [], "buckets": [], "dev": []}

    def codes(self, cells: np.ndarray, codes: np.ndarray) -> None:
        """The chunk ``cells`` with its codes (len(cells), N): every label's plan, their union
        (one compiled pass per track, however many labels)."""
        live = [(i, t) for i, t in enumerate(self.tracks) if self.size[t[0]] <= MAX_BYTES]
        if not live:
            return
        n_c = len(cells)
        marks = [np.zeros((n_c, LEVELS), dtype=bool) for _ in self.tracks]
        for i, (track, group, k) in live:
            _cell_kernels.on_all_cores(functools.partial(_plans, codes, group, k, self.tol, marks[i]), n_c)
            self.size[track] += int(marks[i].sum()) * (8 * k + 4)
        for i, c in enumerate(np.asarray(cells).tolist()):
            per = [m[i] for m in marks]
            union = np.logical_or.reduce(per)
            if union.any():
                pos = _exact.in_buckets(codes[i], union)
                self.listed[c] = (pos, codes[i][pos], per)
                self.held += len(pos)
        if self.held >= GROUP_VALUES:
            self._settle()

    def _settle(self) -> None:
        if not self.listed:
            return
        got = _exact.Exact(self.cat, self.info).fetch({c: p for c, (p, _, _) in self.listed.items()})
        for c, (pos_all, q_all, per) in self.listed.items():
            by_value = np.argsort(got[c])  # one sort of the cell's listed values for all its tracks
            for (track, codes_t, k), mark in zip(self.tracks, per):
                buckets = np.flatnonzero(mark)
                if not len(buckets) or self.size[track] > MAX_BYTES:
                    continue
                sel = mark[q_all] & (codes_t[pos_all] >= 0)
                pos, q = pos_all[sel], q_all[sel]
                # the track's values in value order: the cell's order, filtered (still sorted)
                order = (np.cumsum(sel) - 1)[by_value[sel[by_value]]]
                dev = _exact.bucket_rank_offsets(pos, got[c][sel], q, order)
                slot = np.zeros(LEVELS, dtype=np.int64)
                slot[buckets] = np.arange(len(buckets))
                at = slot[q]  # each value's bucket among the marked ones
                sums = np.bincount(codes_t[pos].astype(np.int64) * len(buckets) + at, weights=dev,
                                   minlength=k * len(buckets))
                for key, val in (("source", self.info.source), ("track", track), ("cell", c),
                                 ("buckets", buckets.tolist()), ("dev", sums.tolist())):
                    self.rows[key].append(val)
        self.listed, self.held = {}, 0

    def finish(self) -> dict[str, list]:
        """The rows to store: those of a track whose sums outgrew :data:`MAX_BYTES` are left out
        (its first calls read the values, as for a file without the table)."""
        self._settle()
        over = {t for t, size in self.size.items() if size > MAX_BYTES}
        keep = [i for i, t in enumerate(self.rows["track"]) if t not in over]
        return {key: [col[i] for i in keep] for key, col in self.rows.items()}


def _plans(codes: np.ndarray, group: np.ndarray, k: int, tol: float, mark: np.ndarray, lo: int, hi: int) -> None:
    _cell_kernels.label_plans(codes, lo, hi, group, k, tol, mark)


def store(con: duckdb.DuckDBPyConnection, rows: dict[str, list]) -> None:
    """Insert ``rows`` (``Collector.finish``'s, any number of sources) into ``_idx.cell_offsets``."""
    if not rows["cell"]:
        return
    con.register("_cell_offsets_in", pa.table({
        "source": pa.array(rows["source"], pa.string()), "track": pa.array(rows["track"], pa.string()),
        "cell": pa.array(rows["cell"], pa.int32()), "buckets": pa.array(rows["buckets"], pa.list_(pa.int32())),
        "dev": pa.array(rows["dev"], pa.list_(pa.float64()))}))
    con.execute("INSERT INTO _idx.cell_offsets SELECT * FROM _cell_offsets_in")
    con.unregister("_cell_offsets_in")


def load(cat: Catalog, info: SourceInfo, track: str) -> dict[int, tuple[np.ndarray, np.ndarray]] | None:
    """cell -> (buckets (sorted), sums (labels, buckets)) stored for ``track`` on ``info``'s
    source, kept on the catalog; None when nothing fitting is stored."""
    key = ("kept_offsets", info.sid, track)
    if key not in cat._cache:
        cat._cache[key] = _read(cat, info, track)
    return cat._cache[key]


def _read(cat: Catalog, info: SourceInfo, track: str) -> dict[int, tuple[np.ndarray, np.ndarray]] | None:
    if _ABSENT in cat._cache:
        return None
    try:
        with cat.cursor() as cur:
            got = cur.execute("SELECT cell, buckets, dev FROM _idx.cell_offsets WHERE source = ? AND track = ?",
                              [info.source, track]).fetchall()
    except duckdb.CatalogException:  # a file written before the table existed
        cat._cache[_ABSENT] = True
        return None
    k = len(_labels.categorical(cat, track).labels)
    out = {}
    for cell, buckets, dev in got:
        b = np.array(buckets, dtype=np.int64)
        ok = (0 <= cell < info.n_cells and len(b) and len(dev) == k * len(b) and b.min() >= 0
              and b.max() < LEVELS and bool((np.diff(b) > 0).all()) and cell not in out)
        if not ok:
            return None
        out[int(cell)] = (b, np.array(dev, dtype=np.float64).reshape(k, len(b)))
    return out or None


def label_sum(kept: dict[int, tuple[np.ndarray, np.ndarray]] | None, cell: int, mark: np.ndarray,
              label: int) -> float | None:
    """What re-ranking the ``mark``ed buckets of ``cell`` adds to ``label``'s rank sum, from the
    stored sums; None when some marked bucket is not stored (then it is computed on demand)."""
    if kept is None or cell not in kept or not mark.any():
        return None
    buckets, sums = kept[cell]
    want = np.flatnonzero(mark)
    at = np.searchsorted(buckets, want)
    if at[-1] >= len(buckets) or not np.array_equal(buckets[np.minimum(at, len(buckets) - 1)], want):
        return None
    return float(sums[label, at].sum())
