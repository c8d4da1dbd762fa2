"""Typed loaders over an open project for the statistics: documents, tracks as arrays, tokens.

Every read is a small query with bound parameters.  Loaded tracks are cached on the
Catalog (``Catalog._cache``), so a cell-set null that aligns many match sets reads each track
once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lstmvis_db import arrowcols
from lstmvis_db.errors import QueryError
from lstmvis_db.queries import Catalog

T = TypeVar("T")


@dataclass(frozen=True)
class Corpus:
    """Positions 0..n-1 split into documents ``first[d] .. last[d]`` (inclusive)."""

    n: int
    first: np.ndarray
    last: np.ndarray

    def doc_of(self, pos: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.first, np.asarray(pos, dtype=np.int64), side="right") - 1


@dataclass(frozen=True)
class Categorical:
    """One categorical track: ``codes[pos]`` indexes ``labels`` (-1 = no label at pos)."""

    track: str
    codes: np.ndarray
    labels: list[str]


def corpus(cat: Catalog) -> Corpus:
    return Corpus(cat.n_positions, cat.doc_first, cat.doc_last)


def track_kinds(cat: Catalog) -> dict[str, str]:
    """Track name -> kind (``categorical``, ``scalar``, ``topk``), in name order."""
    def build() -> dict[str, str]:
        with cat.cursor() as cur:
            return dict(cur.execute("SELECT track, kind FROM tracks ORDER BY track").fetchall())

    return dict(_cached(cat, ("kinds",), build))


def check_tracks(cat: Catalog, names: list[str] | None) -> dict[str, str]:
    """The tracks asked for (all when None) with their kinds; an unknown name is an error."""
    kinds = track_kinds(cat)
    if names is None:
        return kinds
    bad = [t for t in names if t not in kinds]
    if bad:
        raise QueryError(f"unknown track {bad[0]!r}; tracks: {', '.join(kinds) or 'none'}")
    return {t: kinds[t] for t in dict.fromkeys(names)}


def _cached(cat: Catalog, key: tuple, build: Callable[[], T]) -> T:
    full = ("analysis", *key)
    if full not in cat._cache:
        cat._cache[full] = build()
    return cat._cache[full]


def _coded(cat: Catalog, track: str, labels: list[str], positions: dict[str, list[int]]) -> Categorical:
    codes = np.full(cat.n_positions, -1, dtype=np.int32)
    for i, lab in enumerate(labels):
        if lab in positions:
            codes[np.asarray(positions[lab], dtype=np.int64)] = i
    return Categorical(track, codes, labels)


def dictionary(col: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The distinct values of a string column (first-seen order) and, per row, the index of its
    value among them (int64): one dictionary encoding instead of a sort of every row's string."""
    enc = pc.dictionary_encode(col).combine_chunks()
    return enc.dictionary, arrowcols.values(enc.indices).astype(np.int64, copy=False)


def categorical(cat: Catalog, track: str) -> Categorical:
    """Integer codes of a categorical track; label order = the track's category order, then
    any other label found in ``annotations`` in name order, then declared labels never used."""
    if track_kinds(cat).get(track) != "categorical":
        raise QueryError(f"track {track!r} is not a categorical track")

    def build() -> Categorical:
        with cat.cursor() as cur:
            order = [r[0] for r in cur.execute(
                "SELECT category FROM _idx.track_categories WHERE track = $t ORDER BY ord", {"t": track}).fetchall()]
            tbl = cur.sql("SELECT pos, label FROM annotations WHERE track = $t AND label IS NOT NULL",
                          params={"t": track}).to_arrow_table()
        # positions and labels as arrays (a list of positions per label as Python ints costs ~1 s per 1M)
        pos = arrowcols.values(tbl.column("pos")).astype(np.int64, copy=False)
        distinct, idx = dictionary(tbl.column("label"))
        names = [str(x) for x in distinct.to_pylist()]
        found = set(names)
        declared = list(dict.fromkeys(order))
        labels = [c for c in declared if c in found] + sorted(found - set(declared))
        labels += [c for c in declared if c not in found]
        where = {lab: i for i, lab in enumerate(labels)}
        codes = np.full(cat.n_positions, -1, dtype=np.int32)
        codes[pos] = np.array([where[x] for x in names], dtype=np.int32)[idx] if len(names) else -1
        return Categorical(track, codes, labels)

    return _cached(cat, ("categorical", track), build)


def topk_first(cat: Catalog, track: str) -> Categorical:
    """A top-k prediction track as categorical: the best-ranked predicted token at each position."""
    def build() -> Categorical:
        with cat.cursor() as cur:
            groups = cur.execute(
                """SELECT token, list(pos) FROM (SELECT pos, arg_min(token, rank) AS token FROM predictions
                   WHERE source = $t GROUP BY pos) GROUP BY token ORDER BY token""", {"t": track}).fetchall()
        found = {str(tok): pos for tok, pos in groups}
        return _coded(cat, track, list(found), found)

    return _cached(cat, ("topk", track), build)


def scalar(cat: Catalog, track: str) -> np.ndarray:
    """Values of a scalar track as float64 over all positions (NaN = no value)."""
    if track_kinds(cat).get(track) != "scalar":
        raise QueryError(f"track {track!r} is not a scalar track")

    def build() -> np.ndarray:
        with cat.cursor() as cur:
            got = cur.execute("SELECT pos, value FROM annotations WHERE track = $t AND value IS NOT NULL",
                              {"t": track}).fetchnumpy()
        vals = np.full(cat.n_positions, np.nan)
        vals[np.asarray(got["pos"], dtype=np.int64)] = np.asarray(got["value"], dtype=np.float64)
        return vals

    return _cached(cat, ("scalar", track), build)


def token_strings(cat: Catalog, lo: int, hi: int) -> list[str]:
    """Tokens of positions lo..hi (inclusive)."""
    with cat.cursor() as cur:
        rows = cur.execute("SELECT token FROM tokens WHERE pos BETWEEN $lo AND $hi ORDER BY pos",
                           {"lo": int(lo), "hi": int(hi)}).fetchall()
    return [str(r[0]) for r in rows]
