"""One pass over every exact row of a dense source, a block of positions at a time, taking
only the values some cells want (``_exact.Exact.fetch`` when many cells want many positions:
the threshold's bucket and the buckets a ranking refines, on a first call).

The values are gathered straight from the Arrow batches DuckDB returns for a block, without
first copying every row into one float32 array as ``queries.window`` does; at 300k x 650 that
copy and its freshly faulted pages were as costly as the query.  A block whose batches are not
runs of consecutive positions (a scan that interleaved them) is left to ``queries.window``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lstmvis_db import arrowcols, queries
from lstmvis_db.queries import Catalog, SourceInfo


def gather_runs(cat: Catalog, info: SourceInfo, a: int, b: int, wanted: dict[int, np.ndarray],
                out: dict[int, np.ndarray]) -> bool:
    """The wanted values of rows a..b-1 taken straight from the fetched Arrow batches, without
    first copying every row into one float32 array (``queries.window``).  False (nothing
    written) unless every batch is a run of consecutive positions covering a..b-1, as a scan
    in stored order yields them."""
    with cat.cursor() as cur:
        tbl = cur.sql(f"SELECT pos, v FROM {queries._rows_table(info)} WHERE pos BETWEEN $lo AND $hi",
                      params={"lo": a, "hi": b - 1}).to_arrow_table()
    parts = []
    at = a
    for batch in tbl.to_batches():
        pos = arrowcols.values(batch.column(0))
        if len(pos) == 0:
            continue
        if int(pos[0]) != at or int(pos[-1]) != at + len(pos) - 1 or bool((np.diff(pos) != 1).any()):
            return False
        flat = arrowcols.values(batch.column(1).flatten())
        f16 = pa.types.is_uint16(batch.column(1).type.value_type)
        parts.append((at, (flat.view(np.float16) if f16 else flat).reshape(len(pos), info.n_cells)))
        at += len(pos)
    if at != b:
        return False
    for first, rows in parts:
        gather(rows, first, wanted, out)
    return True


def gather(rows: np.ndarray, first: int, wanted: dict[int, np.ndarray], out: dict[int, np.ndarray]) -> None:
    """out[c] at the places of the positions ``wanted[c]`` (sorted) inside rows first.. gets
    their values (float16 rows are widened exactly on assignment)."""
    for c, p in wanted.items():
        lo, hi = np.searchsorted(p, [first, first + len(rows)])
        out[c][lo:hi] = rows[p[lo:hi] - first, c]
