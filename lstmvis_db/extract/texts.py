"""Reading text inputs and splitting them into documents.

A file named on its own must be UTF-8 text.  Inside a folder, files that are binary (a NUL
byte in their first 8 KB) or not UTF-8 are skipped with a warning (logger
``lstmvis_db.extract``, which Python prints to stderr when nothing else is set up), and a
glob pattern can choose the files.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lstmvis_db.errors import InputError

DocumentMode = Literal["by-file", "by-line", "by-separator"]
DOCUMENT_MODES: tuple[str, ...] = ("by-file", "by-line", "by-separator")

LOG = logging.getLogger("lstmvis_db.extract")
SNIFF_BYTES = 8192

TextInput = str | os.PathLike | tuple[str, str]
"""A ``Path`` (file or folder to read), a ``(name, text)`` pair, or a plain string of text."""


@dataclass(frozen=True)
class InputText:
    """One input: a file's text (UTF-8, CRLF turned into LF) or a text given in memory."""

    name: str
    text: str


@dataclass(frozen=True)
class DocText:
    """One document before tokenization: its name, its text and the input it came from."""

    name: str
    text: str
    origin: str


def read_text_file(path: Path, name: str | None = None) -> InputText:
    """Read one UTF-8 text file (a BOM is dropped, CRLF becomes LF).

    Raises:
        InputError: the file is missing, unreadable, not UTF-8 or has no text.
    """
    label = name or str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{label}: cannot read text file ({e.strerror})") from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{label}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})"
        ) from e
    text = text.replace("\r\n", "\n")
    if not text.strip():
        raise InputError(f"{label}: empty text")
    return InputText(name=label, text=text)


def _walk(folder: Path, glob: str | None = None) -> list[Path]:
    """Regular files under ``folder``, recursively, sorted, hidden files and folders skipped;
    with ``glob``, only those whose path relative to ``folder`` (or whose name) matches it."""
    out: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.startswith("."):
                p = Path(root) / f
                rel = p.relative_to(folder).as_posix()
                if p.is_file() and (glob is None or fnmatch.fnmatch(rel, glob) or fnmatch.fnmatch(f, glob)):
                    out.append(p)
    return out


def _folder_texts(path: Path, glob: str | None, skipped: list[str] | None) -> list[InputText]:
    """The text files of a folder; binary and non-UTF-8 files are skipped with a warning."""
    files = _walk(path, glob)
    if not files:
        what = f"no files matching {glob!r}" if glob else "no text files"
        raise InputError(f"{path}: folder holds {what}")
    out = []
    for f in files:
        label = str(path / f.relative_to(path))
        why = _not_text(f)
        if why is not None:
            LOG.warning("skipped %s: %s", label, why)
            if skipped is not None:
                skipped.append(label)
            continue
        try:
            out.append(read_text_file(f, label))
        except InputError as e:
            if "empty text" not in str(e):
                raise
            LOG.warning("skipped %s: empty text", label)
            if skipped is not None:
                skipped.append(label)
    if not out:
        raise InputError(f"{path}: folder holds no readable text files ({len(files)} skipped)")
    return out


def _not_text(path: Path) -> str | None:
    """Why a file is not UTF-8 text (None when it is)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        return f"cannot read it ({e.strerror})"
    if b"\0" in raw[:SNIFF_BYTES]:
        return "binary (a NUL byte)"
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return f"not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})"
    return None


def read_texts(inputs: TextInput | Iterable[TextInput] | Mapping[str, str], *, glob: str | None = None,
               skipped: list[str] | None = None) -> list[InputText]:
    """Collect the inputs: paths are read (folders recursively), texts are taken as they are.

    Args:
        inputs: ``{name: text}``, one input, or an iterable of ``Path`` objects (files or
            folders), ``(name, text)`` pairs and plain strings (texts, named ``text1``,
            ``text2``, ...).  Use ``Path`` for files: a plain string is always text.
        glob: inside folders, read only the files matching this pattern (``*.txt``, ``**/*.md``).
        skipped: when given, the names of folder files skipped as binary, not UTF-8 or empty are
            appended to it (each is also logged as a warning).

    Raises:
        InputError: a path does not exist, a folder holds no (readable) files, a file named
            on its own is not UTF-8, or a text is empty; the message names it.
    """
    items: Iterable[object]
    if isinstance(inputs, Mapping):
        items = inputs.items()
    elif isinstance(inputs, (str, os.PathLike)):
        items = [inputs]
    else:
        items = inputs
    out: list[InputText] = []
    n_plain = 0
    for item in items:
        if isinstance(item, tuple):
            if len(item) != 2 or not all(isinstance(x, str) for x in item):
                raise InputError(f"text input {item!r:.60} is not a (name, text) pair")
            name, text = item
            text = text.replace("\r\n", "\n")
            if not text.strip():
                raise InputError(f"{name}: empty text")
            out.append(InputText(name=name, text=text))
        elif isinstance(item, str):
            n_plain += 1
            name = f"text{n_plain}"
            if not item.strip():
                raise InputError(f"{name}: empty text")
            out.append(InputText(name=name, text=item.replace("\r\n", "\n")))
        elif isinstance(item, os.PathLike):
            path = Path(item)
            if path.is_dir():
                out.extend(_folder_texts(path, glob, skipped))
            elif path.exists():
                out.append(read_text_file(path))
            else:
                raise InputError(f"text file not found: {path}")
        else:
            raise InputError(f"text input of type {type(item).__name__} is neither a path nor text")
    if not out:
        raise InputError("no text given")
    return out


def split_documents(
    texts: Iterable[InputText], mode: str = "by-file", separator: str = "\n\n"
) -> list[DocText]:
    """Split inputs into documents.

    ``by-file``: one document per input.  ``by-line``: one per non-blank line (named
    ``file:LINE``).  ``by-separator``: one per non-blank piece between separators (named
    ``file#N``).  Blank lines and pieces are skipped; a piece keeps its text unchanged.

    Raises:
        InputError: an unknown mode, an empty separator, or an input with no document.
    """
    if mode not in DOCUMENT_MODES:
        raise InputError(f"unknown document mode {mode!r} (expected one of {', '.join(DOCUMENT_MODES)})")
    if mode == "by-separator" and not separator:
        raise InputError("document separator is empty")
    docs: list[DocText] = []
    for t in texts:
        before = len(docs)
        if mode == "by-file":
            docs.append(DocText(t.name, t.text, t.name))
        elif mode == "by-line":
            for i, line in enumerate(t.text.split("\n"), start=1):
                if line.strip():
                    docs.append(DocText(f"{t.name}:{i}", line, t.name))
        else:
            n = 0
            for piece in t.text.split(separator):
                if piece.strip():
                    n += 1
                    docs.append(DocText(f"{t.name}#{n}", piece, t.name))
        if len(docs) == before:
            raise InputError(f"{t.name}: empty text")
    return docs
