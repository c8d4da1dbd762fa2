"""The selected cells' on-bits of a match, read from the quantised index within bounded memory.

``selected_bits`` streams the index a batch at a time into one accumulator per 64 cells and
settles the positions the bucket cannot decide from exact rows, again a batch at a time;
``memory_limit`` is the budget a match may use (``matching.budget``).  Called by
``queries.match``; imports the matching package and the store's memory setting only (the
catalog types are for annotations).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from lstmvis_db import arrowcols
from lstmvis_db.errors import QueryError
from lstmvis_db.matching import algorithm as matching
from lstmvis_db.matching import budget
from lstmvis_db.matching.quant import LEVELS

if TYPE_CHECKING:
    from lstmvis_db.queries import Catalog, SourceInfo


def selected_bits(cat: Catalog, info: SourceInfo, cells: np.ndarray, t: float,
                  rows_at: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Exact on-bits (N, W) of the selected cells: quantised index, exact rows in the one bucket
    (a sparse source's from its entries, ``sparsereads.selected_bits``)."""
    if info.sparse:
        from lstmvis_db import sparsereads

        return sparsereads.selected_bits(cat, info, cells, t)
    n, m = cat.n_positions, len(cells)
    j, exact = info.quant.threshold_bucket(t)
    if j < 0 or j >= LEVELS:
        on = np.full((1, m), j < 0)
        return np.repeat(matching.pack_bool(on), n, axis=0)
    from lstmvis_db.matching import kernels  # numba loads on the first match, not with every command

    columns = ", ".join(f"c{c}" for c in cells)
    # one accumulator per word, in the narrowest integer that holds its cells (less memory traffic)
    words = [np.zeros(n, dtype=next(d for d in (np.uint8, np.uint16, np.uint32, np.uint64)
                                    if np.iinfo(d).bits >= min(64, m - 64 * w))) for w in range((m + 63) // 64)]
    amb = np.zeros(n, dtype=bool)
    seen = 0
    with cat.cursor() as cur:  # rows in any order (the index is written without keeping it); a batch at a time
        reader = cur.sql(f"SELECT pos, {columns} FROM _idx.q_{info.sid}").to_arrow_reader(budget.batch_rows(2 * m + 4))
        for batch in reader:
            if batch.num_rows:
                seen += batch.num_rows
                _threshold_batch(batch, words, j, exact, amb, kernels)
    if seen != n:
        raise QueryError(f"internal error: the index of {info.source!r} has {seen} rows, not {n}")
    # one word of the narrowest type, or uint64 words (matching's convention)
    bits = words[0].reshape(n, 1) if len(words) == 1 else np.stack(words, axis=1).astype(np.uint64)
    del words
    amb_pos = np.flatnonzero(amb)
    step = budget.batch_rows(4 * info.n_cells + 8 * bits.shape[1])
    for a in range(0, len(amb_pos), step):  # exact rows where the bucket cannot tell, a batch at a time
        part = amb_pos[a:a + step]
        exact_on = matching.pack_bool(rows_at(part)[:, cells] >= np.float64(t))
        bits[part] = exact_on.astype(bits.dtype)
    return bits


def _threshold_batch(batch: pa.RecordBatch, words: list[np.ndarray], j: int, exact: bool, amb: np.ndarray,
                     kernels) -> None:
    """Set the bits of one batch of index rows (columns pos, then the cells in order)."""
    pos = arrowcols.values(batch.column(0))
    cuts = kernels.stretches(pos)
    for w, acc in enumerate(words):
        for i in range(min(64, batch.num_columns - 1 - 64 * w)):
            q = arrowcols.values(batch.column(64 * w + i + 1))
            if len(cuts) > 2 + len(q) // 1024:  # rows scattered: place each by its position
                kernels.threshold_column_at(q, pos, j, exact, acc, i, amb)
                continue
            for lo, hi in itertools.pairwise(cuts):  # the usual case: a few long stretches
                at = slice(int(pos[lo]), int(pos[lo]) + int(hi - lo))
                kernels.threshold_column(q[lo:hi], j, exact, acc[at], i, amb[at])


def memory_limit() -> int:
    """Bytes a match may use: ``LSTMVIS_MAX_MATCH_MB``, else DuckDB's limit (``store.memory_limit``)."""
    from lstmvis_db import store

    text = store.memory_limit().strip().upper().replace("IB", "B")
    units = {"KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40, "B": 1}
    unit = next((u for u in units if text.endswith(u)), "B")
    try:
        default_mb = float(text[: len(text) - len(unit)]) * units[unit] / 2**20
    except ValueError:
        default_mb = 1024.0
    return budget.limit_bytes(default_mb)


def check_rows(rows: int, n_cells: int) -> None:
    """Exact rows fetched at once (a view's window) must fit the match budget as float32."""
    if rows * n_cells * 4 > 16 * 2**20 and rows * n_cells * 4 > memory_limit():
        raise QueryError(f"{rows:,} positions x {n_cells} cells would need {rows * n_cells * 4 / 2**20:,.0f} MB, "
                         f"more than the limit of {memory_limit() / 2**20:,.0f} MB (LSTMVIS_MAX_MATCH_MB)")
