"""Typed loaders over an open project for the statistics: documents, tracks as arrays, tokens.

Every read is a small query with bound parameters.  Loaded tracks are cached on the
Catalog (``Catalog._cache``), so a cell-set null that aligns many match sets reads each track
once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmvis_db.errors import QueryError
from lstmvis_db.queries import Catalog


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
    key = ("analysis", "kinds")
    if key not in cat._cache:
        with cat.cursor() as cur:
            cat._cache[key] = dict(cur.execute("SELECT track, kind FROM tracks ORDER BY track").fetchall())
    return dict(cat._cache[key])


def check_tracks(cat: Catalog, names: list[str] | None) -> dict[str, str]:
    """The tracks asked for (all when None) with their kinds; an unknown name is an error."""
    kinds = track_kinds(cat)
    if names is None:
        return kinds
    bad = [t for t in names if t not in kinds]
    if bad:
        raise QueryError(f"unknown track {bad[0]!r}; tracks: {', '.join(kinds) or 'none'}")
    return {t: kinds[t] for t in dict.fromkeys(names)}


def categorical(cat: Catalog, track: str) -> Categorical:
    """Integer codes of a categorical track; label order = the track's category order, then
    any other label found in ``annotations`` in name order."""
    key = ("analysis", "categorical", track)
    if key in cat._cache:
        return cat._cache[key]
    if track_kinds(cat).get(track) != "categorical":
        raise QueryError(f"track {track!r} is not a categorical track")
    with cat.cursor() as cur:
        order = [r[0] for r in cur.execute(
            "SELECT category FROM _idx.track_categories WHERE track = $t ORDER BY ord", {"t": track}).fetchall()]
        groups = cur.execute(
            "SELECT label, list(pos) FROM annotations WHERE track = $t AND label IS NOT NULL GROUP BY label",
            {"t": track}).fetchall()
    found = {str(lab): pos for lab, pos in groups}
    labels = [c for c in dict.fromkeys(order) if c in found] + sorted(set(found) - set(order))
    labels += [c for c in dict.fromkeys(order) if c not in found]  # declared, never used: count 0
    codes = np.full(cat.n_positions, -1, dtype=np.int32)
    for i, lab in enumerate(labels):
        if lab in found:
            codes[np.asarray(found[lab], dtype=np.int64)] = i
    out = Categorical(track, codes, labels)
    cat._cache[key] = out
    return out


def topk_first(cat: Catalog, track: str) -> Categorical:
    """A top-k prediction track as categorical: the best-ranked predicted token at each position."""
    key = ("analysis", "topk", track)
    if key in cat._cache:
        return cat._cache[key]
    with cat.cursor() as cur:
        groups = cur.execute(
            """SELECT token, list(pos) FROM (SELECT pos, arg_min(token, rank) AS token FROM predictions
               WHERE source = $t GROUP BY pos) GROUP BY token ORDER BY token""", {"t": track}).fetchall()
    codes = np.full(cat.n_positions, -1, dtype=np.int32)
    labels = []
    for i, (tok, pos) in enumerate(groups):
        labels.append(str(tok))
        codes[np.asarray(pos, dtype=np.int64)] = i
    out = Categorical(track, codes, labels)
    cat._cache[key] = out
    return out


def scalar(cat: Catalog, track: str) -> np.ndarray:
    """Values of a scalar track as float64 over all positions (NaN = no value)."""
    key = ("analysis", "scalar", track)
    if key in cat._cache:
        return cat._cache[key]
    if track_kinds(cat).get(track) != "scalar":
        raise QueryError(f"track {track!r} is not a scalar track")
    with cat.cursor() as cur:
        got = cur.execute("SELECT pos, value FROM annotations WHERE track = $t AND value IS NOT NULL",
                          {"t": track}).fetchnumpy()
    vals = np.full(cat.n_positions, np.nan)
    vals[np.asarray(got["pos"], dtype=np.int64)] = np.asarray(got["value"], dtype=np.float64)
    cat._cache[key] = vals
    return vals


def token_strings(cat: Catalog, lo: int, hi: int) -> list[str]:
    """Tokens of positions lo..hi (inclusive)."""
    with cat.cursor() as cur:
        rows = cur.execute("SELECT token FROM tokens WHERE pos BETWEEN $lo AND $hi ORDER BY pos",
                           {"lo": int(lo), "hi": int(hi)}).fetchall()
    return [str(r[0]) for r in rows]
