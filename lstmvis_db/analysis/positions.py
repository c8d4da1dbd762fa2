"""Position filters of the cell statistics (docs/analysis.md): documents, an inclusive range,
a label of a categorical track, or a list of spans; all given ones intersect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lstmvis_db.analysis import _labels
from lstmvis_db.errors import QueryError
from lstmvis_db.queries import Catalog


@dataclass(frozen=True)
class Filter:
    docs: tuple[int, ...] | None = None
    range: tuple[int, int] | None = None  # [A, B] inclusive
    track: str | None = None
    label: str | None = None
    spans: tuple[tuple[int, int], ...] | None = None  # (start, length)

    @classmethod
    def of(cls, docs: Sequence[int] | None = None, range: Sequence[int] | None = None, track: str | None = None,
           label: str | None = None, spans: Sequence[Sequence[int]] | None = None) -> Filter:
        try:
            return cls(
                docs=None if docs is None else tuple(_int(d, "document") for d in docs),
                range=None if range is None else (_int(range[0], "range start"), _int(range[1], "range end")),
                track=track, label=label,
                spans=None if spans is None else tuple((_int(s[0], "span start"), _int(s[1], "span length"))
                                                       for s in spans),
            )
        except (TypeError, IndexError):
            raise QueryError("filter: documents, range A:B and spans (start, length) must be integers") from None

    def positions(self, cat: Catalog) -> np.ndarray:
        """Sorted positions left by the filter; an error when it leaves none."""
        n = cat.n_positions
        keep = np.ones(n, dtype=bool)
        if self.docs is not None:
            n_docs = len(cat.doc_first)
            bad = [d for d in self.docs if not 0 <= d < n_docs]
            if bad:
                raise QueryError(f"unknown document {bad[0]} (documents 0..{n_docs - 1})")
            in_docs = np.zeros(n, dtype=bool)
            for d in self.docs:
                in_docs[cat.doc_first[d]:cat.doc_last[d] + 1] = True
            keep &= in_docs
        if self.range is not None:
            a, b = self.range
            if a > b or a < 0 or b >= n:
                raise QueryError(f"range {a}:{b} is not inside the corpus (positions 0..{n - 1}, A <= B)")
            keep[:a] = False
            keep[b + 1:] = False
        if (self.track is None) != (self.label is None):
            raise QueryError("a label filter needs both a track and a label")
        if self.track is not None:
            tr = _labels.categorical(cat, self.track)
            keep &= tr.codes == tr.code(str(self.label))
        if self.spans is not None:
            covered = np.zeros(n + 1, dtype=np.int64)
            for s, ln in self.spans:
                if ln < 1 or s < 0 or s + ln > n:
                    raise QueryError(f"span ({s}, {ln}) is not inside the corpus (positions 0..{n - 1})")
                covered[s] += 1
                covered[s + ln] -= 1
            keep &= np.cumsum(covered[:n]) > 0
        pos = np.flatnonzero(keep)
        if len(pos) == 0:
            raise QueryError("the filter leaves no position")
        return pos


def _int(x: object, what: str) -> int:
    try:
        v = int(x)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise QueryError(f"{what} must be an integer, got {x!r}") from None
    if v != x:
        raise QueryError(f"{what} must be an integer, got {x!r}")
    return v
