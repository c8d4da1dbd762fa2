"""The adapter interface every model family implements, and the simple tokenizers.

An adapter turns a token id sequence into state matrices, one per source: a mapping
``(source_name, layer, kind) -> (n, D) float32`` for the n positions it was given.  The driver
(:func:`lstmvis_db.extract.extract_project`) owns everything else: reading texts, documents,
chunking, memory bounds and writing the project.  Nothing here imports torch.

Two ways of running a long sequence in chunks exist, and an adapter declares which it needs:

* recurrent (``max_context is None``): ``run(ids, state)`` returns the states and the carried
  state; the next chunk starts from it, so chunked output equals unchunked output.  An adapter
  with ``whole_document = True`` (a bidirectional RNN, which needs the future) gets each
  document in one call.
* windowed (``max_context = W``): each call sees at most W tokens; the driver slides windows
  with a stride and keeps only the positions that have the most left context (``keep_from``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from lstmvis_db.errors import InputError

SourceKey = tuple[str, int, str]
"""``(source_name, layer, kind)``: how adapters and the driver name one state matrix."""


@dataclass(frozen=True)
class SourceSpec:
    """One state matrix an adapter can produce.

    Attributes:
        source: unique source name in the project (e.g. ``hidden2``, ``mlp5``).
        layer: 1-based layer (0 is the embedding output of a transformer).
        kind: ``hidden`` (h_t / residual stream), ``cell`` (LSTM c_t), ``mlp`` (MLP neurons),
            with ``_reverse`` appended for the backward direction of a bidirectional RNN.
        n_cells: D, the width of the matrix.
        description: what the values are, recorded in ``sources.description``.
    """

    source: str
    layer: int
    kind: str
    n_cells: int
    description: str = ""

    @property
    def key(self) -> SourceKey:
        """The ``(source, layer, kind)`` key adapters return states under."""
        return (self.source, self.layer, self.kind)


@dataclass(frozen=True)
class Tokenized:
    """A text as the model sees it.

    ``display[i]`` is the readable form of token i: the text from the end of the previous
    token to the end of this one, so the pieces of a document concatenate back to its text
    (leading whitespace travels with the token that follows it).
    """

    ids: np.ndarray
    display: list[str]


@dataclass
class ChunkOutput:
    """What one ``run`` call returns for the positions it was asked to keep.

    Attributes:
        states: ``(source, layer, kind) -> (n, D)`` float32 arrays.
        topk_ids: ``(n, k)`` predicted next-token ids, best first (causal models only).
        topk_scores: ``(n, k)`` their probabilities.
    """

    states: dict[SourceKey, np.ndarray] = field(default_factory=dict)
    topk_ids: np.ndarray | None = None
    topk_scores: np.ndarray | None = None


@runtime_checkable
class Adapter(Protocol):
    """A model family behind one small interface (see the module docstring)."""

    model: str
    """Model name recorded in ``sources.model``."""
    family: str
    """``rnn``, ``keras``, ``hf`` or a user's own name."""
    max_context: int | None
    """None for recurrent models; the largest window (in tokens) for windowed models."""
    whole_document: bool
    """True when a document cannot be split (bidirectional recurrent models)."""
    can_predict: bool
    """True when ``run`` can return top-k next-token predictions."""

    def sources(self) -> list[SourceSpec]:
        """Every state matrix this model can produce, in display order."""
        ...

    def settings(self) -> dict[str, str]:
        """Model settings worth recording in the project (architecture, sizes, ...)."""
        ...

    def tokenize(self, text: str, where: str) -> Tokenized:
        """Token ids and display pieces of ``text``; ``where`` names it in error messages."""
        ...

    def token_display(self, ids: Sequence[int]) -> list[str]:
        """Readable forms of single token ids (for top-k predictions)."""
        ...

    def run(
        self,
        ids: np.ndarray,
        wanted: Sequence[SourceKey],
        state: Any = None,
        *,
        topk: int = 0,
        keep_from: int = 0,
    ) -> tuple[ChunkOutput, Any]:
        """States of ``ids[keep_from:]`` for the wanted sources, and the carried state.

        ``state`` is None at the start of a document; recurrent adapters return the state
        after the last position, windowed adapters return None.
        """
        ...


class TextTokenizer(Protocol):
    """What the recurrent adapters need from a tokenizer (the classes below implement it)."""

    vocab_size: int

    def encode(self, text: str, where: str) -> Tokenized:
        """Ids and display pieces of ``text``; raise InputError naming ``where`` if impossible."""
        ...

    def id_display(self, token_id: int) -> str:
        """Readable form of one id."""
        ...


def _vocab_from(vocab: Mapping[str, int] | Sequence[str] | str) -> dict[str, int]:
    if isinstance(vocab, Mapping):
        out = {str(k): int(v) for k, v in vocab.items()}
    else:
        out = {}
        for tok in vocab:
            out.setdefault(str(tok), len(out))
    if not out:
        raise InputError("tokenizer vocabulary is empty")
    ids = list(out.values())
    if min(ids) < 0:
        raise InputError(f"tokenizer vocabulary has a negative id {min(ids)}")
    if len(set(ids)) != len(ids):
        raise InputError("tokenizer vocabulary maps two tokens to the same id")
    return out


