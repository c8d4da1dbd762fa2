"""The span null of docs/analysis.md §The span null, exact: for a span (p, L) in document d, pi(p, L, cond) is
the fraction of the spans of length L lying wholly inside d that satisfy the condition.

Computed per distinct (document, length) pair and every label at once, from sorted arrays
built once per track (no sampling, no per-span loop):

- ``starts`` / ``ends``: the label's positions among first(d) .. last(d)-L+1 (resp.
  first(d)+L-1 .. last(d)), counted by binary search in (label, position) order;
- ``covers``: sum over the label's runs in d of max(0, r - L + 1);
- ``contains``: all windows minus those lying inside a gap (a maximal stretch of d without the
  label): N - sum over gaps of max(0, g - L + 1); 0 when d has no position with the label.

Observed hits per span come from the label counts inside each span (positions expanded in
bounded chunks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmvis_db.analysis.corpus import Corpus

CONDITIONS = ("contains", "covers", "starts", "ends")
CHUNK_POSITIONS = 1 << 22


@dataclass(frozen=True)
class _Sums:
    """Sorted keys (group * stride + length) with running sums of the lengths."""

    keys: np.ndarray
    cum_len: np.ndarray  # len(keys) + 1

    @staticmethod
    def build(group: np.ndarray, lengths: np.ndarray, stride: int) -> _Sums:
        keys = group.astype(np.int64) * stride + lengths.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        return _Sums(keys, np.concatenate([[0], np.cumsum(lengths.astype(np.int64)[order])]))

    def windows(self, group: np.ndarray, length: np.ndarray, stride: int) -> np.ndarray:
        """Sum over entries of ``group`` with length g >= L of (g - L + 1)."""
        base = group.astype(np.int64) * stride
        lo = np.searchsorted(self.keys, base + length, side="left")
        hi = np.searchsorted(self.keys, base + (stride - 1), side="right")
        return (self.cum_len[hi] - self.cum_len[lo]) - (length - 1) * (hi - lo)

    def present(self, group: np.ndarray, stride: int) -> np.ndarray:
        base = group.astype(np.int64) * stride
        return np.searchsorted(self.keys, base + stride - 1, side="right") > np.searchsorted(self.keys, base)


@dataclass(frozen=True)
class Runs:
    """Maximal runs of one code (unlabelled included) inside documents: ``of[pos]`` is the run
    holding pos, ``code[r]`` the run's code.  Two runs next to each other in one document have
    different codes, so a span over runs r0..r1 holds code[r0], code[r1] and, when r1 - r0 >= 2,
    whatever the runs between hold: a run counts once, where its code first occurs in the span."""

    of: np.ndarray
    code: np.ndarray
    prev_same: np.ndarray  # the previous run with the same code (-1 for none)

    @staticmethod
    def build(codes: np.ndarray, corpus: Corpus) -> Runs:
        change = np.ones(len(codes), dtype=bool)
        change[1:] = codes[1:] != codes[:-1]
        change[corpus.first] = True
        of = np.cumsum(change, dtype=np.int64) - 1
        code = codes[np.flatnonzero(change)]
        order = np.argsort(code, kind="stable")  # runs by code, each code's in run order
        same = code[order[1:]] == code[order[:-1]]
        prev = np.full(len(code), -1, dtype=np.int64)
        prev[order[1:][same]] = order[:-1][same]
        return Runs(of.astype(np.int32) if len(codes) < 2**31 else of, code, prev)


@dataclass(frozen=True)
class LabelIndex:
    """One categorical track's codes arranged for the null: positions by label, runs, gaps."""

    n_labels: int
    n_docs: int
    stride: int
    label_pos: np.ndarray  # sorted code * (n + 1) + pos over labelled positions
    runs: _Sums
    gaps: _Sums
    totals: np.ndarray  # positions per label over the corpus
    code_runs: Runs  # maximal runs of every code, for the observed hits

    @staticmethod
    def build(codes: np.ndarray, n_labels: int, corpus: Corpus) -> LabelIndex:
        n, n_docs = corpus.n, len(corpus.first)
        stride = n + 2
        pos = np.flatnonzero(codes >= 0)
        label_pos = np.sort(codes[pos].astype(np.int64) * (n + 1) + pos)
        doc_start = np.zeros(n, dtype=bool)
        doc_start[corpus.first] = True
        change = np.ones(n, dtype=bool)
        change[1:] = (codes[1:] != codes[:-1]) | doc_start[1:]
        rs = np.flatnonzero(change)
        re_ = np.concatenate([rs[1:], [n]]) - 1
        keep = codes[rs] >= 0
        rs, re_ = rs[keep], re_[keep]
        rc = codes[rs].astype(np.int64)
        rd = corpus.doc_of(rs)
        group = rc * n_docs + rd
        runs = _Sums.build(group, re_ - rs + 1, stride)
        # gaps between consecutive runs of one label in one document, and before / after them
        order = np.lexsort((rs, group))
        g, s, e, d = group[order], rs[order], re_[order], rd[order]
        new = np.ones(len(g), dtype=bool)
        new[1:] = g[1:] != g[:-1]
        last = np.ones(len(g), dtype=bool)
        last[:-1] = new[1:]
        before = np.where(new, s - corpus.first[d], s - np.concatenate([[0], e[:-1]]) - 1)
        after = corpus.last[d][last] - e[last]
        gaps = _Sums.build(np.concatenate([g, g[last]]), np.concatenate([before, after]), stride)
        totals = np.bincount(codes[pos], minlength=n_labels)
        return LabelIndex(n_labels, n_docs, stride, label_pos, runs, gaps, totals, Runs.build(codes, corpus))

    def count(self, label: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
        """Positions with ``label`` in lo..hi (inclusive), elementwise."""
        base = label.astype(np.int64) * (n + 1)
        return np.searchsorted(self.label_pos, base + hi, side="right") - np.searchsorted(self.label_pos, base + lo)


@dataclass(frozen=True)
class Null:
    """pi for each distinct (document, length) pair (rows) and label (columns), per condition;
    ``inverse[i]`` is span i's row, ``weight[u]`` how many spans share row u."""

    pi: dict[str, np.ndarray]
    inverse: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True)
