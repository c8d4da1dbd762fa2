"""The rows of ``tests`` (docs/analysis.md §The span null): hits, expected, lift, p, log10 p per (track, label,
condition), and the best lift (the cell-set null's statistic)."""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np

from lstmvis_db.analysis import corpus as corpus_mod
from lstmvis_db.analysis import poibin
from lstmvis_db.analysis.spannull import Groups, LabelIndex, Null, hit_counts, span_null
from lstmvis_db.analysis.spans import Spans
from lstmvis_db.queries import Catalog


class TestRow(TypedDict):
    track: str
    label: str
    condition: str
    hits: int
    expected: float
    lift: float | None
    p: float
    log10_p: float | None
    q: float
    p_method: str


def label_index(cat: Catalog, track: str) -> tuple[corpus_mod.Categorical, LabelIndex]:
    c = corpus_mod.categorical(cat, track)
    key = ("analysis", "label_index", track)
    if key not in cat._cache:
        cat._cache[key] = LabelIndex.build(c.codes, len(c.labels), corpus_mod.corpus(cat))
    return c, cat._cache[key]


def _grouped(pi_u: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vals, inv = np.unique(pi_u, return_inverse=True)
    return vals, np.bincount(inv.reshape(-1), weights=weight).astype(np.int64)


def _saddle_tails(null: Null, pairs: list[tuple[int, str]], hits: np.ndarray) -> list[poibin.Tail | None]:
    """The saddle-point tails of all tests of one condition at once (None where it is exact)."""
    out: list[poibin.Tail | None] = [None] * len(pairs)
    for cond in dict.fromkeys(c for _, c in pairs):
        idx = [t for t, (_, c) in enumerate(pairs) if c == cond]
        got = poibin.upper_tails_saddlepoint(null.pi[cond][:, [pairs[t][0] for t in idx]].T, null.weight, hits[idx])
        for t, tail in zip(idx, got, strict=True):
            out[t] = tail
    return out


def track_tests(cat: Catalog, track: str, spans: Spans, conditions: tuple[str, ...],
                with_p: bool = True, groups: Groups | None = None, null: Null | None = None) -> list[TestRow]:
    """One row per label that occurs in the corpus and per condition (q left at 1 here);
    ``null``: the spans' span null of this track when already computed (``align_each``)."""
    c, index = label_index(cat, track)
    cp = corpus_mod.corpus(cat)
    if null is None:
        null = span_null(index, cp, spans.start, spans.length, groups)
    per_cond = hit_counts(c.codes, len(c.labels), spans.start, spans.length, index.code_runs)
    labels = np.flatnonzero(index.totals > 0)
    rows: list[TestRow] = []
    pairs = [(int(j), cond) for j in labels for cond in conditions]
    hits = np.array([int(per_cond[cond][j]) for j, cond in pairs], dtype=np.int64)
    small = with_p and len(spans) <= poibin.SMALL_N and pairs
    if small:
        pi_spans = np.stack([null.pi[cond][null.inverse, j] for j, cond in pairs])
        ln_small = poibin.upper_tail_small(pi_spans, hits)
    saddle = _saddle_tails(null, pairs, hits) if with_p and not small else [None] * len(pairs)
    for t, (j, cond) in enumerate(pairs):
        pi_u = null.pi[cond][:, j]
        expected = float(np.sum(pi_u * null.weight))
        lift = float(hits[t] / expected) if expected > 0 else None
        lg: float | None
        if not with_p:
            p, lg, method = 1.0, 0.0, "none"
        elif small:
            ln = float(ln_small[t])
            p, lg, method = math.exp(ln), (ln / math.log(10) if ln > -math.inf else None), "exact"
        else:
            tail = saddle[t]
            if tail is None:
                tail = poibin.upper_tail(*_grouped(pi_u, null.weight), int(hits[t]))
            p, lg, method = tail.p, tail.log10_p, tail.method
        rows.append({"track": track, "label": c.labels[j], "condition": cond, "hits": int(hits[t]),
                     "expected": expected, "lift": lift, "p": p, "log10_p": lg, "q": 1.0, "p_method": method})
    return rows


def tests(cat: Catalog, spans: Spans, tracks: list[str], conditions: tuple[str, ...],
          with_p: bool = True) -> list[TestRow]:
    """The rows of every categorical track asked for (q left at 1)."""
    rows: list[TestRow] = []
    groups = Groups.of(corpus_mod.corpus(cat), spans.start, spans.length) if tracks else None
    for t in tracks:
        rows += track_tests(cat, t, spans, conditions, with_p=with_p, groups=groups)
    return rows


def statistic(rows: list[TestRow], label: tuple[str, str, str] | None) -> float:
    """The cell-set null's statistic: the best lift, or the lift of one (track, label, condition)
    (-inf when undefined: E = 0, or the label occurs nowhere in the corpus)."""
    if label is None:
        return best_lift(rows)
    for r in rows:
        if (r["track"], r["label"], r["condition"]) == label:
            return -math.inf if r["lift"] is None else r["lift"]
    return -math.inf


def best_lift(rows: list[TestRow]) -> float:
    """The largest lift over the rows (-inf when no row has E > 0)."""
    lifts = [r["lift"] for r in rows if r["lift"] is not None]
    return max(lifts) if lifts else -math.inf


def sort_key(r: TestRow) -> tuple:
    """p ascending (log10 p; p = 0 first), then |lift| descending, then track, label, condition."""
    lg = -math.inf if r["log10_p"] is None else r["log10_p"]
    return (lg, -abs(r["lift"] or 0.0), r["track"], r["label"], r["condition"])
