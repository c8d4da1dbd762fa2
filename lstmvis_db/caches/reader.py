"""A whole activation cache: the checking pass, the sources read lazily, ``import_cache``.

May import: numpy, pyarrow, ``lstmvis_db.errors``, ``lstmvis_db.store``, ``lstmvis_db.types``,
the other ``caches`` modules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lstmvis_db.caches.arrays import activation_rows, is_activation_type, is_token_type, token_rows
from lstmvis_db.caches.files import BATCH_BYTES, CacheFiles, find_files, iter_batches
from lstmvis_db.caches.tokens import TokenSource, check_text, load_tokenizer, load_vocab_file, token_strings
from lstmvis_db.errors import InputError
from lstmvis_db.types import Document, ProjectData, Source

TOKENS_COLUMN = "token_ids"
_LAYER_RE = re.compile(r"(?:^|\.)(?:blocks|layers|layer|h)\.(\d+)(?:\.|$)")


@dataclass
class CacheInfo:
    """What the checking pass found: rows, positions, each activation column's width."""

    files: CacheFiles
    tokens_column: str
    columns: list[str]
    widths: dict[str, int]
    lengths: np.ndarray  # tokens per row
    ids: np.ndarray  # every token id, row after row
    batch_rows: int
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def starts(self) -> np.ndarray:
        """The first position of every row."""
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)

    @property
    def n(self) -> int:
        return int(self.lengths.sum())


def layer_and_kind(column: str) -> tuple[int, str]:
    """``blocks.15.hook_resid_pre`` -> ``(15, "resid_pre")``; no layer number -> 0."""
    m = _LAYER_RE.search(column)
    layer = int(m.group(1)) if m else 0
    tail = column.rsplit(".", 1)[-1]
    return layer, tail.removeprefix("hook_") or column


class CacheColumn:
    """One activation column as an ``(N, d)`` array that slices like numpy, read in bounded
    batches front to back (a slice before the current batch starts a new pass)."""

    def __init__(self, info: CacheInfo, column: str) -> None:
        self.info = info
        self.column = column
        self.shape = (info.n, info.widths[column])
        self.dtype = np.dtype(np.float32)
        self._blocks: Iterator[tuple[int, np.ndarray]] | None = None
        self._cur: tuple[int, np.ndarray] | None = None

    def _stream(self) -> Iterator[tuple[int, np.ndarray]]:
        pos, row = 0, 0
        d = self.shape[1]
        for batch in iter_batches(self.info.files, [self.column], self.info.batch_rows):
            got = activation_rows(batch.column(self.column), self.column, row, d)
            row += batch.num_rows
            yield pos, got.values
            pos += len(got.values)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("a cache column is read by contiguous row slices only")
        a, b, _ = key.indices(self.shape[0])
        out = np.empty((max(0, b - a), self.shape[1]), np.float32)
        if b <= a:
            return out
        if self._cur is None or a < self._cur[0]:
            self._blocks = self._stream()
            self._cur = next(self._blocks)
        at = a
        while at < b:
            start, block = self._cur
            end = start + len(block)
            if at >= end:
                assert self._blocks is not None
                self._cur = next(self._blocks)
                continue
            stop = min(b, end)
            out[at - a:stop - a] = block[at - start:stop - start]
            at = stop
        return out


def _columns(files: CacheFiles, tokens_column: str, wanted: Sequence[str] | None) -> list[str]:
    schema = files.schema
    if tokens_column not in schema.names:
        raise InputError(f"{files.path}: no {tokens_column!r} column (columns: {', '.join(schema.names)}); "
                         "name the token id column with --tokens-column")
    if not is_token_type(schema.field(tokens_column).type):
        raise InputError(f"{files.path}: column {tokens_column!r} is {schema.field(tokens_column).type}, not a list "
                         "of integer token ids per row")
    acts = [f.name for f in schema if f.name != tokens_column and is_activation_type(f.type)]
    if wanted:
        for c in wanted:
            if c not in schema.names:
                raise InputError(f"{files.path}: no column {c!r} (columns: {', '.join(schema.names)})")
            if c not in acts:
                raise InputError(f"{files.path}: column {c!r} is {schema.field(c).type}, not a (tokens x d_in) "
                                 "array of numbers per row")
        acts = list(dict.fromkeys(wanted))
    if not acts:
        raise InputError(f"{files.path}: no activation column (a tokens x d_in array of numbers per row) among "
                         f"{', '.join(schema.names)}")
    return acts


