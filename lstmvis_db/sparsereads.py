"""The read side of sparse sources (docs/data-model.md §Sparse sources and SAE features).

A sparse source stores only its non-zero values, as (pos, unit, value) rows of ``_idx.sp_<sid>``
in (pos, unit) order; an absent entry is 0.  Every reader here gives exactly what the dense
reader gives for the same values with the zeros filled in, and keeps memory proportional to
the entries it reads: windows and rows at chosen positions are made dense only for the bounded
ranges the callers ask for; selection, a match's on-bits and its rescoring work from the
entries themselves.  Called by ``queries`` (and the cell statistics' loaders); imports numpy,
pyarrow, ``errors``, ``matching`` and the catalog types only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from lstmvis_db.errors import QueryError
from lstmvis_db.matching import algorithm as matching
from lstmvis_db.matching import budget
from lstmvis_db.matching import sparse as sparse_matching

if TYPE_CHECKING:
    from lstmvis_db.queries import Catalog, SourceInfo


def table(info: SourceInfo) -> str:
    """The entries table of a sparse source (its name from the source index's integer id)."""
    return f"_idx.sp_{int(info.sid)}"


def entries(cat: Catalog, info: SourceInfo, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pos, unit, value) of the stored entries at positions lo..hi, in (pos, unit) order."""
    with cat.cursor() as cur:
        tbl = cur.execute(f"SELECT pos, unit, value FROM {table(info)} WHERE pos BETWEEN ? AND ? "
                          "ORDER BY pos, unit", [int(lo), int(hi)]).fetchnumpy()
    return (np.asarray(tbl["pos"], dtype=np.int64), np.asarray(tbl["unit"], dtype=np.int64),
            np.asarray(tbl["value"], dtype=np.float32))


def window(cat: Catalog, info: SourceInfo, lo: int, hi: int) -> np.ndarray:
    """Values (hi-lo+1, D) float32 of positions lo..hi, zeros filled in (the caller bounds the size)."""
    return densify(*entries(cat, info, lo, hi), lo, hi, info.n_cells)


def densify(pos: np.ndarray, unit: np.ndarray, value: np.ndarray, lo: int, hi: int, n_cells: int) -> np.ndarray:
    """The (hi-lo+1, n_cells) float32 window of the entries of positions lo..hi, zeros filled in."""
    out = np.zeros((hi - lo + 1, n_cells), dtype=np.float32)
    out[pos - lo, unit] = value
    return out


def rows_at(cat: Catalog, info: SourceInfo, positions: np.ndarray) -> np.ndarray:
    """Values (len(positions), D) float32 at sorted unique positions, zeros filled in."""
    want = pa.table({"pos": positions.astype(np.int32)})
    with cat.cursor() as cur:
        cur.register("_want", want)
        tbl = cur.sql(f"SELECT s.pos, s.unit, s.value FROM {table(info)} s SEMI JOIN _want USING (pos)").fetchnumpy()
    out = np.zeros((len(positions), info.n_cells), dtype=np.float32)
    pos = np.asarray(tbl["pos"], dtype=np.int64)
    out[np.searchsorted(positions, pos), np.asarray(tbl["unit"], dtype=np.int64)] = np.asarray(tbl["value"])
    return out


def rows_at_cells(cat: Catalog, info: SourceInfo, positions: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Values (len(positions), len(cells)) float32 of some cells at sorted unique positions."""
    positions, cells = np.asarray(positions, dtype=np.int64), np.asarray(cells, dtype=np.int64)
    out = np.zeros((len(positions), len(cells)), dtype=np.float32)
    if not len(positions) or not len(cells):
        return out
    with cat.cursor() as cur:
        cur.register("_want", pa.table({"pos": positions.astype(np.int32)}))
        cur.register("_cells", pa.table({"unit": cells.astype(np.int32)}))
        tbl = cur.sql(f"SELECT s.pos, s.unit, s.value FROM {table(info)} s SEMI JOIN _want USING (pos) "
                      "SEMI JOIN _cells USING (unit)").fetchnumpy()
    order = np.argsort(cells, kind="stable")
    col = order[np.searchsorted(cells[order], np.asarray(tbl["unit"], dtype=np.int64))]
    out[np.searchsorted(positions, np.asarray(tbl["pos"], dtype=np.int64)), col] = np.asarray(tbl["value"])
    return out


def columns(cat: Catalog, info: SourceInfo, cells: np.ndarray) -> np.ndarray:
    """Values (N, len(cells)) float32 of the given cells over every position, zeros filled in,
    column-major like ``analysis._labels`` gives dense sources' columns."""
    cells = np.asarray(cells, dtype=np.int64)
    out = np.zeros((len(cells), cat.n_positions), dtype=np.float32)
    if len(cells) == 0:
        return out.T
    with cat.cursor() as cur:
        cur.register("_cells", pa.table({"unit": cells.astype(np.int32)}))
        tbl = cur.sql(f"SELECT s.pos, s.unit, s.value FROM {table(info)} s SEMI JOIN _cells USING (unit)").fetchnumpy()
    unit = np.asarray(tbl["unit"], dtype=np.int64)
    order = np.argsort(cells)
    col = order[np.searchsorted(cells[order], unit)]
    out[col, np.asarray(tbl["pos"], dtype=np.int64)] = np.asarray(tbl["value"])
    return out.T


def select(cat: Catalog, info: SourceInfo, start: int, end: int, lo: int, hi: int, t: float) -> list[int]:
    """Cells on at every position of [start, end] and off at the padding positions lo..start-1
    and end+1..hi (already cut to the document), from the entries of lo..hi alone."""
    pos, unit, value = entries(cat, info, lo, hi)
    value, t = value.astype(np.float64), np.float64(t)  # compared as float64, like the dense readers
    d = info.n_cells
    inside = (pos >= start) & (pos <= end)
    if t > 0:  # absent entries (0) are off: on = stored and >= t
        on = value >= t
        count_in = np.bincount(unit[inside & on], minlength=d)
        on_out = np.bincount(unit[~inside & on], minlength=d) > 0
        keep = (count_in == end - start + 1) & ~on_out
    else:  # absent entries (0) are on: off = stored and < t
        off = value < t
        off_in = np.bincount(unit[inside & off], minlength=d) > 0
        off_out = np.bincount(unit[~inside & off], minlength=d)
        keep = ~off_in & (off_out == (hi - lo + 1) - (end - start + 1))
    return [int(c) for c in np.flatnonzero(keep)]


def selected_bits(cat: Catalog, info: SourceInfo, cells: np.ndarray, t: float) -> np.ndarray:
    """Exact on-bits (N, W) of the selected cells, in ``matchbits.selected_bits``'s layout (one
    word of the narrowest unsigned type for at most 64 cells, else uint64 words), from their entries."""
    n, m = cat.n_positions, len(cells)
    w = (m + 63) // 64
    dtype = next(d for d in (np.uint8, np.uint16, np.uint32, np.uint64) if np.iinfo(d).bits >= m) if w == 1 \
        else np.uint64
    default_on = t <= 0
    if default_on:
        full = np.ones((1, m), dtype=bool)
        bits = np.repeat(matching.pack_bool(full).astype(dtype) if w > 1 else
                         matching.pack_bool(full)[:, :1].astype(dtype), n, axis=0)
    else:
        bits = np.zeros((n, w), dtype=dtype)
    cells = np.asarray(cells, dtype=np.int64)
    cond = "value::DOUBLE < $t::DOUBLE" if default_on else "value::DOUBLE >= $t::DOUBLE"
    with cat.cursor() as cur:
        cur.register("_cells", pa.table({"unit": cells.astype(np.int32)}))
        reader = cur.sql(f"SELECT s.pos, s.unit FROM {table(info)} s SEMI JOIN _cells USING (unit) WHERE {cond}",
                         params={"t": float(t)}).to_arrow_reader(budget.batch_rows(8))
        lookup = np.zeros(info.n_cells, dtype=np.int64)
        lookup[cells] = np.arange(m)
        for batch in reader:
            if not batch.num_rows:
                continue
            pos = batch.column(0).to_numpy().astype(np.int64)
            i = lookup[batch.column(1).to_numpy().astype(np.int64)]
            for word in np.unique(i // 64):
                sel = (i // 64) == word
                mask = (np.uint64(1) << (i[sel] % 64).astype(np.uint64)).astype(dtype)
                col = bits[:, word]  # a view: the ufuncs below write into ``bits``
                if default_on:
                    np.bitwise_and.at(col, pos[sel], ~mask)
                else:
                    np.bitwise_or.at(col, pos[sel], mask)
    return bits


def rescorer(cat: Catalog, info: SourceInfo, t: float) -> sparse_matching.Rescorer:
    """The exact rescoring of a match's candidates on every cell of a sparse source, from its
    entries whose on-state differs from an absent entry's (>= t when t > 0, else < t)."""
    default_on = t <= 0
    cond = "value::DOUBLE < $t::DOUBLE" if default_on else "value::DOUBLE >= $t::DOUBLE"
    with cat.cursor() as cur:
        tbl = cur.execute(f"SELECT pos, unit FROM {table(info)} WHERE {cond} ORDER BY pos, unit",
                          {"t": float(t)}).fetchnumpy()
    return sparse_matching.Rescorer(np.asarray(tbl["pos"], dtype=np.int64), np.asarray(tbl["unit"], dtype=np.int64),
                                    default_on, info.n_cells)


def check_width(rows: int, info: SourceInfo) -> None:
    """A dense window of a sparse source must stay within the match budget."""
    from lstmvis_db import matchbits

    if rows * info.n_cells * 4 > 16 * 2**20 and rows * info.n_cells * 4 > matchbits.memory_limit():
        raise QueryError(f"{rows:,} positions x {info.n_cells} units of sparse source {info.source!r} would need "
                         f"{rows * info.n_cells * 4 / 2**20:,.0f} MB as a dense window; read fewer positions")
