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


def match_chunk(rows: pd.DataFrame, cells: list[int], n_cells: int, threshold: float, constrain_left: bool,
                constrain_right: bool, length: int, limit: int) -> pd.DataFrame:
    """Rows (pos, doc, v) of one chunk -> its top ``limit`` matches and its histogram counts, as
    rows of ``OUTPUT_SCHEMA`` (kind ``match``, ``fuzzy`` or ``strict``)."""
    rows = rows.sort_values("pos", kind="stable")
    pos = rows["pos"].to_numpy(np.int64)
    if len(pos) == 0:
        return pd.DataFrame({k: [] for k in ("kind", "start", "length", "intersection", "union", "missing", "n")})
    if np.any(np.diff(pos) != 1):
        raise ValueError("a chunk of the dataset has missing or repeated positions")
    vals = np.stack(rows["v"].to_numpy()).astype(np.float32, copy=False)
    sel = np.asarray(cells, dtype=np.int64)
    t = np.float64(threshold)
    first, last = _documents(rows["doc"].to_numpy())
    bits = algorithm.pack_bool(vals[:, sel] >= t)
    res = algorithm.match_arrays(bits, sel, n_cells, float(threshold), lambda p: vals[p], first, last,
                                 constrain_left=constrain_left, constrain_right=constrain_right, length=length,
                                 limit=limit)
    base = int(pos[0])
    out = [("match", m["start"] + base, m["length"], m["intersection"], m["union"], m["missing"], 0)
           for m in res["matches"]]
    for kind in ("fuzzy", "strict"):
        out += [(kind, 0, int(k), 0, 0, 0, int(v)) for k, v in res["histogram"][kind].items()]
    return pd.DataFrame(out, columns=["kind", "start", "length", "intersection", "union", "missing", "n"])
