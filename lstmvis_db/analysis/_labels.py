"""Small typed loaders the cell statistics share: categorical tracks as codes, token types,
exact columns and the quantised index of chosen cells.  Every read binds its values; table
and column names come from the project's integer source ids and cell numbers only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
            raise QueryError(f"unknown label {label!r} of track {self.track!r}; labels: {shown}") from None


def track_kinds(cat: Catalog) -> dict[str, str]:
    """Track name -> kind."""
    with cat.cursor() as cur:
        return dict(cur.execute("SELECT track, kind FROM tracks ORDER BY track").fetchall())


def categorical_names(cat: Catalog) -> list[str]:
    return [t for t, k in track_kinds(cat).items() if k == "categorical"]


def check_track(cat: Catalog, track: str, kind: str = "categorical") -> None:
    kinds = track_kinds(cat)
    if track not in kinds:
        raise QueryError(f"unknown track {track!r}; tracks: {', '.join(kinds) or 'none'}")
    if kinds[track] != kind:
        raise QueryError(f"track {track!r} is {kinds[track]}, not {kind}")


def categorical(cat: Catalog, track: str) -> Categorical:
    """Codes of a categorical track over all positions (cached per catalog)."""
    key = ("categorical", track)
    if key in cat._cache:
        return cat._cache[key]
    check_track(cat, track)
    with cat.cursor() as cur:
        order = [r[0] for r in cur.execute(
            "SELECT category FROM _idx.track_categories WHERE track = $t ORDER BY ord", {"t": track}).fetchall()]
        got = cur.execute("SELECT pos, label FROM annotations WHERE track = $t AND label IS NOT NULL",
                          {"t": track}).fetchnumpy()
    pos = np.asarray(got["pos"], dtype=np.int64)
    raw = np.asarray(got["label"], dtype=object).astype(str)
    present, inv = np.unique(raw, return_inverse=True)
    labels = [c for c in order if c in set(present)] + sorted(set(present) - set(order))
    remap = np.array([labels.index(p) for p in present], dtype=np.int32)
    codes = np.full(cat.n_positions, -1, dtype=np.int32)
    codes[pos] = remap[inv] if len(pos) else codes[pos]
    out = Categorical(track, codes, tuple(labels))
    cat._cache[key] = out
    return out


def token_types(cat: Catalog) -> np.ndarray:
    """Per position, the index of its token string among the sorted distinct strings."""
    if "token_types" not in cat._cache:
        with cat.cursor() as cur:
            toks = cur.execute("SELECT token FROM tokens ORDER BY pos").fetchnumpy()["token"]
        cat._cache["token_types"] = np.unique(np.asarray(toks, dtype=object).astype(str),
                                              return_inverse=True)[1].astype(np.int64)
    return cat._cache["token_types"]


def tokens_at(cat: Catalog, lo: int, hi: int) -> list[str]:
    with cat.cursor() as cur:
        rows = cur.execute("SELECT token FROM tokens WHERE pos BETWEEN $lo AND $hi ORDER BY pos",
                           {"lo": int(lo), "hi": int(hi)}).fetchall()
    return [str(r[0]) for r in rows]


def check_cell(info: SourceInfo, cell: object) -> int:
    try:
        c = int(cell)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise QueryError(f"cell must be an integer, got {cell!r}") from None
    if c != cell or not 0 <= c < info.n_cells:
        raise QueryError(f"unknown cell {cell!r} in source {info.source!r} (cells 0..{info.n_cells - 1})")
    return c


def _columns(cat: Catalog, query: str, width: int, dtype: type) -> np.ndarray:
    """Rows of ``SELECT pos, col1, col2, ...`` placed by position: (N, width), column-major
    (each cell's column contiguous: the statistics work one cell at a time)."""
    out: np.ndarray = np.empty((width, cat.n_positions), dtype=dtype)
    if width == 0:
        return out.T
    with cat.cursor() as cur:
        tbl = cur.sql(query).fetchnumpy()
    pos = np.asarray(tbl["pos"], dtype=np.int64)
    for i, name in enumerate(list(tbl)[1:]):
        out[i, pos] = np.asarray(tbl[name], dtype=dtype)
    return out.T


def exact_columns(cat: Catalog, info: SourceInfo, cells: np.ndarray) -> np.ndarray:
    """Exact values (N, len(cells)) float32 of the given cells, in position order."""
    cols = ", ".join(f"v[{int(c) + 1}]" for c in cells)
    return _columns(cat, f"SELECT pos, {cols} FROM _idx.rows_{info.sid}", len(cells), np.float32)


def quantized_columns(cat: Catalog, info: SourceInfo, cells: np.ndarray) -> np.ndarray:
    """14-bit bucket numbers (N, len(cells)) uint16 of the given cells, in position order."""
    cols = ", ".join(f"c{int(c)}" for c in cells)
    return _columns(cat, f"SELECT pos, {cols} FROM _idx.q_{info.sid}", len(cells), np.uint16)
