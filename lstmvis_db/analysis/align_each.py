"""``align_each``: many hypotheses of one source (cell sets, e.g. one selection per instance of a
phrase), each matched and aligned with the same tracks, as ``align`` would one by one.

Calling ``align`` per hypothesis reads the selected cells' columns of the quantised index and the
rows the rescoring asks for, once per hypothesis: over thousands of instances on a 1M-position
project that is most of the time.  Here every cell's on-bits are read once (``cellbits``, as the
cell-set null does) and each hypothesis is matched from them (``cellbits.as_match`` /
``as_candidates``: the match sets ``queries.match`` gives; a source whose bits do not fit the
match budget is matched one by one instead).  The span null's (document, length) groups of all
match sets are counted once and each track's pi computed once over their union; a hypothesis's rows of it are the ones
``spannull.span_null`` computes for its own groups, in the same (document, length) order, so
expected counts, lifts and p are bit-identical.  Hits, p, the BH q per hypothesis, the sorting and
the token shares are ``align``'s own code (``family``, ``align.with_q``, ``align.descriptive``).

Each result is ``align``'s (``cell_null`` None: no cell-set null here), or None where the
hypothesis has no cell or no match (where ``align`` raises "the match set is empty").

Imports the analysis modules above and ``queries`` for the checks; never the app.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lstmvis_db import matchbits, queries
from lstmvis_db.analysis import cellbits, family
from lstmvis_db.analysis import corpus as corpus_mod
from lstmvis_db.analysis.align import DEFAULT_OPTIONS, AlignResult, check_conditions, descriptive, with_q
from lstmvis_db.analysis.spannull import Groups, Null, span_null
from lstmvis_db.analysis.spans import SETS, MatchOptions, Spans, candidate_spans, top_spans
from lstmvis_db.errors import QueryError
from lstmvis_db.matching.algorithm import ScoredCandidates
from lstmvis_db.queries import Catalog

__all__ = ["align_each"]

def _matcher(cat: Catalog, source: str, threshold: float, options: MatchOptions, kind: str,
             limit: int) -> Callable[[np.ndarray], Spans | None]:
    """A hypothesis's match set (None when it is empty), from every cell's bits where they fit."""
    o = options
    if not cellbits.fits(cat, source):
        def plain(sel: np.ndarray) -> Spans | None:
            if kind == "top":
                res = queries.match(cat, source, sel, threshold, o.constrain_left, o.constrain_right, o.length,
                                    limit, o.pool)
                return top_spans(res) if res["matches"] else None
            got = queries.match_candidates(cat, source, sel, threshold, o.constrain_left, o.constrain_right,
                                           o.length, o.pool)
            return _candidates_or_none(got, kind)
        return plain
    bits = cellbits.cell_bits(cat, source, threshold)
    a = queries.check_match_args(o.constrain_left, o.constrain_right, o.length, limit, o.pool)
    limit_bytes = matchbits.memory_limit()

    def fast(sel: np.ndarray) -> Spans | None:
        if kind == "top":
            res = cellbits.as_match(bits, cat, sel, a, limit_bytes)
            return top_spans(res) if res["matches"] else None
        return _candidates_or_none(cellbits.as_candidates(bits, cat, sel, a, limit_bytes), kind)
    return fast


def _candidates_or_none(c: ScoredCandidates, kind: str) -> Spans | None:
    keep = np.ones(len(c.start), dtype=bool) if kind == "all" else c.missing == 0
    return candidate_spans(c, kind) if keep.any() else None


def _union(cp: corpus_mod.Corpus, sets: list[Spans]) -> tuple[Groups, int]:
    """The (document, length) groups of all match sets together, and the key stride."""
    start = np.concatenate([s.start for s in sets]).astype(np.int64)
    length = np.concatenate([s.length for s in sets]).astype(np.int64)
    return Groups.of(cp, start, length), int(length.max()) + 1


def _rows_of(union: Groups, stride: int, g: Groups) -> np.ndarray:
    """Where each of one set's groups sits among the union's (both in (document, length) order)."""
    keys = union.doc.astype(np.int64) * stride + union.length
    return np.searchsorted(keys, g.doc.astype(np.int64) * stride + g.length)


def align_each(cat: Catalog, source: str, selections: Sequence[Sequence[int]], threshold: float,
               options: MatchOptions = DEFAULT_OPTIONS, kind: str = "top", limit: int = 50,
               tracks: list[str] | None = None, conditions: object = None) -> list[AlignResult | None]:
    """``align(cat, source, cells, threshold, options, kind, limit, tracks=..., conditions=...)``
    for each cell set of ``selections``, in order (None: no cell, or an empty match set)."""
    kinds = corpus_mod.check_tracks(cat, tracks)
    conds = check_conditions(conditions)
    if kind not in SETS:
        raise QueryError(f"unknown match set {kind!r}; sets: {', '.join(SETS)}")
    t = queries.check_threshold(threshold)
    info = cat.source(source)
    checked = [queries.check_cells(info, list(c)) for c in selections]
    queries.check_match_args(options.constrain_left, options.constrain_right, options.length, limit, options.pool)
    match_of = _matcher(cat, info.source, t, options, kind, limit)
    sets = [match_of(sel) if len(sel) else None for sel in checked]
    found = [s for s in sets if s is not None]
    cat_tracks = [tr for tr, k in kinds.items() if k == "categorical"]
    cp = corpus_mod.corpus(cat)
    nulls: dict[str, Null] = {}
    if found and cat_tracks:
        union, stride = _union(cp, found)
        none = np.zeros(0, dtype=np.int64)  # the spans themselves are not read when their groups are given
        for tr in cat_tracks:
            nulls[tr] = span_null(family.label_index(cat, tr)[1], cp, none, none, union)
    out: list[AlignResult | None] = []
    for sp in sets:
        if sp is None:
            out.append(None)
            continue
        rows: list[family.TestRow] = []
        if cat_tracks:
            g = Groups.of(cp, sp.start, sp.length)
            at = _rows_of(union, stride, g)
            for tr in cat_tracks:
                whole = nulls[tr]
                own = Null({c: v[at] for c, v in whole.pi.items()}, g.inverse, g.weight)
                rows += family.track_tests(cat, tr, sp, conds, with_p=True, groups=g, null=own)
        share_rows, scalar_rows = descriptive(cat, kinds, sp)
        out.append({"set": sp.kind, "spans": len(sp), "tests": with_q(rows), "shares": share_rows,
                    "scalars": scalar_rows, "cell_null": None})
    return out