class CharTokenizer:
    """One token per character, for character-level models.

    Vocabulary entries longer than one character (special tokens such as ``<s>``) are kept
    for display but never produced from text.

    Args:
        vocab: ``{char: id}``, or a sequence/string of characters (id = position).
        unk_id: id used for characters outside the vocabulary; None makes them an error.
    """

    def __init__(self, vocab: Mapping[str, int] | Sequence[str] | str, unk_id: int | None = None):
        self.vocab = _vocab_from(vocab)
        if not any(len(k) == 1 for k in self.vocab):
            raise InputError("character vocabulary has no single-character entry")
        self.unk_id = unk_id
        self.vocab_size = max(max(self.vocab.values()), unk_id if unk_id is not None else 0) + 1
        self._inverse = {v: k for k, v in self.vocab.items()}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """A vocabulary of the characters of ``text``, in sorted order."""
        return cls(sorted(set(text)))

    def encode(self, text: str, where: str) -> Tokenized:
        """One id per character; unknown characters become ``unk_id`` or an InputError."""
        vocab = self.vocab
        ids = np.empty(len(text), dtype=np.int64)
        for i, ch in enumerate(text):
            tid = vocab.get(ch)
            if tid is None:
                if self.unk_id is None:
                    raise InputError(
                        f"{where}: character {ch!r} at offset {i} is not in the model's vocabulary"
                    )
                tid = self.unk_id
            ids[i] = tid
        return Tokenized(ids=ids, display=list(text))

    def id_display(self, token_id: int) -> str:
        """The character of ``token_id`` (``<unk>`` for unknown ids)."""
        return self._inverse.get(int(token_id), "<unk>")


class WordTokenizer:
    """Whitespace-separated words, for word-level models.

    Each token's display form carries the whitespace before it, so a document's pieces
    concatenate back to its text.

    Args:
        vocab: ``{word: id}`` or a sequence of words (id = position).
        unk_id: id for out-of-vocabulary words; None makes them an error.
        lower: lower-case words before the look-up (the display keeps the original case).
    """

    _WORD = re.compile(r"\s*(\S+)")

    def __init__(
        self,
        vocab: Mapping[str, int] | Sequence[str],
        unk_id: int | None = None,
        lower: bool = False,
    ):
        self.vocab = _vocab_from(vocab)
        self.unk_id = unk_id
        self.lower = lower
        self.vocab_size = max(max(self.vocab.values()), unk_id if unk_id is not None else 0) + 1
        self._inverse = {v: k for k, v in self.vocab.items()}

    def encode(self, text: str, where: str) -> Tokenized:
        """One id per whitespace-separated word."""
        ids: list[int] = []
        display: list[str] = []
        for m in self._WORD.finditer(text):
            word = m.group(1)
            key = word.lower() if self.lower else word
            tid = self.vocab.get(key)
            if tid is None:
                if self.unk_id is None:
                    raise InputError(
                        f"{where}: word {word!r} at offset {m.start(1)} is not in the model's "
                        "vocabulary"
                    )
                tid = self.unk_id
            ids.append(tid)
            display.append(m.group(0))
        return Tokenized(ids=np.asarray(ids, dtype=np.int64), display=display)

    def id_display(self, token_id: int) -> str:
        """The word of ``token_id`` (``<unk>`` for unknown ids)."""
        return self._inverse.get(int(token_id), "<unk>")


def as_tokenizer(tok: Any) -> TextTokenizer:
    """A tokenizer object as it is, or one built from a vocabulary (characters or tokens)."""
    if hasattr(tok, "encode") and hasattr(tok, "id_display") and hasattr(tok, "vocab_size"):
        return tok  # type: ignore[no-any-return]
    if isinstance(tok, str):
        return CharTokenizer(tok)
    if isinstance(tok, (Mapping, list, tuple)):
        keys = list(tok.keys()) if isinstance(tok, Mapping) else list(tok)
        if keys and all(isinstance(k, str) and len(k) == 1 for k in keys):
            return CharTokenizer(tok)
        return WordTokenizer(tok)
    raise InputError(
        f"tokenizer of type {type(tok).__name__} is not supported: pass a CharTokenizer, "
        "a WordTokenizer, a string of characters or a {token: id} dict"
    )


def load_vocab(path: str | Path) -> dict[str, int]:
    """Read a vocabulary file: JSON (``{token: id}`` or a list) or text, one token a line.

    Raises:
        InputError: the file is missing or malformed.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"vocabulary file not found: {p}")
    try:
        raw = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: vocabulary file is not UTF-8 ({e.reason})") from e
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InputError(f"{p}: not valid JSON ({e.msg} at line {e.lineno})") from e
        if isinstance(data, dict) and all(isinstance(v, int) for v in data.values()):
            return _vocab_from(data)
        if isinstance(data, list) and all(isinstance(v, str) for v in data):
            return _vocab_from(data)
        raise InputError(f"{p}: expected a JSON object token -> id or a list of tokens")
    lines = raw.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return _vocab_from(lines)
