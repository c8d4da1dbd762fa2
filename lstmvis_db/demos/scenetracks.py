"""Annotation tracks of rendered Shakespeare scenes, per character or per word token.

Both Shakespeare demos (characters: :mod:`lstmvis_db.demos.shakespeare`; words:
:mod:`lstmvis_db.demos.phrases`) label their positions from the same per-character structure
(:class:`lstmvis_db.demos.scenes.RenderedScene`) and the same spaCy arrays
(:mod:`lstmvis_db.demos.annotate`).  ``at`` is the character offset each position reads
(``None``: every character is a position).  Imports numpy and the demos' text modules only.
"""

from __future__ import annotations

import numpy as np

from lstmvis_db.demos.annotate import CHUNK_LABELS, spacy_token_index
from lstmvis_db.demos.scenes import SEG_SPEAKER, SEG_SPEECH, SEG_STAGE, RenderedScene
from lstmvis_db.types import Track

__all__ = ["IN_CHUNK", "spacy_tracks", "structure_tracks"]

IN_CHUNK = "noun chunk"
_SPACY = "(spaCy en_core_web_sm)"


def _pick(values: np.ndarray, at: np.ndarray | None) -> np.ndarray:
    return values if at is None else values[at]


def _top(values: np.ndarray) -> float:
    return float(np.nanmax(values)) if len(values) and not np.isnan(values).all() else 1.0


def spacy_tracks(arr: dict[str, np.ndarray], n_chars: int, at: np.ndarray | None = None,
                 unit: str = "word") -> list[Track]:
    """POS, Penn tag, dependency label and depth, noun chunk (begin/inside/outside and the
    binary ``noun_chunk``) and named entity at every position, from spaCy's arrays."""
    idx = _pick(spacy_token_index(arr, n_chars), at)
    has = idx >= 0
    n = len(idx)

    def categorical(codes: np.ndarray, cats: list[str], empty: str | None = None) -> list[str | None]:
        labels = np.array([None] * n, dtype=object)
        labels[has] = np.asarray(cats, dtype=object)[codes[idx[has]]]
        if empty is not None:
            labels[labels == empty] = None
        return list(labels)

    tracks = [
        Track(key, "categorical", f"{desc} of the {unit}'s word {_SPACY}",
              labels=categorical(arr[key], [str(c) for c in arr[f"{key}_labels"]]),
              categories=[str(c) for c in arr[f"{key}_labels"]])
        for key, desc in (("pos", "universal part of speech"), ("tag", "Penn Treebank tag"),
                          ("dep", "dependency label"))
    ]
    depth = np.full(n, np.nan)
    depth[has] = arr["depth"][idx[has]]
    tracks.append(Track("dep_depth", "scalar", "dependency depth of the word: arcs up to its sentence root (root = 0)",
                        values=depth, min=0.0, max=_top(depth)))
    if "chunk" in arr:
        chunk = categorical(arr["chunk"], list(CHUNK_LABELS))
        tracks.append(Track("chunk_iob", "categorical", f"noun chunk: begin, inside or outside {_SPACY}",
                            labels=chunk, categories=list(CHUNK_LABELS)))
        tracks.append(Track("noun_chunk", "categorical", f"inside a noun chunk (begin or inside) {_SPACY}",
                            labels=[IN_CHUNK if c in ("begin", "inside") else None for c in chunk],
                            categories=[IN_CHUNK]))
        ents = [str(c) for c in arr["ent_labels"]]
        tracks.append(Track("entity", "categorical", f"named-entity type {_SPACY}",
                            labels=categorical(arr["ent"], ents, empty=""), categories=[e for e in ents if e]))
    return tracks


def structure_tracks(kept: list[RenderedScene], at: np.ndarray | None = None) -> list[Track]:
    """Speaker, segment, stage direction and verse-line tracks."""
    segment = np.array([seg for s in kept for seg in s.segment], dtype=object)
    speaker = np.array([sp for s in kept for sp in s.speaker], dtype=object)
    line_no = np.array([ln for s in kept for ln in s.line_no], float)
    segment, speaker, line_no = _pick(segment, at), _pick(speaker, at), _pick(line_no, at)
    line_no[line_no == 0] = np.nan
    speakers_order = list(dict.fromkeys(sp for sp in speaker if sp is not None))
    return [
        Track("speaker", "categorical", "who speaks (speech lines and the speaker's name line)",
              labels=list(speaker), categories=speakers_order),
        Track("segment", "categorical",
              "speaker name line, spoken text (verse or prose), or stage direction [..]",
              labels=list(segment), categories=[SEG_SPEAKER, SEG_SPEECH, SEG_STAGE]),
        Track("stage_direction", "categorical", "inside a stage direction [..]",
              labels=["stage direction" if s == SEG_STAGE else None for s in segment],
              categories=["stage direction"]),
        Track("verse_line", "scalar", "1-based number of the printed line within the speech",
              values=line_no, min=1.0, max=_top(line_no)),
    ]