def _probe_rows(files: CacheFiles, columns: list[str]) -> int:
    """Rows per streamed batch so that one batch holds about ``BATCH_BYTES`` of values."""
    first = next(iter_batches(files, columns, 1), None)
    if first is None or first.num_rows == 0:
        raise InputError(f"{files.path}: the cache has no rows")
    per_row = 0
    for c in columns[1:]:
        got = activation_rows(first.column(c), c, 0, None)
        per_row += got.values.size * 4
    return max(1, BATCH_BYTES // max(per_row, 1))


def scan(path: str | Path, tokens_column: str = TOKENS_COLUMN, columns: Sequence[str] | None = None,
         progress: Callable[[str, float], None] | None = None) -> CacheInfo:
    """Read the whole cache once and check it: every row's activations have as many vectors as
    it has token ids, one width per column, only finite numbers.  One line names the first problem."""
    files = find_files(path)
    acts = _columns(files, tokens_column, columns)
    names = [tokens_column, *acts]
    batch_rows = _probe_rows(files, names)
    widths: dict[str, int] = {}
    lengths: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    row = 0
    total = None
    if files.format == "parquet":
        import pyarrow.parquet as pq

        total = sum(pq.ParquetFile(str(f)).metadata.num_rows for f in files.files)
    for batch in iter_batches(files, names, batch_rows):
        lens, tok = token_rows(batch.column(tokens_column), tokens_column, row)
        empty = np.flatnonzero(lens == 0)
        if empty.size:
            raise InputError(f"row {row + int(empty[0])}, column {tokens_column!r}: no tokens")
        for c in acts:
            got = activation_rows(batch.column(c), c, row, widths.get(c))
            bad = np.flatnonzero(got.lengths != lens)
            if bad.size:
                r = int(bad[0])
                raise InputError(f"row {row + r}, column {c!r}: {int(got.lengths[r])} activation vectors but "
                                 f"{int(lens[r])} token ids in {tokens_column!r}")
            widths.setdefault(c, int(got.values.shape[1]))
            if widths[c] < 1:
                raise InputError(f"row {row}, column {c!r}: d_in is 0")
            finite = np.isfinite(got.values).all(axis=1)
            if not finite.all():
                at = int(np.flatnonzero(~finite)[0])
                ends = np.cumsum(lens)
                r = int(np.searchsorted(ends, at, side="right"))
                tok_i = at - (int(ends[r - 1]) if r else 0)
                cell = int(np.flatnonzero(~np.isfinite(got.values[at]))[0])
                raise InputError(f"row {row + r}, column {c!r}: non-finite value {got.values[at, cell]} at token "
                                 f"{tok_i}, unit {cell}")
        lengths.append(lens)
        ids.append(tok)
        row += batch.num_rows
        if progress is not None and total:
            progress("checking the cache", row / total)
    if row == 0:
        raise InputError(f"{files.path}: the cache has no rows")
    facts = {"format": "parquet" if files.format == "parquet" else "datasets save_to_disk (Arrow)",
             "path": str(files.path.resolve()), "files": str(len(files.files)), "rows": str(row),
             "columns": ", ".join(acts), "tokens_column": tokens_column}
    return CacheInfo(files, tokens_column, acts, widths, np.concatenate(lengths), np.concatenate(ids),
                     batch_rows, facts)


def _token_source(tokenizer: str | Path | None, vocab: str | Path | None) -> TokenSource:
    if tokenizer is not None and vocab is not None:
        raise InputError("give either a tokenizer or a vocabulary file, not both")
    if tokenizer is not None:
        return load_tokenizer(tokenizer)
    if vocab is not None:
        return load_vocab_file(vocab)
    return TokenSource()


def read_cache(
    path: str | Path,
    *,
    tokenizer: str | Path | None = None,
    vocab: str | Path | None = None,
    text: str | Path | None = None,
    columns: Sequence[str] | None = None,
    tokens_column: str = TOKENS_COLUMN,
    name: str | None = None,
    model_name: str = "",
    progress: Callable[[str, float], None] | None = None,
) -> ProjectData:
    """Check a cache and describe it as :class:`ProjectData` whose sources read the cache lazily.

    One document per row (``row 0``, ``row 1``, ...), one source per activation column (its
    name; the layer parsed from ``blocks.N.`` / ``layers.N.``; the kind from the hook's last
    part, e.g. ``resid_pre``; transform ``none``).  Tokens: see :func:`import_cache`.
    """
    src = _token_source(tokenizer, vocab)  # a missing tokenizer fails before the long scan
    info = scan(path, tokens_column, columns, progress)
    starts = info.starts
    if text is not None:
        tokens, text_facts = check_text(text, info.ids, starts, src)
    else:
        tokens, text_facts = token_strings(info.ids, starts, src), {}
    facts = {**info.facts, **src.facts, **text_facts, "tokens_from": "text" if text is not None else
             "tokenizer" if src.tokenizer is not None else "vocabulary" if src.vocab is not None else "ids"}
    label = name or info.files.path.stem or info.files.path.name
    sources = []
    for c in info.columns:
        layer, kind = layer_and_kind(c)
        sources.append(Source(source=c, values=CacheColumn(info, c), model=model_name, layer=layer, kind=kind,
                              transform="none", description=f"{c} from the activation cache {info.files.path.name}"))
    ends = starts + info.lengths - 1
    documents = [Document(f"row {i}", int(a), int(b)) for i, (a, b) in enumerate(zip(starts, ends, strict=True))]
    return ProjectData(
        name=label, tokens=tokens, sources=sources,
        description=f"activation cache {info.files.path.name}: {len(documents)} rows, {info.n} tokens, "
                    f"{len(sources)} hook(s)",
        origin=f"activation cache {info.files.path.resolve()}", token_ids=info.ids, documents=documents,
        extra={f"cache.{k}": v for k, v in facts.items()},
    )


def import_cache(
    path: str | Path,
    db_path: str | Path,
    *,
    tokenizer: str | Path | None = None,
    vocab: str | Path | None = None,
    text: str | Path | None = None,
    columns: Sequence[str] | None = None,
    tokens_column: str = TOKENS_COLUMN,
    name: str | None = None,
    model_name: str = "",
    value_dtype: str = "float32",
    progress: bool | Callable[[str, float], None] = False,
) -> ProjectData:
    """Import an activation cache (SAELens' layout) as a new project file at ``db_path``.

    Args:
        path: a ``.parquet`` file, a folder of them, or a ``datasets`` ``save_to_disk`` folder.
        tokenizer: a ``tokenizer.json`` (or its folder): ids are decoded one by one.
        vocab: a vocabulary file (JSON ``{token: id}`` / list, or one token a line) instead.
        text: the text the cache was made from; with ``tokenizer``, its encoding must give the
            cache's ids (special tokens in the cache skipped) and the token strings are the
            text's own characters.  Without either, tokens are ``<id>``.
        columns: the activation columns to import (default: every one).
        tokens_column: the token id column (default ``token_ids``).
        value_dtype: ``float32`` (exact) or ``float16`` (rounded at ingest).

    Returns the :class:`ProjectData` written (its sources read the cache lazily).
    Raises :class:`InputError` (one line) for a malformed or misaligned cache; nothing is
    written then and an existing file is kept (the store writes a temp file and renames it).
    """
    from lstmvis_db.checks import check_output_path
    from lstmvis_db.progress import Progress
    from lstmvis_db.store import write_project

    check_output_path(db_path)  # before the long read
    bar = Progress(progress)
    data = read_cache(path, tokenizer=tokenizer, vocab=vocab, text=text, columns=columns,
                      tokens_column=tokens_column, name=name, model_name=model_name, progress=bar)
    write_project(db_path, data, progress=bar, value_dtype=value_dtype)
    return data