class Groups:
    """The distinct (document, length) pairs of a span list, in (document, length) order;
    ``inverse[i]`` is span i's pair, ``weight[u]`` how many spans share pair u."""

    doc: np.ndarray
    length: np.ndarray
    inverse: np.ndarray
    weight: np.ndarray

    @staticmethod
    def of(corpus: Corpus, start: np.ndarray, length: np.ndarray) -> Groups:
        doc = corpus.doc_of(start).astype(np.int64)
        length = np.asarray(length, dtype=np.int64)
        stride = int(length.max()) + 1 if len(length) else 1
        key = doc * stride + length
        if len(corpus.first) * stride <= 4 * len(key) + (1 << 20):  # a small key space: count, no sort
            weight = np.bincount(key, minlength=len(corpus.first) * stride)
            pairs = np.flatnonzero(weight)
            slot = np.zeros(len(weight), dtype=np.int64)
            slot[pairs] = np.arange(len(pairs))
            inverse, weight = slot[key], weight[pairs]
        else:
            pairs, inverse, weight = np.unique(key, return_inverse=True, return_counts=True)
        return Groups(pairs // stride, pairs % stride, inverse.reshape(-1), weight)


def span_null(index: LabelIndex, corpus: Corpus, start: np.ndarray, length: np.ndarray,
              groups: Groups | None = None) -> Null:
    """pi of every label and condition for the spans (``groups`` = their ``Groups``, when known)."""
    g = groups if groups is not None else Groups.of(corpus, start, length)
    d, ln, inverse, weight = g.doc[:, None], g.length[:, None], g.inverse, g.weight
    f, l_ = corpus.first[d], corpus.last[d]
    lab = np.arange(index.n_labels, dtype=np.int64)[None, :]
    n_windows = (l_ - f + 1 - ln + 1).astype(np.float64)
    group = lab * index.n_docs + d
    n = corpus.n
    contains = np.where(index.runs.present(group, index.stride),
                        n_windows - index.gaps.windows(group, ln, index.stride), 0.0)
    pi = {
        "contains": contains / n_windows,
        "covers": index.runs.windows(group, ln, index.stride) / n_windows,
        "starts": index.count(lab, f, l_ - ln + 1, n) / n_windows,
        "ends": index.count(lab, f + ln - 1, l_, n) / n_windows,
    }
    return Null(pi, inverse, weight)


def _label_counts_expanded(codes: np.ndarray, n_labels: int, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """(spans, labels) counts by expanding the spans' positions (bounded chunks): cost ~ sum of L."""
    counts = np.zeros((len(start), n_labels), dtype=np.int32)
    cum = np.cumsum(length)
    a = 0
    while a < len(start):
        b = max(a + 1, int(np.searchsorted(cum, (cum[a - 1] if a else 0) + CHUNK_POSITIONS, side="right")))
        ln = length[a:b]
        offs = np.cumsum(ln) - ln
        idx = np.arange(int(ln.sum()), dtype=np.int64) - np.repeat(offs - start[a:b], ln)
        row = np.repeat(np.arange(b - a, dtype=np.int64), ln)
        c = codes[idx].astype(np.int64)
        ok = c >= 0
        flat = np.bincount(row[ok] * n_labels + c[ok], minlength=(b - a) * n_labels)
        counts[a:b] = flat.reshape(b - a, n_labels)
        a = b
    return counts


def _label_counts_prefix(codes: np.ndarray, n_labels: int, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The same counts from one running count per label: cost ~ labels x (n + spans)."""
    counts = np.zeros((len(start), n_labels), dtype=np.int32)
    cum = np.zeros(len(codes) + 1, dtype=np.int32)
    for j in range(n_labels):
        np.cumsum(codes == j, out=cum[1:])
        counts[:, j] = cum[start + length] - cum[start]
    return counts


def _label_counts(codes: np.ndarray, n_labels: int, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    expand_cost = int(length.sum()) * 4
    prefix_cost = n_labels * (len(codes) + 2 * len(start))
    counter = _label_counts_expanded if expand_cost <= prefix_cost else _label_counts_prefix
    return counter(codes, n_labels, start, length)


def _chunks(length: np.ndarray, n_labels: int):
    """Span ranges [a, b) holding at most CHUNK_POSITIONS positions and span x label cells."""
    cum = np.cumsum(length)
    per = max(1, CHUNK_POSITIONS // max(n_labels, 1))
    a = 0
    while a < len(length):
        b = int(np.searchsorted(cum, (cum[a - 1] if a else 0) + CHUNK_POSITIONS, side="right"))
        yield a, min(max(a + 1, b), a + per)
        a = min(max(a + 1, b), a + per)


def _hits_expanded(codes: np.ndarray, n_labels: int, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, ...]:
    """contains / covers counts per label from the spans' positions: a seen-table for contains,
    min == max of the codes for covers."""
    contains = np.zeros(n_labels, dtype=np.int64)
    covers = np.zeros(n_labels, dtype=np.int64)
    for a, b in _chunks(length, n_labels):
        ln = length[a:b]
        offs = np.cumsum(ln) - ln
        c = codes[np.arange(int(ln.sum()), dtype=np.int64) - np.repeat(offs - start[a:b], ln)]
        ok = c >= 0
        seen = np.zeros((b - a) * n_labels, dtype=bool)
        seen[np.repeat(np.arange(b - a, dtype=np.int64), ln)[ok] * n_labels + c[ok]] = True
        contains += np.count_nonzero(seen.reshape(b - a, n_labels), axis=0)
        lo, hi = np.minimum.reduceat(c, offs), np.maximum.reduceat(c, offs)
        covers += np.bincount(lo[(lo == hi) & (lo >= 0)], minlength=n_labels)
    return contains, covers


def _per_label(c: np.ndarray, n_labels: int) -> np.ndarray:
    return np.bincount(c[c >= 0], minlength=n_labels).astype(np.int64)


def hit_counts(codes: np.ndarray, n_labels: int, start: np.ndarray, length: np.ndarray,
               runs: Runs | None = None) -> dict[str, np.ndarray]:
    """Per condition, per label: how many spans satisfy it (H of docs/analysis.md §The span null);
    from the track's ``runs`` when given (cost ~ spans), else from the positions or prefix counts."""
    if runs is not None:
        from lstmvis_db.analysis import _kernels

        got = _kernels.span_hits(runs.of, runs.code, runs.prev_same, np.asarray(start, dtype=np.int64),
                                 np.asarray(length, dtype=np.int64), n_labels)
        return dict(zip(CONDITIONS, got, strict=True))
    if int(length.sum()) * 4 <= n_labels * (len(codes) + 2 * len(start)):
        contains, covers = _hits_expanded(codes, n_labels, start, length)
    else:
        counts = _label_counts_prefix(codes, n_labels, start, length)
        contains = np.count_nonzero(counts, axis=0).astype(np.int64)
        covers = np.count_nonzero(counts == length[:, None], axis=0).astype(np.int64)
    return {"contains": contains, "covers": covers, "starts": _per_label(codes[start], n_labels),
            "ends": _per_label(codes[start + length - 1], n_labels)}


def observed(codes: np.ndarray, n_labels: int, start: np.ndarray, length: np.ndarray) -> dict[str, np.ndarray]:
    """(spans, labels) booleans: does span i satisfy the condition for label j."""
    counts = _label_counts(codes, n_labels, start, length)
    lab = np.arange(n_labels)[None, :]
    return {
        "contains": counts > 0,
        "covers": counts == length[:, None],
        "starts": codes[start][:, None] == lab,
        "ends": codes[start + length - 1][:, None] == lab,
    }
