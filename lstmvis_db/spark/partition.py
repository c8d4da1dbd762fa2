"""One chunk's share of a match: the contract's algorithm (``matching.match_arrays``) on the
chunk's rows, positions made global again.  Runs never cross a document, and a chunk is a run
of whole documents, so the chunk's candidates and scores are exactly the corpus's there."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmvis_db.matching import algorithm

OUTPUT_SCHEMA = ("kind string, start long, length int, intersection int, union int, missing int, n long")


def _documents(doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last local index of each document of a chunk (rows sorted by position)."""
    cut = np.flatnonzero(np.diff(doc)) + 1
    first = np.concatenate([[0], cut]).astype(np.int64)
    last = np.concatenate([cut - 1, [len(doc) - 1]]).astype(np.int64)
    return first, last


def _arrays(rows: pd.DataFrame, cells: list[int], threshold: float):
    """Positions, values, local document bounds and the selected cells' on-bits of one chunk."""
    rows = rows.sort_values("pos", kind="stable")
    pos = rows["pos"].to_numpy(np.int64)
    if np.any(np.diff(pos) != 1):
        raise ValueError("a chunk of the dataset has missing or repeated positions")
    vals = np.stack(rows["v"].to_numpy()).astype(np.float32, copy=False)
    first, last = _documents(rows["doc"].to_numpy())
    bits = algorithm.pack_bool(vals[:, np.asarray(cells, dtype=np.int64)] >= np.float64(threshold))
    return pos, vals, first, last, bits


def match_chunk(rows: pd.DataFrame, cells: list[int], n_cells: int, threshold: float, constrain_left: bool,
                constrain_right: bool, length: int, limit: int) -> pd.DataFrame:
    """Rows (pos, doc, v) of one chunk -> its top ``limit`` matches and its histogram counts, as
    rows of ``OUTPUT_SCHEMA`` (kind ``match``, ``fuzzy`` or ``strict``)."""
    if len(rows) == 0:
        return pd.DataFrame({k: [] for k in ("kind", "start", "length", "intersection", "union", "missing", "n")})
    pos, vals, first, last, bits = _arrays(rows, cells, threshold)
    sel = np.asarray(cells, dtype=np.int64)
    res = algorithm.match_arrays(bits, sel, n_cells, float(threshold), lambda p: vals[p], first, last,
                                 constrain_left=constrain_left, constrain_right=constrain_right, length=length,
                                 limit=limit)
    base = int(pos[0])
    out = [("match", m["start"] + base, m["length"], m["intersection"], m["union"], m["missing"], 0)
           for m in res["matches"]]
    for kind in ("fuzzy", "strict"):
        out += [(kind, 0, int(k), 0, 0, 0, int(v)) for k, v in res["histogram"][kind].items()]
    return pd.DataFrame(out, columns=["kind", "start", "length", "intersection", "union", "missing", "n"])


CANDIDATE_SCHEMA = "chunk int, ord long, start long, length int, missing int"


def candidates_chunk(rows: pd.DataFrame, chunk: int, cells: list[int], n_cells: int, threshold: float,
                     constrain_left: bool, constrain_right: bool, length: int) -> pd.DataFrame:
    """Every candidate of one chunk (start, length, missing) in the compiled path's order (by
    end; chunks are consecutive, so chunk then ``ord`` is the corpus's order): align's ``all``
    and ``strict`` sets."""
    cols = ["chunk", "ord", "start", "length", "missing"]
    if len(rows) == 0:
        return pd.DataFrame({k: [] for k in cols})
    pos, vals, first, last, bits = _arrays(rows, cells, threshold)
    c = algorithm.scored_candidates(bits, np.asarray(cells, dtype=np.int64), n_cells, float(threshold),
                                    lambda p: vals[p], first, last, constrain_left, constrain_right, length)
    return pd.DataFrame({"chunk": np.full(len(c.start), chunk, dtype=np.int32), "ord": np.arange(len(c.start)),
                         "start": c.start + int(pos[0]), "length": c.length, "missing": c.missing}, columns=cols)
