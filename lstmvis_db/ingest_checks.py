"""Validation of a :class:`~lstmvis_db.types.ProjectData` before anything is written
(docs/data-model.md §Public tables): documents contiguous, sources 2-D with one row per token,
tracks of the right length and kind.  Each check raises one ``InputError`` line naming what is
wrong.  Imports numpy and ``lstmvis_db.errors``/``types`` only; ``store`` uses it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.types import Document, ProjectData, Source, Track

SPARSE_MAX_UNITS = 1 << 24  # the widest source (a sparse one); dense sources stay below 1,000,000 cells


def check_documents(docs: Sequence[Document] | None, n: int) -> list[Document]:
    """The documents, or one spanning all ``n`` tokens when none are given; contiguous, in order."""
    if not docs:
        return [Document("document 0", 0, n - 1)]
    expected = 0
    out = []
    for i, d in enumerate(docs):
        if d.first_pos != expected or d.last_pos < d.first_pos:
            raise InputError(
                f"documents[{i}] ({d.name!r}) spans {d.first_pos}..{d.last_pos}; documents must "
                f"be non-empty, in order and contiguous (expected first_pos {expected})"
            )
        expected = d.last_pos + 1
        out.append(d)
    if expected != n:
        raise InputError(f"documents end at position {expected - 1} but there are {n} tokens")
    return out


def source_shape(src: Source, n: int) -> int:
    """The number of cells of ``src`` (states of shape (n, d), a known transform)."""
    shape = getattr(src.values, "shape", None)
    if shape is None or len(shape) != 2:
        raise InputError(f"source {src.source!r}: states must be a 2-D (positions x cells) array, got shape {shape}")
    if shape[0] != n:
        raise InputError(f"source {src.source!r}: {shape[0]} state rows but {n} tokens")
    if shape[1] < 1:
        raise InputError(f"source {src.source!r}: no cells")
    if src.layout not in ("dense", "sparse"):
        raise InputError(f"source {src.source!r}: layout must be 'dense' or 'sparse', got {src.layout!r}")
    if src.layout == "dense" and shape[1] >= 1_000_000:
        raise InputError(f"source {src.source!r}: {shape[1]:,} cells are too many for a dense source; "
                         "store it with layout='sparse'")
    if shape[1] > SPARSE_MAX_UNITS:
        raise InputError(f"source {src.source!r}: {shape[1]:,} units, at most {SPARSE_MAX_UNITS:,}")
    if src.transform not in ("tanh", "none"):
        raise InputError(f"source {src.source!r}: transform must be 'tanh' or 'none', got {src.transform!r}")
    return int(shape[1])


def validate(data: ProjectData) -> tuple[int, list[Document]]:
    """The token count and the checked documents of ``data``; raises on anything malformed."""
    n = len(data.tokens)
    if n < 1:
        raise InputError("the project has no tokens")
    if not data.name:
        raise InputError("the project has no name")
    if data.token_ids is not None and len(data.token_ids) != n:
        raise InputError(f"token_ids has {len(data.token_ids)} entries but there are {n} tokens")
    docs = check_documents(data.documents, n)
    names = [s.source for s in data.sources]
    if len(set(names)) != len(names):
        raise InputError(f"duplicate source names in {names}")
    for s in data.sources:
        if not s.source:
            raise InputError("a source has an empty name")
        source_shape(s, n)
    tnames = [t.track for t in data.tracks]
    if len(set(tnames)) != len(tnames):
        raise InputError(f"duplicate track names in {tnames}")
    for t in data.tracks:
        check_track(t, n)
    return n, docs


def check_track(t: Track, n: int) -> None:
    """A track has the labels, values or top-k arrays its kind needs, one per token."""
    if t.kind == "categorical":
        if t.labels is None or len(t.labels) != n:
            got = None if t.labels is None else len(t.labels)
            raise InputError(f"track {t.track!r}: categorical track needs {n} labels, got {got}")
    elif t.kind == "scalar":
        if t.values is None or len(t.values) != n:
            got = None if t.values is None else len(t.values)
            raise InputError(f"track {t.track!r}: scalar track needs {n} values, got {got}")
    elif t.kind == "topk":
        tok, sc = t.topk_tokens, t.topk_scores
        if (tok is None or sc is None or np.shape(tok) != np.shape(sc) or len(np.shape(tok)) != 2
                or np.shape(tok)[0] != n):
            raise InputError(
                f"track {t.track!r}: topk track needs tokens and scores of shape ({n}, k), "
                f"got {None if tok is None else np.shape(tok)} and {None if sc is None else np.shape(sc)}"
            )
    else:
        raise InputError(f"track {t.track!r}: kind must be categorical, scalar or topk, got {t.kind!r}")
