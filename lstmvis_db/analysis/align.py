"""``align``: what a match set has in common with the annotations (docs/analysis.md).

The result is the JSON of ``lstmvis-db align --json``.  ``tests`` are sorted by p ascending
(p = 0 first), then |lift| descending, then track, label and condition; ``q`` is the
Benjamini-Hochberg value over all rows of ``tests`` of the call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NotRequired, TypedDict

import numpy as np

from lstmvis_db.analysis import cellnull, family, multiple, shares
from lstmvis_db.analysis import corpus as corpus_mod
from lstmvis_db.analysis.spannull import CONDITIONS
from lstmvis_db.analysis.spans import MatchOptions, Spans, match_set, user_spans
from lstmvis_db.errors import QueryError
from lstmvis_db.queries import Catalog

DEFAULT_OPTIONS = MatchOptions()


class AlignResult(TypedDict):
    set: str
    spans: int
    tests: list[family.TestRow]
    shares: list[shares.ShareRow]
    scalars: list[shares.ScalarRow]
    cell_null: cellnull.CellNull | None
    thresholds: NotRequired[dict[str, float]]  # with a quantile: each query cell's resulting threshold


def check_conditions(conditions: object) -> tuple[str, ...]:
    if conditions is None:
        return CONDITIONS
    got = [conditions] if isinstance(conditions, str) else list(conditions)  # type: ignore[call-overload]
    bad = [c for c in got if c not in CONDITIONS]
    if bad or not got:
        raise QueryError(f"unknown condition {bad[0] if bad else ''!r}; conditions: {', '.join(CONDITIONS)}")
    return tuple(dict.fromkeys(got))


def check_null_label(cat: Catalog, null_label: object, kinds: dict[str, str]) -> tuple[str, str, str] | None:
    """(track, label, condition) from ``TRACK=LABEL[:CONDITION]`` or a tuple; checked."""
    if null_label is None:
        return None
    if isinstance(null_label, str):
        track, sep, rest = null_label.partition("=")
        label, _, cond = rest.rpartition(":") if rest.rsplit(":", 1)[-1] in CONDITIONS else (rest, "", "contains")
        if not sep:
            raise QueryError(f"the null label must look like TRACK=LABEL[:condition], got {null_label!r}")
    else:
        track, label, cond = (list(null_label) + ["contains"])[:3]  # type: ignore[call-overload]
    if track not in kinds or kinds[track] != "categorical":
        raise QueryError(f"unknown categorical track {track!r} for the null label")
    if label not in corpus_mod.categorical(cat, track).labels:
        raise QueryError(f"unknown label {label!r} of track {track!r}")
    check_conditions([cond])
    return str(track), str(label), str(cond)


def _hypothesis(cat: Catalog, source: str | None, cells: list[int] | None, threshold: float | None,
                quantile: float | None) -> float | None:
    """The checked quantile (None for a threshold); an error unless exactly one of them is given."""
    if source is None or cells is None or (threshold is None and quantile is None):
        raise QueryError("give a source, cells and a threshold (or a quantile), or a list of spans")
    if threshold is not None and quantile is not None:
        raise QueryError("give a threshold or a quantile (exactly one)")
    if quantile is None:
        return None
    from lstmvis_db.analysis.selectivity import check_quantile

    return check_quantile(quantile)


def align(cat: Catalog, source: str | None = None, cells: list[int] | None = None, threshold: float | None = None,
          options: MatchOptions = DEFAULT_OPTIONS, kind: str = "top", limit: int = 50,
          spans: tuple[object, object] | Spans | None = None, tracks: list[str] | None = None,
          conditions: object = None, null_cells: int | None = None, seed: object = 0,
          null_label: object = None, on_estimate: Callable[[float], None] | None = None,
          quantile: float | None = None) -> AlignResult:
    """Align one match set (of a hypothesis, or ``spans`` = (starts, lengths)) with the tracks."""
    kinds = corpus_mod.check_tracks(cat, tracks)
    conds = check_conditions(conditions)
    chosen = check_null_label(cat, null_label, kinds)
    cat_tracks = [t for t, k in kinds.items() if k == "categorical"]
    if null_cells is not None:
        k, seed_i = cellnull.check_k_seed(null_cells, seed)
        if spans is not None:
            raise QueryError("the cell-set null needs a hypothesis (source, cells, threshold), not a span list")
    if spans is not None:
        sp = spans if isinstance(spans, Spans) else user_spans(corpus_mod.corpus(cat), *spans)
    else:
        quantile = _hypothesis(cat, source, cells, threshold, quantile)
        assert source is not None and cells is not None
        sp = match_set(cat, source, list(cells), threshold, options, kind, limit, quantile)
    rows = with_q(family.tests(cat, sp, cat_tracks, conds, with_p=True))
    share_rows, scalar_rows = descriptive(cat, kinds, sp)
    null = None
    if null_cells is not None:
        assert source is not None and cells is not None
        null = _cell_null(cat, source, list(cells), threshold, quantile, options, kind, limit, cat_tracks, conds,
                          family.statistic(rows, chosen), chosen, k, seed_i, on_estimate)
    out: AlignResult = {"set": sp.kind, "spans": len(sp), "tests": rows, "shares": share_rows,
                        "scalars": scalar_rows, "cell_null": null}
    if spans is None and quantile is not None:  # docs/analysis.md §5: state each cell's resulting threshold
        from lstmvis_db.analysis.thresholds import quantile_thresholds

        t = quantile_thresholds(cat, str(source), quantile)
        out["thresholds"] = {str(c): float(t[c]) for c in sorted(set(map(int, cells or [])))}
    return out


def with_q(rows: list[family.TestRow]) -> list[family.TestRow]:
    """The rows with their Benjamini-Hochberg q (over all of them), sorted (``family.sort_key``)."""
    lq = multiple.bh_log10(np.array([-math.inf if r["log10_p"] is None else r["log10_p"] for r in rows]))
    for r, q in zip(rows, lq, strict=True):
        r["q"] = float(10.0 ** q)
    rows.sort(key=family.sort_key)
    return rows


def descriptive(cat: Catalog, kinds: dict[str, str], sp: Spans) -> tuple[list[shares.ShareRow],
                                                                           list[shares.ScalarRow]]:
    cov = shares.covered(corpus_mod.corpus(cat), sp.start, sp.length)
    share_rows: list[shares.ShareRow] = []
    scalar_rows: list[shares.ScalarRow] = []
    for t, kd in kinds.items():
        if kd == "categorical":
            share_rows += _shares(cat, corpus_mod.categorical(cat, t), "categorical", cov)
        elif kd == "topk":
            share_rows += _shares(cat, corpus_mod.topk_first(cat, t), "topk", cov)
        else:
            scalar_rows.append(shares.scalar_row(t, corpus_mod.scalar(cat, t), cov))
    return share_rows, scalar_rows


def _shares(cat: Catalog, track: corpus_mod.Categorical, kind: str, cov: shares.Coverage) -> list[shares.ShareRow]:
    key = ("analysis", "doc_counts", kind, track.track)
    if key not in cat._cache:
        cat._cache[key] = shares.doc_label_counts(track, cov.corpus)
    return shares.label_shares(track, cov, cat._cache[key])


def _cell_null(cat: Catalog, source: str, cells: list[int], threshold: float | None, quantile: float | None,
               options: MatchOptions, kind: str, limit: int, tracks: list[str], conds: tuple[str, ...],
               observed: float, chosen: tuple[str, str, str] | None, k: int, seed: int,
               on_estimate: Callable[[float], None] | None) -> cellnull.CellNull:
    stat, workers, prep = cellnull.prepared(cat, source, threshold, quantile, options, kind, limit, tracks, conds,
                                            chosen)
    n_cells, m = cat.source(source).n_cells, len(set(cells))
    est = cellnull.estimate(stat, n_cells, m, k, seed, workers)
    if on_estimate is not None:
        on_estimate(est)
    name = "best_lift" if chosen is None else f"lift:{chosen[0]}={chosen[1]}:{chosen[2]}"
    return cellnull.run(stat, observed, n_cells, m, k, seed, name, est, workers=workers, prepare_seconds=prep)


def estimate_cell_null(cat: Catalog, source: str, cells: list[int], threshold: float | None,
                       options: MatchOptions = DEFAULT_OPTIONS, kind: str = "top", limit: int = 50,
                       tracks: list[str] | None = None, conditions: object = None, null_cells: int = 99,
                       seed: object = 0, quantile: float | None = None) -> float:
    """Seconds a cell-set null of ``null_cells`` sets will take once prepared (for the app, before
    it starts; preparing, i.e. reading every cell's bits once, happens here)."""
    kinds = corpus_mod.check_tracks(cat, tracks)
    k, seed_i = cellnull.check_k_seed(null_cells, seed)
    quantile = _hypothesis(cat, source, cells, threshold, quantile)
    cat_tracks = [t for t, kd in kinds.items() if kd == "categorical"]
    conds = check_conditions(conditions)
    stat, workers, _ = cellnull.prepared(cat, source, threshold, quantile, options, kind, limit, cat_tracks, conds,
                                         None)
    return cellnull.estimate(stat, cat.source(source).n_cells, len(set(cells)), k, seed_i, workers)
