"""Every cell's bucket histogram per label, kept at ingest for categorical tracks of few labels
(docs/performance.md §Kept at ingest).

With the control part (:mod:`lstmvis_db.analysis.kept`) and the label's exact re-ranking
(:mod:`lstmvis_db.analysis.kept_offsets`) stored, what is left of a first ranking call is the
label's own compiled pass over every cell's 14-bit codes: 2 bytes per position and cell read and
held (1.3 GB at 1M x 650, most of that call's time on a machine whose fresh memory is slow).
That pass only needs, per cell and bucket, how many positions of the label and of the other
labels fall in it, and, for the control's on-counts, how many of each control label.  So for a
track of at most :data:`MAX_LABELS` labels ingest stores, per cell, its non-empty
buckets and per bucket the count of each of the track's labels and of each control label
(control seed :data:`kept.SEED`) in ``_idx.cell_counts``.  A first ranking whose thresholds sit
on bucket edges (or that has none) then builds each cell's histogram from those counts
(``_cell_kernels.kept_label_stats``): the same histogram as from the codes, so the same answers
bit for bit, from about 5 x 4 bytes per non-empty bucket and cell instead of 2 bytes per
position and cell.  A threshold inside a bucket needs that bucket's positions, which only the
codes give: such a call reads the codes as before, as does every call where nothing fitting is
stored (an older file, a track of more labels, another control seed, a small source, a source
so wide that its counts would exceed :data:`MAX_BYTES`).

Imports numpy, pyarrow, duckdb and the analysis modules; :mod:`kept` calls :class:`Collector`
and :func:`store`, :mod:`_ranking` calls :func:`load`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from lstmvis_db import arrowcols
from lstmvis_db.analysis import _cell_kernels, _labels
from lstmvis_db.matching.quant import LEVELS
from lstmvis_db.queries import Catalog, SourceInfo

_ABSENT = ("kept_counts_absent",)
#: the counts of one track on one source are kept only if at most this large, in the worst case
#: (every bucket of every cell listed; 650 cells and 2 labels: 213 MB); a wider source's first
#: ranking reads the codes instead of ingest holding (and the file storing) GBs of counts
MAX_BYTES = 512 * 2**20
#: tracks of more labels are not counted: 2 counts per label in every non-empty bucket of every
#: cell would approach the size of the codes themselves
MAX_LABELS = 4


@dataclass(frozen=True)
class Counts:
    """One track's kept counts on one source, CSR by cell: cell c's buckets are
    ``buckets[start[c]:start[c + 1]]`` (increasing), listed bucket r's counts
    ``counts[r * 2k:(r + 1) * 2k]`` (each of the k labels, then each control label)."""

    k: int
    start: np.ndarray  # (d + 1,) int64
    buckets: np.ndarray  # int32
    counts: np.ndarray  # int32


class Collector:
    """Counts, chunk of cells by chunk (``codes``, called with each chunk's codes as ingest reads
    them), the histograms of the tracks ``names`` of ``info`` that have few labels; ``finish``
    returns the rows to store."""

    def __init__(self, cat: Catalog, info: SourceInfo, names: list[str], seed: int) -> None:
        from lstmvis_db.analysis import selectivity

        self.info = info
        self.tracks = []
        for t in names:
            tr = _labels.categorical(cat, t)
            k = len(tr.labels)
            worst = info.n_cells * min(LEVELS, cat.n_positions) * (1 + 2 * k) * 4
            if 0 < k <= MAX_LABELS and (tr.codes >= 0).any() and worst <= MAX_BYTES:
                ctrl = selectivity.control_of(cat, t, seed)
                self.tracks.append((t, k, tr.codes.astype(np.int32), ctrl.astype(np.int32)))
        # per chunk and track: (track, cells, buckets per cell, the buckets, their counts)
        self.parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def codes(self, cells: np.ndarray, codes: np.ndarray) -> None:
        """The chunk ``cells`` with its codes (len(cells), N)."""
        n_c = len(cells)
        for track, k, g1, g2 in self.tracks:
            out = np.zeros((n_c, LEVELS * 2 * k), dtype=np.int32)
            _cell_kernels.on_all_cores(functools.partial(_count, codes, g1, g2, k, out), n_c)
            hist = out.reshape(n_c, LEVELS, 2 * k)
            full = hist[:, :, :k].any(axis=2)  # (cells, LEVELS): the non-empty buckets
            lengths = full.sum(axis=1)
            buckets = np.flatnonzero(full.ravel()) % LEVELS
            self.parts.append((track, np.asarray(cells, dtype=np.int32), lengths, buckets.astype(np.int32),
                               hist[full].ravel()))

    def finish(self) -> pa.Table | None:
        """The rows for ``_idx.cell_counts`` (None when nothing was counted)."""
        if not self.parts:
            return None
        tracks, cells, lengths, buckets, counts = [], [], [], [], []
        for track, c, n, b, h in self.parts:
            tracks += [track] * len(c)
            cells.append(c)
            lengths.append(n)
            buckets.append(b)
            counts.append(h)
        n = np.concatenate(lengths).astype(np.int64)
        k = {t: kk for t, kk, _, _ in self.tracks}
        widths = np.array([2 * k[t] for t in tracks], dtype=np.int64)
        b_off = np.r_[0, np.cumsum(n)].astype(np.int32)
        c_off = np.r_[0, np.cumsum(n * widths)].astype(np.int32)
        self.parts = []
        return pa.table({
            "source": pa.array([self.info.source] * len(tracks), pa.string()),
            "track": pa.array(tracks, pa.string()),
            "cell": pa.array(np.concatenate(cells), pa.int32()),
            "buckets": pa.ListArray.from_arrays(pa.array(b_off), pa.array(np.concatenate(buckets), pa.int32())),
            "counts": pa.ListArray.from_arrays(pa.array(c_off), pa.array(np.concatenate(counts), pa.int32()))})


def _count(codes, g1, g2, k: int, out: np.ndarray, lo: int, hi: int) -> None:
    _cell_kernels.bucket_counts(codes, lo, hi, g1, g2, k, out)


def store(con: duckdb.DuckDBPyConnection, tables: list[pa.Table]) -> None:
    """Insert ``tables`` (``Collector.finish``'s, any number of sources) into ``_idx.cell_counts``."""
    for tbl in tables:
        con.register("_cell_counts_in", tbl)
        con.execute("INSERT INTO _idx.cell_counts SELECT * FROM _cell_counts_in")
        con.unregister("_cell_counts_in")


def load(cat: Catalog, info: SourceInfo, track: str) -> Counts | None:
    """The counts stored for ``track`` on ``info``'s source, kept on the catalog; None when
    nothing fitting is stored (every cell once, buckets increasing and in range, counts that add
    up to the track's labelled positions per label)."""
    key = ("kept_counts", info.sid, track)
    if key not in cat._cache:
        cat._cache[key] = _read(cat, info, track)
    return cat._cache[key]


def _read(cat: Catalog, info: SourceInfo, track: str) -> Counts | None:
    if _ABSENT in cat._cache:
        return None
    try:
        with cat.cursor() as cur:
            tbl = cur.sql("SELECT cell, buckets, counts FROM _idx.cell_counts WHERE source = $s AND track = $t "
                          "ORDER BY cell", params={"s": info.source, "t": track}).to_arrow_table()
    except duckdb.CatalogException:  # a file written before the table existed
        cat._cache[_ABSENT] = True
        return None
    d = info.n_cells
    tr = _labels.categorical(cat, track)
    k = len(tr.labels)
    if tbl.num_rows != d or k == 0:
        return None
    cells = arrowcols.values(tbl.column("cell"))
    if not np.array_equal(cells, np.arange(d)):
        return None
    b_col = tbl.column("buckets").combine_chunks()
    c_col = tbl.column("counts").combine_chunks()
    start = np.asarray(b_col.offsets, dtype=np.int64) - int(b_col.offsets[0].as_py())
    c_off = np.asarray(c_col.offsets, dtype=np.int64) - int(c_col.offsets[0].as_py())
    buckets = np.ascontiguousarray(arrowcols.values(b_col.flatten()), dtype=np.int32)
    counts = np.ascontiguousarray(arrowcols.values(c_col.flatten()), dtype=np.int32)
    if not np.array_equal(c_off, start * 2 * k) or len(buckets) != start[-1] or len(counts) != c_off[-1]:
        return None
    want = np.bincount(tr.codes[tr.codes >= 0], minlength=k).astype(np.int64)
    if not _cell_kernels.counts_fit(start, buckets, counts, k, LEVELS, want):
        return None
    return Counts(k=k, start=start, buckets=buckets, counts=counts)


def label_stats(kept: Counts, task, jt: np.ndarray, jex: np.ndarray, tol: float):
    """``_ranking._scan``'s outputs for ``task`` (not cold) from the kept counts, and the control's
    on-counts (d, k) at the thresholds: (est, bound, on, mark_lab, ctrl_on)."""
    d = len(kept.start) - 1
    est, bound, on = np.empty((d, 2)), np.empty((d, 2)), np.zeros((d, 2), dtype=np.int64)
    mark_lab = np.zeros((d, LEVELS), dtype=bool)
    ctrl_on = np.zeros((d, kept.k), dtype=np.int64)

    def piece(lo: int, hi: int) -> None:
        _cell_kernels.kept_label_stats(kept.start, kept.buckets, kept.counts, kept.k, int(task.label), lo, hi,
                                       jt, jex, tol, est, bound, on, mark_lab, ctrl_on)

    _cell_kernels.on_all_cores(piece, d)
    return est, bound, on, mark_lab, ctrl_on
