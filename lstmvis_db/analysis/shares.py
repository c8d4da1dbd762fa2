"""Token shares and scalar rows (analysis.md §2): descriptive, no p-value.

Covered positions = the union of the set's spans (each position once); the corpus side = all
positions of the documents that hold a span of the set.
"""

from __future__ import annotations

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


def covered(corpus: Corpus, start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over positions: covered by a span; inside a document that holds a span."""
    diff = np.zeros(corpus.n + 1, dtype=np.int64)
    np.add.at(diff, start, 1)
    np.add.at(diff, start + length, -1)
    cov = np.cumsum(diff[:-1]) > 0
    docs = np.unique(corpus.doc_of(start))
    ddiff = np.zeros(corpus.n + 1, dtype=np.int64)
    ddiff[corpus.first[docs]] += 1
    ddiff[corpus.last[docs] + 1] -= 1
    return cov, np.cumsum(ddiff[:-1]) > 0


def label_shares(track: Categorical, cov: np.ndarray, in_docs: np.ndarray) -> list[ShareRow]:
    k = len(track.labels)
    c = track.codes
    inside = np.bincount(c[cov & (c >= 0)], minlength=k).astype(np.float64)
    around = np.bincount(c[in_docs & (c >= 0)], minlength=k).astype(np.float64)
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


def scalar_row(name: str, values: np.ndarray, cov: np.ndarray, in_docs: np.ndarray) -> ScalarRow:
    mean, std = _moments(values[cov])
    cmean, cstd = _moments(values[in_docs])
    return {"track": name, "mean": mean, "std": std, "corpus_mean": cmean, "corpus_std": cstd}
