"""Matching a cell set drawn from several sources of one project (docs/semantics.md §Matching).

A cell is identified by (source, index), and each source has its own threshold.  The count at a
position is the number of query cells on across the sources; candidates, scoring, ranking and
histograms follow the one-source definition with "all cells" meaning every cell of the sources
taking part.  It runs the one-source algorithm on a virtual source that puts the sources' cells
side by side: cell c of part i has index offset_i + c, and "on" is ``v - t_i >= 0`` (in float64,
where the sign of the difference is the sign of the exact comparison ``v >= t_i``).

Imports the core read side (``queries``, ``matchbits``) and ``matching``; never the app.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lstmvis_db import matchbits, queries
from lstmvis_db.errors import QueryError
from lstmvis_db.matching import algorithm as matching
from lstmvis_db.matching import budget
from lstmvis_db.queries import Catalog
from lstmvis_db.types import MatchResult


@dataclass(frozen=True)
class Part:
    """The query cells of one source and that source's threshold."""

    source: str
    cells: tuple[int, ...]
    threshold: float


def check_parts(cat: Catalog, parts: Sequence[object]) -> list[Part]:
    """Each part as (source, cells, threshold): a known source at most once, known cells, a finite
    threshold.  Parts without cells are checked and then left out."""
    out: list[Part] = []
    seen: set[str] = set()
    if isinstance(parts, (str, bytes)) or not parts:
        raise QueryError("give at least one (source, cells, threshold) part")
    for part in parts:
        if not isinstance(part, (tuple, list)) or len(part) != 3:
            raise QueryError(f"each part is (source, cells, threshold), got {part!r}")
        source, cells, threshold = part
        info = cat.source(str(source))
        if info.source in seen:
            raise QueryError(f"source {info.source!r} is given twice; list all its cells in one part")
        seen.add(info.source)
        sel = queries.check_cells(info, cells)
        t = queries.check_threshold(threshold)
        if len(sel):  # a source without query cells takes no part (its cells are not scored)
            out.append(Part(info.source, tuple(int(c) for c in sel), t))
    return out


def _unpack(bits: np.ndarray, m: int) -> np.ndarray:
    """(N, W) packed words (little-endian bits) -> (N, m) bool."""
    raw = np.ascontiguousarray(bits).view(np.uint8)
    return np.unpackbits(raw, axis=1, bitorder="little")[:, :m].astype(bool)


def _part_bits(cat: Catalog, info: queries.SourceInfo, part: Part) -> np.ndarray:
    """(N, m) bool: the part's query cells on at its own threshold (exact, from the index)."""
    cells = np.asarray(part.cells, dtype=np.int64)

    def rows(pos: np.ndarray) -> np.ndarray:
        return queries.rows_at(cat, part.source, pos)

    return _unpack(matchbits.selected_bits(cat, info, cells, part.threshold, rows), len(cells))


def match_sources(cat: Catalog, parts: Sequence[object], constrain_left: bool = True,
                  constrain_right: bool = False, length: int = 0, limit: int = 50,
                  pool: int | None = None) -> MatchResult:
    """The dict of ``match --json`` for a cell set over several sources (see the module text)."""
    checked = check_parts(cat, parts)
    a = queries.check_match_args(constrain_left, constrain_right, length, limit, pool)
    if not checked:  # no query cell in any part
        return {"matches": [], "histogram": {"fuzzy": {}, "strict": {}}, "candidates": 0}
    infos = [cat.source(p.source) for p in checked]
    offsets = np.cumsum([0] + [i.n_cells for i in infos])[:-1]
    sel = np.concatenate([np.asarray(p.cells, dtype=np.int64) + off for p, off in zip(checked, offsets, strict=True)])
    limit_bytes = matchbits.memory_limit()
    budget.check(cat.n_positions, 8 * ((len(sel) + 63) // 64) + len(sel), 0, limit_bytes)  # before reading
    on = np.concatenate([_part_bits(cat, info, p) for p, info in zip(checked, infos, strict=True)], axis=1)
    bits = matching.pack_bool(on)
    del on

    def rows(pos: np.ndarray) -> np.ndarray:  # every cell of the parts' sources, minus its threshold
        return np.hstack([queries.rows_at(cat, p.source, pos).astype(np.float64) - p.threshold for p in checked])

    total = int(sum(i.n_cells for i in infos))
    return matching.match_arrays(
        bits, sel, total, 0.0, rows, cat.doc_first, cat.doc_last, constrain_left=a.constrain_left,
        constrain_right=a.constrain_right, length=a.length, limit=a.limit, pool=a.pool, memory_limit=limit_bytes,
    )
