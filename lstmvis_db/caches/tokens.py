"""Token strings for a cache's token ids: a ``tokenizer.json``, a vocabulary file, or ``<id>``;
and the check that a text encodes to the cache's ids.

May import: numpy, ``tokenizers`` (inside functions, optional), ``lstmvis_db.errors``,
``lstmvis_db.extract.base`` (``load_vocab``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstmvis_db.errors import InputError


@dataclass
class TokenSource:
    """How ids become strings: ``tokenizer`` (a ``tokenizers.Tokenizer``), ``vocab`` (id -> token)
    or neither (``<id>``); ``facts`` are recorded in the project."""

    tokenizer: Any = None
    vocab: dict[int, str] | None = None
    facts: dict[str, str] = field(default_factory=dict)


def load_tokenizer(path: str | Path) -> TokenSource:
    """A ``tokenizer.json`` file, or a folder holding one, read with the ``tokenizers`` library."""
    p = Path(path)
    f = p / "tokenizer.json" if p.is_dir() else p
    if not f.is_file():
        raise InputError(f"tokenizer not found: {f}" if p.exists() else f"tokenizer not found: {p}")
    try:
        from tokenizers import Tokenizer
    except ImportError as e:
        raise InputError("--tokenizer needs the tokenizers library (pip install tokenizers)") from e
    raw = f.read_bytes()
    try:
        tok = Tokenizer.from_str(raw.decode("utf-8"))
    except Exception as e:  # noqa: BLE001 - any unreadable file (or not UTF-8) is the user's
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise InputError(f"{f}: not a tokenizers tokenizer.json ({first})") from e
    return TokenSource(tokenizer=tok, facts={"tokenizer": str(f.resolve()),
                                             "tokenizer_sha256": hashlib.sha256(raw).hexdigest()})


def load_vocab_file(path: str | Path) -> TokenSource:
    """A vocabulary file: JSON ``{token: id}`` or a list, or one token a line (line i = id i)."""
    from lstmvis_db.extract.base import load_vocab

    p = Path(path)
    vocab = load_vocab(p)
    inverse = {int(i): str(t) for t, i in vocab.items()}
    return TokenSource(vocab=inverse, facts={"vocab": str(p.resolve()),
                                             "vocab_sha256": hashlib.sha256(p.read_bytes()).hexdigest()})


def _where(pos: int, starts: np.ndarray) -> str:
    row = int(np.searchsorted(starts, pos, side="right")) - 1
    return f"position {pos} (row {row}, token {pos - int(starts[row])})"


def token_strings(ids: np.ndarray, starts: np.ndarray, src: TokenSource) -> list[str]:
    """One string per id; an id the tokenizer or vocabulary does not know names its position."""
    uniq, inverse = np.unique(ids, return_inverse=True)
    table: list[str] = []
    for u in uniq.tolist():
        if src.tokenizer is not None:
            if src.tokenizer.id_to_token(int(u)) is None:
                at = int(np.flatnonzero(ids == u)[0])
                raise InputError(f"token id {u} at {_where(at, starts)} is not in the tokenizer's vocabulary "
                                 f"({src.tokenizer.get_vocab_size(with_added_tokens=True)} tokens)")
            table.append(src.tokenizer.decode([int(u)], skip_special_tokens=False))
        elif src.vocab is not None:
            if int(u) not in src.vocab:
                at = int(np.flatnonzero(ids == u)[0])
                raise InputError(f"token id {u} at {_where(at, starts)} is not in the vocabulary file")
            table.append(src.vocab[int(u)])
        else:
            table.append(f"<{u}>")
    return [table[i] for i in inverse.tolist()]


def check_text(text_path: str | Path, ids: np.ndarray, starts: np.ndarray, src: TokenSource
               ) -> tuple[list[str], dict[str, str]]:
    """The text's encoding (no special tokens added) must equal the cache's ids in row order,
    ignoring the tokenizer's special tokens in the cache (such as a ``<bos>`` per context).

    Returns the token strings taken from the text itself (each token's characters; special
    tokens by their name) and the facts to record.  Raises one line at the first mismatch.
    """
    if src.tokenizer is None:
        raise InputError("--text needs --tokenizer (the tokenizer that made the cache's token ids)")
    p = Path(text_path)
    if not p.is_file():
        raise InputError(f"text file not found: {p}")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    enc = src.tokenizer.encode(text, add_special_tokens=False)
    got = np.asarray(enc.ids, dtype=np.int64)
    special = {int(i) for i, t in src.tokenizer.get_added_tokens_decoder().items() if t.special}
    keep = np.flatnonzero(~np.isin(ids, np.asarray(sorted(special), dtype=np.int64)))
    want = ids[keep]
    n = min(len(want), len(got))
    diff = np.flatnonzero(want[:n] != got[:n])
    if diff.size or len(want) != len(got):
        if diff.size:
            k = int(diff[0])
            raise InputError(
                f"{p}: the text does not give the cache's token ids: at {_where(int(keep[k]), starts)} the cache "
                f"has id {int(want[k])} ({src.tokenizer.id_to_token(int(want[k]))!r}), the text gives id "
                f"{int(got[k])} ({src.tokenizer.id_to_token(int(got[k]))!r}) at character {enc.offsets[k][0]}")
        if len(got) > len(want):
            raise InputError(f"{p}: the text encodes to {len(got)} tokens but the cache has {len(want)} (not "
                             f"counting special tokens); the text goes on at character {enc.offsets[n][0]}")
        raise InputError(f"{p}: the text encodes to {len(got)} tokens but the cache has {len(want)} (not counting "
                         f"special tokens); the text ends before {_where(int(keep[n]), starts)}")
    strings = [src.tokenizer.id_to_token(int(i)) or f"<{int(i)}>" for i in ids.tolist()]
    # each token's characters: from its start to the next token's start, so the text is kept whole
    bounds = [o[0] for o in enc.offsets] + [len(text)]
    if bounds:
        bounds[0] = 0
    for k, pos in enumerate(keep.tolist()):
        strings[pos] = text[bounds[k]:bounds[k + 1]]
    return strings, {"text": str(p.resolve()), "text_sha256": hashlib.sha256(raw).hexdigest()}
