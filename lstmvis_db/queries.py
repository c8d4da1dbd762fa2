"""Read side: small typed functions over an open project file (docs/semantics.md §Matching).

Every read uses bound parameters; identifiers that vary (per-source tables, cell columns)
are generated from integers held in the project's own source index, never from user text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from lstmvis_db import arrowcols, matchbits, reads, sparsereads
from lstmvis_db.checks import check_bool, check_cell_ids, check_int, check_positions, check_threshold
from lstmvis_db.errors import QueryError
from lstmvis_db.matching import algorithm as matching
from lstmvis_db.matching import budget
from lstmvis_db.matching.quant import Quantizer
from lstmvis_db.types import MatchResult

# The plain reads live in ``reads``; re-exported so ``queries.tokens`` and the rest keep working.
MAX_RESULTS = reads.MAX_RESULTS
count_rows = reads.count_rows
tokens = reads.tokens
tracks = reads.tracks
track_annotations = reads.track_annotations
predictions = reads.predictions
token_text = reads.token_text
token_joiner = reads.token_joiner
token_range = reads.token_range
search = reads.search
info = reads.info
project_meta = reads.project_meta


@dataclass(frozen=True)
class SourceInfo:
    source: str
    sid: int
    n_cells: int
    model: str
    layer: int
    kind: str
    transform: str
    unsigned: bool
    description: str
    min_value: float
    max_value: float
    quant: Quantizer
    value_dtype: str = "float32"  # how the values are stored: "float32", "float16" or "sparse" (schema.sql)

    @property
    def sparse(self) -> bool:
        """Only the non-zero values are stored, as (pos, unit, value) entries (``sparsereads``)."""
        return self.value_dtype == "sparse"


@dataclass
class Catalog:
    """An open project: its connection and the small metadata every query needs."""

    con: duckdb.DuckDBPyConnection
    path: str = ""
    _cache: dict = field(default_factory=dict)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the project (its configuration is locked by ``store.connect``: no SET here;
        a new cursor starts in the in-memory catalog and without the progress bar)."""
        cur = self.con.cursor()
        cur.execute("USE project")
        return cur

    @cached_property
    def sources(self) -> dict[str, SourceInfo]:
        with self.cursor() as cur:
            rows = cur.execute(
                """SELECT s.source, i.sid, s.n_cells, s.model, s.layer, s.kind, s.transform, s.unsigned,
                          s.description, i.min_value, i.max_value, i.q_step, i.q_zero, i.value_dtype
                   FROM sources s JOIN _idx.source_index i USING (source) ORDER BY i.sid"""
            ).fetchall()
        return {
            r[0]: SourceInfo(r[0], r[1], r[2], r[3] or "", r[4], r[5] or "", r[6], bool(r[7]), r[8] or "",
                             r[9], r[10], Quantizer(step=r[11], zero=int(r[12])), str(r[13]))
            for r in rows
        }

    @cached_property
    def n_positions(self) -> int:
        with self.cursor() as cur:
            return count_rows(cur, "tokens")

    @cached_property
    def documents(self) -> pd.DataFrame:
        with self.cursor() as cur:
            return cur.execute("SELECT doc, name, first_pos, last_pos FROM documents ORDER BY doc").df()

    @cached_property
    def doc_first(self) -> np.ndarray:
        return self.documents["first_pos"].to_numpy(np.int64)

    @cached_property
    def doc_last(self) -> np.ndarray:
        return self.documents["last_pos"].to_numpy(np.int64)

    def source(self, name: str) -> SourceInfo:
        try:
            return self.sources[name]
        except KeyError:
            raise QueryError(f"unknown source {name!r}; sources: {', '.join(self.sources) or 'none'}") from None

    def doc_of(self, pos: int) -> int:
        return int(np.searchsorted(self.doc_first, pos, side="right") - 1)


# --------------------------------------------------------------------------- checks


def check_range(cat: Catalog, start: object, end: object) -> tuple[int, int]:
    return check_positions(cat.n_positions, start, end)


