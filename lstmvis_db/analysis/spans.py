"""Match sets (docs/analysis.md §The span null): the spans a statistic is computed over.

``top`` = the top ``limit`` matches of one match; ``all`` = every candidate it scored;
``strict`` = the candidates with missing = 0 (not cut by ``limit``); or a user list of spans
(CSV or Parquet with columns ``start``, ``length``), checked to lie inside the corpus and not to
cross a document boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lstmvis_db import queries
from lstmvis_db.analysis.corpus import Corpus
from lstmvis_db.errors import InputError, QueryError
from lstmvis_db.matching.algorithm import ScoredCandidates, pack_bool, scored_candidates
from lstmvis_db.queries import Catalog
from lstmvis_db.types import MatchResult, MatchRow

SETS = ("top", "all", "strict")


@dataclass(frozen=True)
class MatchOptions:
    """The options of ``match`` that define the candidates (docs/semantics.md §Matching)."""

    constrain_left: bool = True
    constrain_right: bool = False
    length: int = 0
    pool: int | None = None


@dataclass(frozen=True)
class Spans:
    """A match set: spans (start, length) inside documents, and which kind of set it is."""

    kind: str
    start: np.ndarray
    length: np.ndarray
    matches: list[MatchRow] = field(default_factory=list)  # the ranked matches (``top`` only)

    def __len__(self) -> int:
        return len(self.start)


def match_set(cat: Catalog, source: str, cells: list[int], threshold: float | None, options: MatchOptions,
              kind: str = "top", limit: int = 50, quantile: float | None = None) -> Spans:
    """The match set of one hypothesis (at ``threshold``, or at each cell's own ``quantile``);
    an empty set is an error (nothing to align)."""
    if kind not in SETS:
        raise QueryError(f"unknown match set {kind!r}; sets: {', '.join(SETS)}")
    o = options
    if quantile is not None:
        if kind != "top":
            return candidate_spans(quantile_candidates(cat, source, cells, quantile, o), kind)
        from lstmvis_db.analysis.thresholds import match_quantile

        return top_spans(match_quantile(cat, source, cells, quantile, o.constrain_left, o.constrain_right, o.length,
                                        limit, o.pool))
    if threshold is None:
        raise QueryError("give a threshold or a quantile")
    if kind == "top":
        return top_spans(queries.match(cat, source, cells, threshold, o.constrain_left, o.constrain_right, o.length,
                                       limit, o.pool))
    return candidate_spans(queries.match_candidates(cat, source, cells, threshold, o.constrain_left,
                                                    o.constrain_right, o.length, o.pool), kind)


def _nonempty(sp: Spans) -> Spans:
    if len(sp) == 0:
        raise QueryError(f"the match set ({sp.kind}) is empty: these cells at this threshold have no matches")
    return sp


def top_spans(res: MatchResult) -> Spans:
    """The ``top`` set of one match result."""
    ms = res["matches"]
    return _nonempty(Spans("top", np.array([m["start"] for m in ms], dtype=np.int64),
                           np.array([m["length"] for m in ms], dtype=np.int64), ms))


def candidate_spans(c: ScoredCandidates, kind: str) -> Spans:
    """The ``all`` or ``strict`` set of the scored candidates."""
    keep = np.ones(len(c.start), dtype=bool) if kind == "all" else c.missing == 0
    return _nonempty(Spans(kind, c.start[keep], c.length[keep]))


def quantile_candidates(cat: Catalog, source: str, cells: object, quantile: float,
                        o: MatchOptions) -> ScoredCandidates:
    """``queries.match_candidates`` with each cell on at its own q-quantile (the bits of
    ``thresholds.match_quantile``)."""
    from lstmvis_db.analysis.coactivation import on_matrix
    from lstmvis_db.analysis.thresholds import quantile_thresholds

    info = cat.source(source)
    sel = queries.check_cells(info, cells)
    a = queries.check_match_args(o.constrain_left, o.constrain_right, o.length, 1, o.pool)
    t = quantile_thresholds(cat, source, quantile)
    if len(sel) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return ScoredCandidates(empty, empty, empty, empty, None)
    bits = pack_bool(on_matrix(cat, info, sel, t[sel]))

    def shifted(pos: np.ndarray) -> np.ndarray:
        return queries.rows_at(cat, source, pos).astype(np.float64) - t[None, :]

    return scored_candidates(bits, sel, info.n_cells, 0.0, shifted, cat.doc_first, cat.doc_last, a.constrain_left,
                             a.constrain_right, a.length, a.pool)


def user_spans(corpus: Corpus, start: object, length: object) -> Spans:
    """A user list of spans, checked: integers, length >= 1, inside the corpus, within one document."""
    try:
        s = np.asarray(start, dtype=np.float64)
        ln = np.asarray(length, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("span start and length must be integers") from None
    if s.shape != ln.shape or s.ndim != 1:
        raise InputError("give one start and one length per span")
    if len(s) == 0:
        raise InputError("the span list is empty: nothing to align")
    bad = ~np.isfinite(s) | ~np.isfinite(ln) | (s != np.round(s)) | (ln != np.round(ln))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"span {i}: start and length must be integers, got {s[i]!r}, {ln[i]!r}")
    s, ln = s.astype(np.int64), ln.astype(np.int64)
    for i in np.flatnonzero((ln < 1) | (s < 0) | (s + ln - 1 >= corpus.n))[:1]:
        raise InputError(f"span {int(i)} (start {s[i]}, length {ln[i]}) is outside the corpus "
                         f"(positions 0..{corpus.n - 1}, length >= 1)")
    cross = corpus.doc_of(s) != corpus.doc_of(s + ln - 1)
    for i in np.flatnonzero(cross)[:1]:
        raise InputError(f"span {int(i)} (start {s[i]}, length {ln[i]}) crosses a document boundary")
    return Spans("spans", s, ln)


def read_spans(path: str | Path, corpus: Corpus) -> Spans:
    """Spans from a CSV or Parquet file with columns start, length."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"span file {str(path)!r} does not exist")
    try:
        df = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except Exception as e:  # noqa: BLE001 - any reader failure is bad input, named with the file
        raise InputError(f"cannot read span file {str(path)!r}: {str(e).splitlines()[0] if str(e) else e}") from None
    missing = [c for c in ("start", "length") if c not in df.columns]
    if missing:
        raise InputError(f"span file {str(path)!r} has no column {missing[0]!r} (columns start, length)")
    try:
        return user_spans(corpus, pd.to_numeric(df["start"]).to_numpy(), pd.to_numeric(df["length"]).to_numpy())
    except (ValueError, TypeError):
        raise InputError(f"span file {str(path)!r}: start and length must be integers") from None
