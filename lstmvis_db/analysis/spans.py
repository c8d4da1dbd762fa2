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
from lstmvis_db.queries import Catalog
from lstmvis_db.types import MatchRow

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


def match_set(cat: Catalog, source: str, cells: list[int], threshold: float, options: MatchOptions,
              kind: str = "top", limit: int = 50) -> Spans:
    """The match set of one hypothesis; an empty set is an error (nothing to align)."""
    if kind not in SETS:
        raise QueryError(f"unknown match set {kind!r}; sets: {', '.join(SETS)}")
    if kind == "top":
        res = queries.match(cat, source, cells, threshold, options.constrain_left, options.constrain_right,
                            options.length, limit, options.pool)
        ms = res["matches"]
        sp = Spans("top", np.array([m["start"] for m in ms], dtype=np.int64),
                   np.array([m["length"] for m in ms], dtype=np.int64), ms)
    else:
        c = queries.match_candidates(cat, source, cells, threshold, options.constrain_left,
                                     options.constrain_right, options.length, options.pool)
        keep = np.ones(len(c.start), dtype=bool) if kind == "all" else c.missing == 0
        sp = Spans(kind, c.start[keep], c.length[keep])
    if len(sp) == 0:
        raise QueryError(f"the match set ({kind}) is empty: these cells at this threshold have no matches")
    return sp


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
