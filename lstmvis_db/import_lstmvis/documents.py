"""The document split of an imported project: none, start positions or Document rows.

May import: numpy, ``lstmvis_db.errors``, ``lstmvis_db.types``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.types import Document

DocumentsArg = Sequence[Document] | Sequence[int] | np.ndarray | None
"""Document rows, integer start positions (0 implied) or None (one document)."""


def build_documents(documents: DocumentsArg, n: int) -> list[Document]:
    """Validate/build the document split of the N positions (see ``read_lstmvis_project``)."""
    if documents is None:
        return [Document(name="doc0", first_pos=0, last_pos=n - 1)]
    items = list(documents)
    if not items:
        raise InputError("documents: empty list (give document starts or Document objects)")
    if all(isinstance(d, Document) for d in items):
        docs: list[Document] = items  # type: ignore[assignment]
    elif all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in items):
        starts = [int(d) for d in items]
        if starts[0] != 0:
            starts.insert(0, 0)
        for i in range(1, len(starts)):
            if starts[i] <= starts[i - 1]:
                raise InputError(
                    f"documents: starts must be strictly increasing, got {starts[i]} after {starts[i - 1]}"
                )
        if starts[-1] >= n:
            raise InputError(f"documents: start {starts[-1]} is outside 0..{n - 1}")
        ends = [s - 1 for s in starts[1:]] + [n - 1]
        docs = [Document(f"doc{i}", s, e) for i, (s, e) in enumerate(zip(starts, ends))]
    else:
        raise InputError("documents: must be a list of Document objects or a list of integer start positions")
    expected = 0
    for i, d in enumerate(docs):
        if d.first_pos != expected:
            raise InputError(
                f"documents[{i}] ({d.name!r}): first_pos {d.first_pos} should be {expected} "
                "(documents must cover every position in order)"
            )
        if d.last_pos < d.first_pos:
            raise InputError(f"documents[{i}] ({d.name!r}): last_pos {d.last_pos} < first_pos {d.first_pos}")
        expected = d.last_pos + 1
    if expected != n:
        raise InputError(
            f"documents[{len(docs) - 1}] ({docs[-1].name!r}): last_pos {expected - 1} "
            f"should be {n - 1} (the last position)"
        )
    return docs

