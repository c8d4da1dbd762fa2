"""The label-independent part of the ranking (``_ranking._Control``) for every categorical track
of one source at once, as ingest keeps it (docs/performance.md §Kept at ingest).

A first ranking call computes it for one track: a histogram pass over every cell's codes with
the label and every control label as targets, a read of the exact values of the buckets its
refinement re-ranks, one sort of them per cell and track, and a pass over every exact row for
the per-label sums.  Here, for a batch of tracks together:

1. the cells' codes are read a chunk of cells at a time; one compiled pass per cell counts every
   track's control histogram (no label target) and marks the buckets each track re-ranks;
2. the positions in marked buckets (labelled by a track that marked them) are listed, with a bit
   per such track; when a group of cells holds :data:`GROUP_VALUES` of them (or the cells run out),
3. one pass over the rows, a block at a time, adds the per-label sums of every track and picks
   up those positions' exact values; then each cell's values are sorted once and every track's
   rank offsets read from that one order.

Nothing is kept between sources or groups: memory is bounded by a chunk of codes, a group's
listed values and a block of rows, not by positions x cells.  Every sum is made of the same
terms in the same order as on the on-demand path (``_ranking.stats`` with nothing kept), so the
results are bit for bit the same (tests/unit/test_kept_cell_stats.py compares them).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lstmvis_db import queries
from lstmvis_db.analysis import _control_kernels as kern
from lstmvis_db.analysis import _labels
from lstmvis_db.analysis._cell_kernels import on_all_cores
from lstmvis_db.analysis._ranking import _Control
from lstmvis_db.matching.quant import LEVELS
from lstmvis_db.queries import Catalog, SourceInfo

CODE_BYTES = 32 * 2**20  # codes (uint16) of one chunk of cells
MARK_BYTES = 64 * 2**20  # the chunk's marked buckets, one byte per (track, cell, bucket)
BATCH_TRACKS = 32  # tracks per batch: one bit each per listed value
BATCH_TARGETS = 1024  # control labels per batch (a worker's histogram: LEVELS x this x 4 bytes)
GROUP_VALUES = 24_000_000  # listed values held at once (14 bytes each), one pass over the rows each
ROW_VALUES = 8_000_000  # values per block of rows read


@dataclass(frozen=True)
class _Stack:
    """A batch of tasks side by side: per position and task, the row of its real label in the
    stacked sums (-1: unlabelled) and of its control label in the stacked control statistics."""

    tasks: list
    g1: np.ndarray  # (N, T) int32
    g2: np.ndarray  # (N, T) int32
    k1: np.ndarray  # (T + 1,) int64: task j's real labels are rows k1[j] .. k1[j + 1] - 1
    k2: np.ndarray  # (T + 1,) int64: its control labels k2[j] .. k2[j + 1] - 1


@dataclass(frozen=True)
class _Listed:
    """The positions of a run of cells whose exact values the re-ranking needs (CSR by cell)."""

    cell0: int
    offs: np.ndarray  # (cells + 1,) int64
    pos: np.ndarray  # int32, ascending per cell
    q: np.ndarray  # uint16 bucket
    bits: np.ndarray  # uint32: bit j set when task j re-ranks this value


def controls(cat: Catalog, info: SourceInfo, tasks: list, tol: float, on_codes=None) -> list[_Control]:
    """``_ranking``'s control part of each task (one per track, no threshold) on ``info``;
    ``on_codes(cells, codes)`` sees every chunk of cells' codes once as they are read."""
    out: list[_Control] = []
    for i, batch in enumerate(_batches(tasks)):
        out += _batch(cat, info, _stack(batch), tol, on_codes if i == 0 else None)
    return out


def _batches(tasks: list) -> list[list]:
    out: list[list] = [[]]
    for t in tasks:
        last = out[-1]
        if last and (len(last) == BATCH_TRACKS or sum(x.k_ctrl for x in last) + t.k_ctrl > BATCH_TARGETS):
            out.append([])
        out[-1].append(t)
    return [b for b in out if b]


def _stack(tasks: list) -> _Stack:
    k1 = np.r_[0, np.cumsum([int(t.codes.max()) + 1 for t in tasks])].astype(np.int64)
    k2 = np.r_[0, np.cumsum([t.k_ctrl for t in tasks])].astype(np.int64)
    n = len(tasks[0].codes)
    g1, g2 = np.empty((n, len(tasks)), np.int32), np.empty((n, len(tasks)), np.int32)
    for j, t in enumerate(tasks):
        g1[:, j] = np.where(t.codes >= 0, t.codes + k1[j], -1)
        g2[:, j] = np.where(t.ctrl_full >= 0, t.ctrl_full + k2[j], -1)
    return _Stack(tasks, g1, g2, k1, k2)


