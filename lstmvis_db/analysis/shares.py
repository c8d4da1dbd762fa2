"""Token shares and scalar rows (docs/analysis.md §Token shares): descriptive, no p-value.

Covered positions = the union of the set's spans (each position once); the corpus side = all
positions of the documents that hold a span of the set.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TypedDict

import numpy as np

from lstmvis_db.analysis.corpus import Categorical, Corpus


class ShareRow(TypedDict):
    track: str
    label: str
    share: float
    corpus_share: float
    ratio: float | None


class ScalarRow(TypedDict):
    track: str
    mean: float | None
    std: float | None
    corpus_mean: float | None
    corpus_std: float | None


@dataclass(frozen=True)
class Coverage:
    """The positions a match set covers (each once) and the documents holding a span: as a
    sorted position list for a few positions, as a mask over the corpus for many."""

    corpus: Corpus
    start: np.ndarray
    length: np.ndarray
    docs: np.ndarray

    @cached_property
    def dense(self) -> bool:
        return int(self.length.sum()) > self.corpus.n // 4

    @cached_property
    def mask(self) -> np.ndarray:
        from lstmvis_db.analysis import _kernels

        return _kernels.paint(self.start.astype(np.int64), self.length.astype(np.int64), self.corpus.n)

    @cached_property
    def positions(self) -> np.ndarray:
        if self.dense:
            return np.flatnonzero(self.mask)
        offs = np.cumsum(self.length) - self.length
        return np.unique(np.arange(int(self.length.sum()), dtype=np.int64) - np.repeat(offs - self.start, self.length))

    def label_counts(self, codes: np.ndarray, k: int) -> np.ndarray:
        """Covered positions of each code (>= 0)."""
        if self.dense:
            from lstmvis_db.analysis import _kernels

            return _kernels.masked_counts(codes, self.mask, k)
        c = codes[self.positions]
        return np.bincount(c[c >= 0], minlength=k)

    @cached_property
    def in_docs(self) -> np.ndarray:
        """Boolean mask over all positions: inside a document that holds a span."""
        ddiff = np.zeros(self.corpus.n + 1, dtype=np.int64)
        ddiff[self.corpus.first[self.docs]] += 1
        ddiff[self.corpus.last[self.docs] + 1] -= 1
        return np.cumsum(ddiff[:-1]) > 0


def covered(corpus: Corpus, start: np.ndarray, length: np.ndarray) -> Coverage:
    start, length = np.asarray(start, dtype=np.int64), np.asarray(length, dtype=np.int64)
    docs = np.flatnonzero(np.bincount(corpus.doc_of(start), minlength=len(corpus.first)))
    return Coverage(corpus, start, length, docs)


def doc_label_counts(track: Categorical, corpus: Corpus) -> np.ndarray:
    """(documents, labels) counts of each label per document."""
    k = len(track.labels)
    doc = np.repeat(np.arange(len(corpus.first), dtype=np.int64), corpus.last - corpus.first + 1)
    ok = track.codes >= 0
    return np.bincount(doc[ok] * k + track.codes[ok], minlength=len(corpus.first) * k).reshape(-1, k)


def label_shares(track: Categorical, cov: Coverage, per_doc: np.ndarray) -> list[ShareRow]:
    k = len(track.labels)
    inside = cov.label_counts(track.codes, k).astype(np.float64)
    around = per_doc[cov.docs].sum(axis=0).astype(np.float64)
    share = inside / inside.sum() if inside.sum() else np.zeros(k)
    cshare = around / around.sum() if around.sum() else np.zeros(k)
    rows: list[ShareRow] = []
    for j in np.flatnonzero((share > 0) | (cshare > 0)):
        rows.append({"track": track.track, "label": track.labels[j], "share": float(share[j]),
                     "corpus_share": float(cshare[j]),
                     "ratio": float(share[j] / cshare[j]) if cshare[j] > 0 else None})
    return rows


def _moments(v: np.ndarray) -> tuple[float | None, float | None]:
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return None, None
    return float(v.mean()), float(v.std(ddof=0))


def scalar_row(name: str, values: np.ndarray, cov: Coverage) -> ScalarRow:
    mean, std = _moments(values[cov.mask] if cov.dense else values[cov.positions])
    cmean, cstd = _moments(values[cov.in_docs])
    return {"track": name, "mean": mean, "std": std, "corpus_mean": cmean, "corpus_std": cstd}