def check_cells(info: SourceInfo, cells: object) -> np.ndarray:
    return check_cell_ids(info.n_cells, info.source, cells)


# --------------------------------------------------------------------------- rows


def _rows_to_numpy(table: pa.Table, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(pos, values float32) of fetched rows: float32 arrays, or float16 bit patterns (uint16)
    widened exactly."""
    pos = arrowcols.values(table.column("pos"))
    col = table.column("v")
    if not len(col):
        return pos, np.zeros((0, d), np.float32)
    f16 = pa.types.is_uint16(col.type.value_type)
    vals = np.empty((len(col), d), np.float32)
    at = 0
    for chunk in col.chunks:  # chunk by chunk into one array: combine_chunks would copy everything once more
        part = arrowcols.values(chunk.flatten()).reshape(-1, d)
        vals[at:at + len(part)] = part.view(np.float16) if f16 else part
        at += len(part)
    return pos, vals


def _rows_table(info: SourceInfo) -> str:
    """The physical rows table of a source (its name from the source index's integer id)."""
    return f"_idx.f16_{int(info.sid)}" if info.value_dtype == "float16" else f"_idx.rows_{int(info.sid)}"


def window(cat: Catalog, source: str, lo: int, hi: int) -> np.ndarray:
    """Exact values (hi-lo+1, D) of positions lo..hi (clipped to the corpus)."""
    info = cat.source(source)
    lo, hi = max(0, check_int(lo, "lo")), min(cat.n_positions - 1, check_int(hi, "hi"))
    if hi < lo:
        return np.zeros((0, info.n_cells), dtype=np.float32)
    matchbits.check_rows(hi - lo + 1, info.n_cells)
    if info.sparse:
        return sparsereads.window(cat, info, lo, hi)
    with cat.cursor() as cur:  # no ORDER BY: sorting the arrays in SQL costs 3x the fetch; rows come
        tbl = cur.sql(            # in stored (position) order unless a parallel scan interleaves them
            f"SELECT pos, v FROM {_rows_table(info)} WHERE pos BETWEEN $lo AND $hi",
            params={"lo": lo, "hi": hi},
        ).to_arrow_table()
    return _in_order(*_rows_to_numpy(tbl, info.n_cells))


def _in_order(pos: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """``vals`` with its rows in position order (as they are unless a parallel scan interleaved them)."""
    if len(pos) > 1 and not bool(np.all(pos[1:] > pos[:-1])):
        return vals[np.argsort(pos, kind="stable")]
    return vals


def rows_at(cat: Catalog, source: str, positions: np.ndarray) -> np.ndarray:
    """Exact values (len(positions), D) at sorted unique positions."""
    info = cat.source(source)
    positions = np.asarray(positions, dtype=np.int64)
    if len(positions) == 0:
        return np.zeros((0, info.n_cells), dtype=np.float32)
    if positions[-1] - positions[0] + 1 == len(positions):
        return window(cat, source, int(positions[0]), int(positions[-1]))
    if info.sparse:
        matchbits.check_rows(len(positions), info.n_cells)
        return sparsereads.rows_at(cat, info, positions)
    want = pa.table({"pos": positions.astype(np.int32)})
    with cat.cursor() as cur:  # sorting the arrays in SQL would cost more than the fetch
        cur.register("_want", want)
        tbl = cur.sql(f"SELECT r.pos, r.v FROM {_rows_table(info)} r SEMI JOIN _want USING (pos)").to_arrow_table()
    pos, vals = _rows_to_numpy(tbl, info.n_cells)
    order = np.argsort(pos, kind="stable")
    if not np.array_equal(pos[order], positions):
        raise QueryError("internal error: rows missing from the project file")
    return vals[order]


# --------------------------------------------------------------------------- selection


def select_cells(cat: Catalog, source: str, start: int, end: int, threshold: float,
                 left_off: int = 1, right_off: int = 0) -> list[int]:
    """Cells on at every position of [start, end] and off at the padding positions.

    Padding positions outside the document of ``start`` are ignored.
    """
    cat.source(source)  # an unknown source: a clear error
    t = np.float64(check_threshold(threshold))
    start, end = check_range(cat, start, end)
    left_off, right_off = check_int(left_off, "left_off", 0), check_int(right_off, "right_off", 0)
    doc = cat.doc_of(start)
    if cat.doc_of(end) != doc:
        raise QueryError(f"range {start}..{end} crosses a document boundary")
    lo = max(int(cat.doc_first[doc]), start - int(left_off))
    hi = min(int(cat.doc_last[doc]), end + int(right_off))
    if cat.source(source).sparse:  # from the entries of lo..hi alone
        return sparsereads.select(cat, cat.source(source), start, end, lo, hi, float(t))
    on_inside = np.ones(cat.source(source).n_cells, dtype=bool)
    on_outside = np.zeros_like(on_inside)
    step = budget.batch_rows(5 * len(on_inside))
    for a in range(lo, hi + 1, step):  # a batch of rows at a time: a long brush stays within memory
        b = min(hi, a + step - 1)
        on = window(cat, source, a, b) >= t
        inside = (np.arange(a, b + 1) >= start) & (np.arange(a, b + 1) <= end)
        on_inside &= on[inside].all(axis=0)
        on_outside |= on[~inside].any(axis=0)
    return [int(c) for c in np.flatnonzero(on_inside & ~on_outside)]


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class MatchArgs:
    """The checked options of one match (``match`` and the per-cell-threshold match share them)."""

    constrain_left: bool
    constrain_right: bool
    length: int
    limit: int
    pool: int | None


def check_match_args(constrain_left: object, constrain_right: object, length: object, limit: object,
                     pool: object) -> MatchArgs:
    """length >= 0, 1 <= limit <= MAX_RESULTS, pool None or >= 1, the constraints True or False."""
    length, limit = check_int(length, "length", 0), check_int(limit, "limit", 1, MAX_RESULTS)
    pool = None if pool is None else check_int(pool, "pool", 1)
    cl, cr = check_bool(constrain_left, "constrain_left"), check_bool(constrain_right, "constrain_right")
    return MatchArgs(cl, cr, length, limit, pool)


def match(cat: Catalog, source: str, cells: object, threshold: float, constrain_left: bool = True,
          constrain_right: bool = False, length: int = 0, limit: int = 50, pool: int | None = None) -> MatchResult:
    """docs/semantics.md §Matching matching; the dict of ``match --json``."""
    info = cat.source(source)
    t = check_threshold(threshold)
    sel = check_cells(info, cells)
    a = check_match_args(constrain_left, constrain_right, length, limit, pool)
    if len(sel) == 0:
        return {"matches": [], "histogram": {"fuzzy": {}, "strict": {}}, "candidates": 0}
    limit_bytes = matchbits.memory_limit()
    budget.check(cat.n_positions, 8 * ((len(sel) + 63) // 64), 0, limit_bytes)  # before reading anything
    bits = source_bits(cat, info, sel, t)
    return matching.match_arrays(
        bits, sel, info.n_cells, t, lambda p: rows_at(cat, source, p), cat.doc_first, cat.doc_last,
        constrain_left=a.constrain_left, constrain_right=a.constrain_right, length=a.length, limit=a.limit,
        pool=a.pool, memory_limit=limit_bytes, rescorer=sparsereads.rescorer(cat, info, t) if info.sparse else None,
    )


def source_bits(cat: Catalog, info: SourceInfo, cells: np.ndarray, t: float) -> np.ndarray:
    """Exact on-bits (N, W) of ``cells`` at ``t``: the quantised index of a dense source, the
    entries of a sparse one (``matchbits.selected_bits``'s layout either way)."""
    return matchbits.selected_bits(cat, info, cells, t, lambda p: rows_at(cat, info.source, p))


def match_candidates(cat: Catalog, source: str, cells: object, threshold: float, constrain_left: bool = True,
                     constrain_right: bool = False, length: int = 0, pool: int | None = None,
                     with_union: bool = False) -> matching.ScoredCandidates:
    """Every candidate ``match`` scores with these options, as arrays (for align's ``all`` and
    ``strict`` sets); the ranking and the limit of ``match`` do not apply."""
    info = cat.source(source)
    t = check_threshold(threshold)
    sel = check_cells(info, cells)
    for name, v, low in (("length", length, 0), ("pool", 1 if pool is None else pool, 1)):
        if int(v) != v or v < low:
            raise QueryError(f"{name} must be an integer >= {low}, got {v!r}")
    if len(sel) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return matching.ScoredCandidates(empty, empty, empty, empty, empty if with_union else None)
    budget.check(cat.n_positions, 8 * ((len(sel) + 63) // 64), 0, matchbits.memory_limit())  # before reading
    bits = source_bits(cat, info, sel, t)
    return matching.scored_candidates(
        bits, sel, info.n_cells, t, lambda p: rows_at(cat, source, p),
        cat.doc_first, cat.doc_last, bool(constrain_left), bool(constrain_right), int(length),
        None if pool is None else int(pool), with_union,
        rescorer=sparsereads.rescorer(cat, info, t) if info.sparse and with_union else None)



MAX_DETAIL_STEPS = 1000


def match_details(cat: Catalog, source: str, cells: object, threshold: float, matches: list[dict],
                  left: int = 3, right: int = 20, only: list[str] | None = None) -> pd.DataFrame:
    """One row per (match, step) of each match's window, clipped to its document.

    A window is cut after MAX_DETAIL_STEPS positions (a match as long as a document stays small).
    Columns: row, start, length, offset (step relative to the match start), pos, token,
    in_match, count (selected cells on), then one column per categorical/scalar track, named
    after the track (``"<name> (track)"`` when the name is one of the columns above); with
    ``only``, just those tracks' columns (the app's Match view reads the tracks it shows).
    """
    info = cat.source(source)
    sel = check_cells(info, cells)
    t = np.float64(check_threshold(threshold))
    left, right = check_int(left, "left", 0), check_int(right, "right", 0)
    rows = []
    for i, mt in enumerate(matches):
        s, ln = check_int(mt["start"], "match start", 0), check_int(mt["length"], "match length", 1)
        check_range(cat, s, s + ln - 1)
        doc = cat.doc_of(s)
        lo = max(int(cat.doc_first[doc]), s - left)
        hi = min(int(cat.doc_last[doc]), s + ln - 1 + right, lo + MAX_DETAIL_STEPS - 1)
        for p in range(lo, hi + 1):
            rows.append((i, s, ln, p - s, p, s <= p < s + ln))
    df = pd.DataFrame(rows, columns=["row", "start", "length", "offset", "pos", "in_match"])
    if df.empty:
        return df.assign(token=pd.Series(dtype=str), count=pd.Series(dtype=int))
    upos = np.unique(df["pos"].to_numpy())
    if info.sparse:  # only the selected units' entries (a wide source's full rows would not fit)
        vals = sparsereads.rows_at_cells(cat, info, upos, sel)
    else:
        vals = rows_at(cat, source, upos)[:, sel] if len(sel) else np.zeros((len(upos), 0))
    counts = (vals >= t).sum(axis=1)
    idx = np.searchsorted(upos, df["pos"].to_numpy())
    df["count"] = counts[idx]
    with cat.cursor() as cur:
        cur.register("_want", pa.table({"pos": upos.astype(np.int32)}))
        tok = cur.execute("SELECT pos, token FROM tokens SEMI JOIN _want USING (pos) ORDER BY pos").df()
    df["token"] = tok["token"].to_numpy()[idx]
    positions = df["pos"].to_numpy()
    base = set(df.columns)
    for _, tr in tracks(cat).iterrows():
        if tr["kind"] == "topk" or (only is not None and tr["track"] not in only):
            continue
        ann = track_annotations(cat, tr["track"], upos).set_index("pos")
        col = "label" if tr["kind"] == "categorical" else "value"
        name = tr["track"] if tr["track"] not in base else f"{tr['track']} (track)"
        df[name] = pd.Series(positions).map(ann[col]).to_numpy() if len(ann) else None
    return df
