"""Per-character structure of Python source from the standard library's ``tokenize``: bracket
depth, indentation depth and token type.

* **bracket depth**: the number of brackets (``(``, ``[``, ``{`` as operator tokens) open after
  the character; an opening bracket counts itself, a closing one does not (the convention of the
  parenthesis demo: the depth after the token).  Brackets inside strings and comments are not
  operator tokens, so they do not count.
* **indentation depth**: tokenize's indentation level (INDENT minus DEDENT tokens) of the logical
  line the character belongs to; continuation lines inside brackets belong to their logical
  line; blank and comment-only lines take the level of the logical line that follows them (they
  are read before it).
* **token type**: ``string``, ``comment``, ``keyword`` (``keyword.kwlist``; soft keywords are
  names), ``name``, ``number``, ``op``, ``newline`` (NEWLINE/NL tokens and line breaks between
  tokens), ``space`` (any other character outside a token) and ``other`` (error tokens).

From Python 3.12 ``tokenize`` splits f-strings into FSTRING_START/MIDDLE/END and the tokens of
their replacement fields; :func:`python_structure` reads everything from an f-string's start to
its end as one string, as Python 3.11 does, so the tracks are the same on every version.
Imports only the standard library and numpy.
"""

from __future__ import annotations

import io
import keyword
import tokenize
from dataclasses import dataclass

import numpy as np

__all__ = ["TOKEN_TYPES", "PythonStructure", "python_structure"]

TOKEN_TYPES = ["string", "comment", "keyword", "name", "number", "op", "newline", "space", "other"]
_OPEN, _CLOSE = "([{", ")]}"
_FSTART = {getattr(tokenize, n) for n in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, n)}
_FEND = {getattr(tokenize, n) for n in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, n)}


@dataclass(frozen=True)
class PythonStructure:
    """Per-character arrays of one source text."""

    bracket_depth: np.ndarray  # int64
    indent_depth: np.ndarray  # int64
    token_type: list[str]


def _tokens(text: str) -> list[tuple[int, str, int, int]]:
    """(type, string, start offset, end offset) of every token, f-strings merged into one
    STRING token.  Raises tokenize.TokenError / SyntaxError on source tokenize rejects."""
    line_starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            line_starts.append(i + 1)

    def offset(row: int, col: int) -> int:
        return min(line_starts[row - 1] + col, len(text)) if row - 1 < len(line_starts) else len(text)

    out: list[tuple[int, str, int, int]] = []
    fdepth, fstart = 0, 0
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        a, b = offset(*tok.start), offset(*tok.end)
        if tok.type in _FSTART:
            if fdepth == 0:
                fstart = a
            fdepth += 1
            continue
        if fdepth:
            if tok.type in _FEND:
                fdepth -= 1
                if fdepth == 0:
                    out.append((tokenize.STRING, text[fstart:b], fstart, b))
            continue
        out.append((tok.type, tok.string, a, b))
    return out


def _kind(tok_type: int, string: str) -> str:
    if tok_type == tokenize.STRING:
        return "string"
    if tok_type == tokenize.COMMENT:
        return "comment"
    if tok_type == tokenize.NAME:
        return "keyword" if keyword.iskeyword(string) else "name"
    if tok_type == tokenize.NUMBER:
        return "number"
    if tok_type == tokenize.OP:
        return "op"
    if tok_type in (tokenize.NEWLINE, tokenize.NL):
        return "newline"
    if tok_type in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
        return "space"
    return "other"


def python_structure(text: str) -> PythonStructure:
    """Bracket depth, indentation depth and token type of every character of ``text``.

    Raises tokenize.TokenError or SyntaxError when ``tokenize`` rejects the source.
    """
    n = len(text)
    kinds = ["newline" if ch == "\n" else "space" for ch in text]
    delta = np.zeros(n + 1, np.int64)
    indent = np.zeros(n, np.int64)
    level, line_level, line_open, filled = 0, 0, False, 0
    for tok_type, string, a, b in _tokens(text):
        if tok_type == tokenize.INDENT:
            level += 1
            continue
        if tok_type == tokenize.DEDENT:
            level -= 1
            continue
        kind = _kind(tok_type, string)
        if kind != "space":
            for i in range(a, b):
                kinds[i] = kind
        if tok_type == tokenize.OP and len(string) == 1 and a < n:
            if string in _OPEN:
                delta[a] += 1
            elif string in _CLOSE:
                delta[a] -= 1
        if tok_type == tokenize.NEWLINE:
            indent[filled:b] = line_level
            filled, line_open = max(filled, b), False
        elif not line_open and tok_type not in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER):
            line_level, line_open = level, True
    indent[filled:] = line_level if line_open else 0
    depth = np.maximum(np.cumsum(delta[:n]), 0)
    return PythonStructure(bracket_depth=depth, indent_depth=indent, token_type=kinds)
