"""Python source code as a character corpus: which standard-library files, the character
vocabulary of the Python character model, and the committed default corpus.

The corpus is the standard library of a Python interpreter (PSF licence) without its tests:
every ``*.py`` file under the ``stdlib`` folder except those under ``test``/``tests``/
``idle_test`` folders, ``site-packages``/``dist-packages``, files named ``test_*.py`` and
``pydoc_data`` (one generated module of help text).  Files are read as UTF-8; characters outside
the vocabulary (everything but newline, tab and printable ASCII) are read as :data:`UNKNOWN`.

The default demo reads the files in ``data/python/corpus.tar.gz`` (a few modules of Python
3.11.2's standard library, committed so that every machine builds the same project whatever its
Python); the full demo reads the running interpreter's standard library.  Imports only the
standard library and numpy.
"""

from __future__ import annotations

import io
import sys
import sysconfig
import tarfile
from pathlib import Path

import numpy as np

__all__ = ["DEMO_FILES", "UNKNOWN", "VOCAB", "encode", "read_corpus_archive", "stdlib_dir", "stdlib_files"]

#: the character that stands for any character outside the vocabulary
UNKNOWN = "\u00bf"
#: the model's characters: newline, tab, printable ASCII, then UNKNOWN
VOCAB: list[str] = ["\n", "\t", *[chr(c) for c in range(32, 127)], UNKNOWN]
_STOI = {c: i for i, c in enumerate(VOCAB)}

#: the committed default corpus (held out from training), in reading order
DEMO_FILES = ("bisect.py", "colorsys.py", "fnmatch.py", "graphlib.py", "textwrap.py")

_SKIP_DIRS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__", "pydoc_data"}


def stdlib_dir() -> Path:
    """The running interpreter's standard-library folder."""
    return Path(sysconfig.get_paths()["stdlib"])


def python_version() -> str:
    """The running interpreter's version, e.g. ``3.11.7``."""
    return ".".join(str(x) for x in sys.version_info[:3])


def stdlib_files(root: Path) -> list[str]:
    """The corpus files under ``root``: relative POSIX paths, sorted."""
    out: list[str] = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if any(part in _SKIP_DIRS or part.startswith("config-") for part in rel.parts[:-1]):
            continue
        if rel.name.startswith("test_") or not path.is_file():
            continue
        out.append(rel.as_posix())
    return sorted(out)


def read_source(path: Path) -> str:
    """A source file's text (UTF-8, universal newlines, like ``tokenize`` reads it)."""
    return path.read_bytes().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def encode(text: str) -> np.ndarray:
    """The model's character ids of ``text`` (unknown characters as :data:`UNKNOWN`)."""
    unk = _STOI[UNKNOWN]
    return np.array([_STOI.get(c, unk) for c in text], np.int64)


def read_corpus_archive(path: Path) -> list[tuple[str, str]]:
    """The (name, text) ``*.py`` files of a committed corpus archive (tar.gz), in archive order
    (the archive's ``LICENSE.txt`` is not one of them)."""
    files: list[tuple[str, str]] = []
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".py"):
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            files.append((member.name, io.TextIOWrapper(handle, encoding="utf-8", newline=None).read()))
    return files
