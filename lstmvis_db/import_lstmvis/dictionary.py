"""LSTMVis dictionary files: one ``token<space>id`` line per token.

A line that starts with a space is the single-space token (``"  5"`` and ``" 5"`` both mean
token ``" "`` with id 5).  Ids are used exactly as written (the original tooling writes 1-based
ids).  :class:`Vocabulary` maps id arrays to token arrays.

May import: numpy, ``lstmvis_db.errors``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmvis_db.errors import InputError

ID_RE = re.compile(r"[+-]?[0-9]+")
"""An integer as dictionary files and lstm.yml write it."""


@dataclass(frozen=True)
class Vocabulary:
    """A parsed dictionary file.

    ``tokens`` and ``ids`` are parallel lists in file order (``tokens[i]`` has id ``ids[i]``);
    ``by_id`` maps an id to its token.  ``file`` is the path the dictionary came from (used in
    error messages).
    """

    file: str
    tokens: tuple[str, ...]
    ids: tuple[int, ...]
    by_id: Mapping[int, str]

    def lookup(self, ids: np.ndarray, what: str) -> np.ndarray:
        """Map an int array of ids to an object array of tokens (same shape).

        ``what`` names the data being looked up (file and key) for the error raised when an id
        is not in the dictionary.
        """
        flat = np.asarray(ids).ravel()
        out = np.empty(flat.shape[0], dtype=object)
        if flat.shape[0] == 0:
            return out.reshape(np.shape(ids))
        uniq, inverse = np.unique(flat, return_inverse=True)
        mapped = np.empty(uniq.shape[0], dtype=object)
        for i, value in enumerate(uniq.tolist()):
            token = self.by_id.get(int(value))
            if token is None:
                where = int(np.flatnonzero(flat == value)[0])
                pos = np.unravel_index(where, np.shape(ids))
                at = int(pos[0]) if len(pos) == 1 else tuple(int(p) for p in pos)
                raise InputError(f"{what}: id {int(value)} at position {at} is not in dictionary {self.file}")
            mapped[i] = token
        out[:] = mapped[np.asarray(inverse).ravel()]
        return out.reshape(np.shape(ids))


def parse_dictionary(text: str, file: str = "<dict>") -> Vocabulary:
    """Parse the text of an LSTMVis dictionary file (one ``token<space>id`` line per token).

    Rules: lines are split on ``\\n`` only (a trailing ``\\r`` is dropped), so tokens may hold
    any other character; empty lines are skipped; a line starting with a space is the single
    space token with the rest of the line as its id; otherwise the id is the text after the
    last space/tab and the token is the text before it (separator whitespace trimmed, unless
    the token is whitespace only, e.g. a tab token).  Ids must be integers and unique.
    """
    tokens: list[str] = []
    ids: list[int] = []
    by_id: dict[int, str] = {}
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if line == "":
            continue
        if line.startswith(" "):
            token, id_text = " ", line.strip()
        else:
            body = line.rstrip(" \t")
            cut = max(body.rfind(" "), body.rfind("\t"))
            if cut <= 0:
                raise InputError(f"{file}: line {lineno}: malformed dictionary line {line!r} (expected 'token id')")
            token, id_text = body[:cut], body[cut + 1 :]
            stripped = token.rstrip(" \t")
            if stripped:
                token = stripped
        if not ID_RE.fullmatch(id_text):
            raise InputError(
                f"{file}: line {lineno}: malformed dictionary line {line!r} (id {id_text!r} is not an integer)"
            )
        ident = int(id_text)
        if ident in by_id:
            raise InputError(f"{file}: line {lineno}: duplicate id {ident} (tokens {by_id[ident]!r} and {token!r})")
        by_id[ident] = token
        tokens.append(token)
        ids.append(ident)
    if not tokens:
        raise InputError(f"{file}: dictionary is empty")
    return Vocabulary(file=file, tokens=tuple(tokens), ids=tuple(ids), by_id=by_id)


def read_dictionary(path: str | Path) -> Vocabulary:
    """Read and parse a dictionary file (UTF-8, optional BOM); see :func:`parse_dictionary`."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read dictionary ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: dictionary is not valid UTF-8 (byte offset {exc.start})") from None
    return parse_dictionary(text, str(path))