def _batch(cat: Catalog, info: SourceInfo, st: _Stack, tol: float, on_codes=None) -> list[_Control]:
    d, n, n_t = info.n_cells, cat.n_positions, len(st.tasks)
    auroc = np.empty((d, int(st.k2[-1])))
    s1, s2 = np.zeros((int(st.k1[-1]), d)), np.zeros((int(st.k2[-1]), d))
    has = np.zeros((n_t, d), dtype=bool)  # task j re-ranks some bucket of the cell
    step = int(max(1, min(d, CODE_BYTES // max(1, 2 * n), MARK_BYTES // (n_t * LEVELS))))
    group: list[_Listed] = []
    held = 0
    for a in range(0, d, step):
        listed = _chunk(cat, info, st, np.arange(a, min(d, a + step)), tol, auroc, has, on_codes)
        group.append(listed)
        held += len(listed.pos)
        if held >= GROUP_VALUES or a + step >= d:
            _settle_group(cat, info, st, _joined(group), s1, s2, auroc, has)
            group, held = [], 0
    out = []
    for j in range(n_t):
        c0, c1, r0, r1 = int(st.k2[j]), int(st.k2[j + 1]), int(st.k1[j]), int(st.k1[j + 1])
        out.append(_Control(auroc=np.ascontiguousarray(auroc[:, c0:c1]), sums=s1[r0:r1].copy(),
                            ctrl_sums=s2[c0:c1].copy()))
    return out


def _chunk(cat: Catalog, info: SourceInfo, st: _Stack, cells: np.ndarray, tol: float, auroc: np.ndarray,
           has: np.ndarray, on_codes=None) -> _Listed:
    """Steps 1 and 2 for a chunk of cells: their control AUROCs from the index (into ``auroc``)
    and the positions to re-rank."""
    codes = np.ascontiguousarray(_labels.quantized_columns(cat, info, cells).T)  # (cells, N)
    if on_codes is not None:
        on_codes(cells, codes)
    n_c, n_t, m = len(cells), len(st.tasks), int(st.k2[-1])
    est, bound = np.empty((n_c, m)), np.empty((n_c, m))
    mark = np.zeros((n_t, n_c, LEVELS), dtype=bool)
    on_all_cores(lambda lo, hi: kern.control_stats(codes, lo, hi, st.g2, 0, n_t, st.k2, tol, est, bound, mark), n_c)
    auroc[cells] = est
    any_t = mark.any(axis=2)
    has[:, cells] = any_t
    any_c = any_t.any(axis=0)
    counts = np.zeros(n_c, dtype=np.int64)
    on_all_cores(lambda lo, hi: kern.marked_count(codes, lo, hi, st.g2, 0, n_t, mark, any_c, counts), n_c)
    offs = np.r_[0, np.cumsum(counts)].astype(np.int64)
    pos = np.empty(int(offs[-1]), np.int32)
    q = np.empty(len(pos), np.uint16)
    bits = np.empty(len(pos), np.uint32)
    on_all_cores(lambda lo, hi: kern.marked_fill(codes, lo, hi, st.g2, 0, n_t, mark, any_c, offs, pos, q, bits), n_c)
    return _Listed(int(cells[0]), offs, pos, q, bits)


def _joined(parts: list[_Listed]) -> _Listed:
    if len(parts) == 1:
        return parts[0]
    offs = [parts[0].offs]
    for p in parts[1:]:
        offs.append(p.offs[1:] + offs[-1][-1])
    return _Listed(parts[0].cell0, np.concatenate(offs), np.concatenate([p.pos for p in parts]),
                   np.concatenate([p.q for p in parts]), np.concatenate([p.bits for p in parts]))


def _settle_group(cat: Catalog, info: SourceInfo, st: _Stack, ls: _Listed, s1: np.ndarray, s2: np.ndarray,
                  auroc: np.ndarray, has: np.ndarray) -> None:
    """Step 3 for a run of cells: one pass over the rows (their columns' sums, their listed
    values), then what re-ranking those values adds to each control AUROC."""
    n, n_t = cat.n_positions, len(st.tasks)
    lo, n_c = ls.cell0, len(ls.offs) - 1
    vals = np.empty(len(ls.pos), np.float32)
    cursor = ls.offs[:-1].copy()
    block = int(max(2048, min(65536, ROW_VALUES // info.n_cells)))
    for a in range(0, n, block):
        rows = np.ascontiguousarray(queries.window(cat, info.source, a, min(n, a + block) - 1), dtype=np.float32)
        on_all_cores(functools.partial(_block_piece, rows, a, lo, st, s1, s2, ls, cursor, vals), n_c)
    delta = np.zeros((n_c, int(st.k2[-1])))

    def settle(x: int, y: int) -> None:
        for r in range(x, y):
            e = slice(int(ls.offs[r]), int(ls.offs[r + 1]))
            if e.stop > e.start:
                order = np.lexsort((vals[e], ls.q[e]))
                kern.control_offsets(ls.pos[e], ls.q[e], vals[e], ls.bits[e], order, st.g2, 0, n_t, 0, delta[r])

    on_all_cores(settle, n_c, 8)
    for j, task in enumerate(st.tasks):
        rows_c = np.flatnonzero(has[j, lo:lo + n_c])
        if not len(rows_c):
            continue
        c0, c1 = int(st.k2[j]), int(st.k2[j + 1])
        n_k = task.n_k.astype(np.float64)
        scale = n_k * (len(task.pos) - n_k)
        with np.errstate(invalid="ignore", divide="ignore"):
            auroc[lo + rows_c, c0:c1] += np.where(scale > 0, delta[rows_c, c0:c1] / scale, 0.0)


def _block_piece(rows: np.ndarray, a: int, lo: int, st: _Stack, s1: np.ndarray, s2: np.ndarray, ls: _Listed,
                 cursor: np.ndarray, vals: np.ndarray, x: int, y: int) -> None:
    """``block_pass`` over the group's cells lo + x .. lo + y (one worker's columns)."""
    kern.block_pass(rows, a, lo + x, lo + y, lo, st.g1, st.g2, 0, len(st.tasks), s1, s2, ls.offs, ls.pos, cursor, vals)
