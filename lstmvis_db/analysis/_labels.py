"""Small typed loaders the cell statistics share: categorical tracks as codes, token types,
exact columns and the quantised index of chosen cells.  Every read binds its values; table
and column names come from the project's integer source ids and cell numbers only.  Tracks and
tokens are read through :mod:`lstmvis_db.analysis.corpus` (one loader each, cached there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmvis_db import arrowcols, sparsereads
from lstmvis_db.analysis import corpus
from lstmvis_db.errors import QueryError
from lstmvis_db.queries import Catalog, SourceInfo


@dataclass(frozen=True)
class Categorical:
    """A categorical track: ``codes`` (N, int32; -1 = no label) into ``labels``."""

    track: str
    codes: np.ndarray
    labels: tuple[str, ...]

    def code(self, label: str) -> int:
        try:
            return self.labels.index(str(label))
        except ValueError:
            shown = ", ".join(self.labels[:20]) + (" ..." if len(self.labels) > 20 else "")
            if not self.labels:
                raise QueryError(f"track {self.track!r} labels no position (so not {label!r})") from None
            raise QueryError(f"unknown label {label!r} of track {self.track!r}; labels: {shown}") from None


track_kinds = corpus.track_kinds  # track name -> kind
tokens_at = corpus.token_strings  # the tokens of positions lo..hi


def categorical_names(cat: Catalog) -> list[str]:
    return [t for t, k in track_kinds(cat).items() if k == "categorical"]


def check_track(cat: Catalog, track: str, kind: str = "categorical") -> None:
    kinds = track_kinds(cat)
    if track not in kinds:
        raise QueryError(f"unknown track {track!r}; tracks: {', '.join(kinds) or 'none'}")
    if kinds[track] != kind:
        raise QueryError(f"track {track!r} is {kinds[track]}, not {kind}")


def categorical(cat: Catalog, track: str) -> Categorical:
    """Codes of a categorical track over all positions, its labels those that occur (cached per
    catalog).  The codes are :func:`corpus.categorical`'s: the labels in use come first there
    (the track's category order, then the others by name), declared labels never used last."""
    key = ("categorical", track)
    if key in cat._cache:
        return cat._cache[key]
    check_track(cat, track)
    full = corpus.categorical(cat, track)
    used = int(full.codes.max()) + 1 if len(full.codes) else 0
    out = Categorical(track, full.codes, tuple(full.labels[:used]))
    cat._cache[key] = out
    return out


def token_types(cat: Catalog) -> np.ndarray:
    """Per position, the index of its token string among the sorted distinct strings (numpy's
    order of ``str``).  The strings are dictionary-encoded in Arrow and only the distinct ones
    sorted: the same numbers as ``np.unique`` over every position's string, 12x faster at 1M."""
    if "token_types" not in cat._cache:
        with cat.cursor() as cur:
            col = cur.sql("SELECT token FROM tokens ORDER BY pos").to_arrow_table().column(0)
        distinct, idx = corpus.dictionary(col)
        words = distinct.to_numpy(zero_copy_only=False).astype(str)
        rank = np.unique(words, return_inverse=True)[1].astype(np.int64).reshape(-1)
        cat._cache["token_types"] = rank[idx]
    return cat._cache["token_types"]


def check_cell(info: SourceInfo, cell: object) -> int:
    try:
        c = int(cell)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise QueryError(f"cell must be an integer, got {cell!r}") from None
    if c != cell or not 0 <= c < info.n_cells:
        raise QueryError(f"unknown cell {cell!r} in source {info.source!r} (cells 0..{info.n_cells - 1})")
    return c


def _columns(cat: Catalog, query: str, width: int, dtype: type, out: np.ndarray | None = None) -> np.ndarray:
    """Rows of ``SELECT pos, col1, col2, ...`` placed by position: (N, width), column-major
    (each cell's column contiguous: the statistics work one cell at a time).  ``out``: the
    (width, N) array to fill (returned transposed).  The rows come in runs of consecutive
    positions (row groups, in whatever order the scan yields them), so each column is placed by
    a few slice copies rather than a scatter."""
    if out is None:
        out = np.empty((width, cat.n_positions), dtype=dtype)
    if width == 0:
        return out.T
    with cat.cursor() as cur:
        tbl = cur.sql(query).to_arrow_table()
    pos = arrowcols.values(tbl.column(0)).astype(np.int64, copy=False)
    breaks = np.flatnonzero(np.diff(pos) != 1) + 1
    starts = np.r_[0, breaks]
    ends = np.r_[breaks, len(pos)]
    if len(starts) > 4096:  # no useful runs: scatter
        for i in range(width):
            out[i, pos] = arrowcols.values(tbl.column(i + 1))
        return out.T
    runs = [(int(a), int(b), int(pos[a])) for a, b in zip(starts, ends)]
    for i in range(width):
        at = 0
        for chunk in tbl.column(i + 1).chunks:
            vals = arrowcols.values(chunk)
            lo, hi = at, at + len(vals)
            for a, b, p in runs:  # the runs that overlap this chunk
                if b <= lo or a >= hi:
                    continue
                s, e = max(a, lo), min(b, hi)
                out[i, p + s - a:p + e - a] = vals[s - lo:e - lo]
            at = hi
    return out.T


def exact_columns(cat: Catalog, info: SourceInfo, cells: np.ndarray) -> np.ndarray:
    """Exact values (N, len(cells)) float32 of the given cells, in position order."""
    if info.sparse:
        return sparsereads.columns(cat, info, np.asarray(cells, dtype=np.int64))
    cols = ", ".join(f"v[{int(c) + 1}]" for c in cells)
    return _columns(cat, f"SELECT pos, {cols} FROM _idx.rows_{info.sid}", len(cells), np.float32)


def exact_span(cat: Catalog, info: SourceInfo, cell: int, lo: int, hi: int) -> np.ndarray:
    """Exact values of one cell at positions lo..hi (float32, position order): only the rows of that
    range are read (the rows are stored in position order, so DuckDB skips the other row groups)."""
    if info.sparse:
        pos, unit, value = sparsereads.entries(cat, info, int(lo), int(hi))
        span = np.zeros(int(hi) - int(lo) + 1, dtype=np.float32)
        keep = unit == int(cell)
        span[pos[keep] - int(lo)] = value[keep]
        return span
    with cat.cursor() as cur:
        tbl = cur.execute(f"SELECT pos, v[{int(cell) + 1}] AS v FROM _idx.rows_{info.sid} "
                          "WHERE pos BETWEEN ? AND ?", [int(lo), int(hi)]).fetchnumpy()
    out = np.zeros(int(hi) - int(lo) + 1, dtype=np.float32)
    out[np.asarray(tbl["pos"], dtype=np.int64) - int(lo)] = np.asarray(tbl["v"], dtype=np.float32)
    return out


def quantized_columns(cat: Catalog, info: SourceInfo, cells: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """14-bit bucket numbers (N, len(cells)) uint16 of the given cells, in position order
    (``out``: the (len(cells), N) array to fill, returned transposed; a sparse source's codes
    are computed from its exact values with its stored quantisation)."""
    if info.sparse:
        vals = sparsereads.columns(cat, info, np.asarray(cells, dtype=np.int64))
        codes = info.quant.bucket(vals).astype(np.uint16)
        if out is None:
            return np.asfortranarray(codes)
        out[...] = codes.T
        return out.T
    cols = ", ".join(f"c{int(c)}" for c in cells)
    return _columns(cat, f"SELECT pos, {cols} FROM _idx.q_{info.sid}", len(cells), np.uint16, out)
