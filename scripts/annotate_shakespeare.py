"""Compute spaCy annotations of the Shakespeare demo text once: ``data/shakespeare/spacy.npz``.

Usage (spaCy is not an app dependency: it is the optional ``demos`` extra)::

    pip install -r requirements-demos.txt
    python scripts/annotate_shakespeare.py

It renders ``data/shakespeare/scenes.md`` exactly as the demo does (``lstmvis_db.demos.scenes.
parse_scenes``), parses every stretch of consecutive speech lines and every stage direction
(newlines replaced by spaces, which keeps character offsets), and stores one row per
non-space spaCy token: ``start`` (offset in the concatenated text of all scenes), ``length``,
universal POS, Penn tag and dependency label (as indices into ``pos_labels``, ``tag_labels``,
``dep_labels``), ``depth`` (number of arcs from the token up to its sentence root, root =
0), ``chunk`` (noun chunk: 0 outside, 1 begin, 2 inside) and ``ent`` (named-entity type, an
index into ``ent_labels``; "" = none); see ``lstmvis_db.demos.annotate``.  ``text_sha256`` is
the sha256 of the concatenated rendered text, so the demo notices when the text and the
annotations no longer match.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstmvis_db.demos.annotate import annotate_text, scene_spans
from lstmvis_db.demos.scenes import parse_scenes

DATA = Path(__file__).resolve().parent.parent / "data"


def annotate(scenes_md: Path, out: Path) -> None:
    """Parse the rendered scenes and write the token table."""
    full_text, spans = scene_spans(parse_scenes(scenes_md.read_text(encoding="utf-8")))
    arrays = annotate_text(full_text, spans)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    print(f"wrote {out}: {len(arrays['start'])} tokens over {len(full_text)} characters")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=Path, default=DATA / "shakespeare" / "scenes.md")
    parser.add_argument("--out", type=Path, default=DATA / "shakespeare" / "spacy.npz")
    args = parser.parse_args()
    annotate(args.scenes, args.out)


if __name__ == "__main__":
    main()
