"""The extraction driver: texts + adapter -> one project file, with bounded memory."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import Adapter, SourceKey, SourceSpec
from lstmvis_db.extract.texts import TextInput, read_texts, split_documents
from lstmvis_db.types import Document, ProjectData, Source, Track

DEFAULT_CHUNK = 512
DEFAULT_TOPK = 5
DEFAULT_MAX_GB = 4.0
TOPK_TRACK = "next_token"

ProgressArg = bool | Callable[[str, float], None]
"""False, True (bars on stderr) or a callback ``(label, fraction_done)``, as the store's."""


@dataclass(frozen=True)
class ExtractSummary:
    """What an extraction produced (printed by ``extract --json``)."""

    db: str
    name: str
    tokens: int
    documents: int
    sources: list[dict[str, Any]]
    tracks: list[dict[str, str]]
    seconds: float
    settings: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "db": self.db,
            "name": self.name,
            "tokens": self.tokens,
            "documents": self.documents,
            "sources": self.sources,
            "tracks": self.tracks,
            "seconds": round(self.seconds, 3),
            "settings": self.settings,
        }


def select_sources(
    specs: Sequence[SourceSpec],
    layers: Iterable[int] | None = None,
    kinds: Iterable[str] | None = None,
) -> list[SourceSpec]:
    """The sources of the given layers and kinds (None = all), in the adapter's order.

    Raises:
        InputError: a layer or kind the model does not have, or nothing left to extract.
    """
    have_layers = sorted({s.layer for s in specs})
    have_kinds = list(dict.fromkeys(s.kind for s in specs))
    want_layers = None if layers is None else list(dict.fromkeys(int(x) for x in layers))
    want_kinds = None if kinds is None else list(dict.fromkeys(str(k) for k in kinds))
    for layer in want_layers or []:
        if layer not in have_layers:
            raise InputError(
                f"layer {layer} does not exist: the model has layers "
                f"{have_layers[0]}..{have_layers[-1]}"
            )
    for kind in want_kinds or []:
        if kind not in have_kinds:
            raise InputError(f"kind {kind!r} does not exist: the model has {', '.join(have_kinds)}")
    out = [
        s
        for s in specs
        if (want_layers is None or s.layer in want_layers)
        and (want_kinds is None or s.kind in want_kinds)
    ]
    if not out:
        raise InputError(f"no source has layers {want_layers} and kinds {want_kinds}")
    return out


class _Progress:
    """Token counter feeding a callback ``(label, fraction)`` or a tqdm bar on stderr."""

    def __init__(self, progress: ProgressArg, total: int, label: str):
        self.total = max(total, 1)
        self.label = label
        self.done = 0
        self.callback: Callable[[str, float], None] | None = progress if callable(progress) else None
        self.bar: Any = None
        if progress is True:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="tok", desc=label, file=sys.stderr)
            except ImportError:  # pragma: no cover - tqdm comes with transformers
                self.bar = None

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        if self.callback is not None:
            self.callback(self.label, self.done / self.total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _plan_windows(n: int, window: int, stride: int) -> list[tuple[int, int, int]]:
    """``(start, end, keep_from)`` windows covering ``[0, n)``.

    The first window keeps all its positions; each later one advances by ``stride`` and keeps
    only its last ``stride`` positions, which have ``window - stride`` tokens of left context.
    """
    plan = []
    done = 0
    while done < n:
        end = min(n, done + (window if done == 0 else stride))
        start = max(0, end - window)
        plan.append((start, end, done - start))
        done = end
    return plan


def extract_project(
    adapter: Adapter,
    texts: TextInput | Iterable[TextInput] | Mapping[str, str],
    out_db: str | Path,
    *,
    layers: Iterable[int] | None = None,
    kinds: Iterable[str] | None = None,
    documents: str = "by-file",
    separator: str = "\n\n",
    chunk: int = DEFAULT_CHUNK,
    stride: int | None = None,
    topk: int = DEFAULT_TOPK,
    max_gb: float = DEFAULT_MAX_GB,
    name: str | None = None,
    description: str = "",
    overwrite: bool = False,
    progress: ProgressArg = False,
) -> ExtractSummary:
    """Run a model over texts and write the states as a new project file.

    Documents are independent: recurrent state starts from zeros at each document and
    transformer windows never cross one.  Within a document, recurrent models run in chunks
    of ``chunk`` tokens with the state carried across (bidirectional ones see the whole
    document at once); transformers run in windows of ``min(chunk, context)`` tokens that
    advance by ``stride`` (default half a window).  States go to memory-mapped files in a
    temporary folder beside ``out_db``; the project is written atomically by the store.

    Args:
        adapter: the model (``rnn_adapter``, ``keras_adapter``, ``load_hf``, ``load_model``).
        texts: paths (``Path``), ``(name, text)`` pairs, plain strings or ``{name: text}``.
        out_db: the project file to create.
        layers: layers to extract (None = all the adapter offers).
        kinds: kinds to extract (``hidden``, ``cell``, ``mlp``, ...; None = all).
        documents: ``by-file``, ``by-line`` or ``by-separator``.
        separator: the separator for ``by-separator``.
        chunk: tokens per model call.
        stride: new tokens per window for windowed models (default half a window).
        topk: top-k next-token predictions to store (0 = none; causal models only).
        max_gb: refuse when N tokens x total cells x 4 bytes exceeds this many GB.
        name: project name (default: the file name without extension).
        description: project description.
        overwrite: replace an existing ``out_db``.
        progress: False, True (bars on stderr) or a callback ``(label, fraction)`` called
            while extracting and again while the store writes the file.

    Raises:
        InputError: bad texts, model/tokenizer mismatch, unknown layer or kind, memory
            budget exceeded, an existing output file; nothing is written then.
    """
    t0 = time.monotonic()
    out = Path(out_db)
    if out.exists() and not overwrite:
        raise InputError(f"{out}: already exists (pass overwrite / --force to replace it)")
    if not out.parent.is_dir():
        raise InputError(f"{out.parent}: output folder does not exist")
    if int(chunk) < 1:
        raise InputError(f"chunk size {chunk} must be at least 1")
    if topk < 0:
        raise InputError(f"top-k {topk} must be 0 or more")
    if not (max_gb > 0):
        raise InputError(f"memory budget {max_gb} GB must be positive")

    specs = select_sources(adapter.sources(), layers, kinds)
    inputs = read_texts(texts)
    docs = split_documents(inputs, documents, separator)

    # tokenize every document
    doc_ids: list[np.ndarray] = []
    tokens: list[str] = []
    doc_rows: list[Document] = []
    kept_origins: set[str] = set()
    pos = 0
    for d in docs:
        tok = adapter.tokenize(d.text, d.name)
        n = len(tok.ids)
        if len(tok.display) != n:
            raise InputError(f"{d.name}: the tokenizer gave {n} ids but {len(tok.display)} tokens")
        if n == 0:
            if documents == "by-file":
                raise InputError(f"{d.name}: empty text (no tokens)")
            continue
        doc_ids.append(np.asarray(tok.ids, dtype=np.int64))
        tokens.extend(tok.display)
        doc_rows.append(Document(d.name, pos, pos + n - 1))
        kept_origins.add(d.origin)
        pos += n
    for t in inputs:
        if t.name not in kept_origins:
            raise InputError(f"{t.name}: empty text (no tokens)")
    n_total = pos

    # memory budget
    width = sum(s.n_cells for s in specs)
    predict = bool(topk) and adapter.can_predict
    estimate = n_total * width * 4 + (n_total * topk * 12 if predict else 0)
    if estimate > max_gb * 1e9:
        raise InputError(
            f"estimated {estimate / 1e9:.2f} GB of states ({n_total} tokens x {width} cells x "
            f"4 bytes) exceeds the {max_gb:g} GB budget: choose fewer layers or kinds, less "
            "text, or raise --max-gb"
        )

    context = adapter.max_context
    windowed = context is not None
    window = min(int(chunk), int(context)) if context is not None else int(chunk)
    step = window
    if windowed:
        step = int(stride) if stride is not None else max(1, window // 2)
        if not 1 <= step <= window:
            raise InputError(f"stride {stride} must be between 1 and the window of {window} tokens")

    keys: list[SourceKey] = [s.key for s in specs]
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".lstmvis-extract-", dir=out.parent))
    except OSError as e:
        raise InputError(f"{out.parent}: cannot create a temporary folder ({e.strerror})") from e
    bar = _Progress(progress, n_total, f"extract {adapter.model}")
    try:
        arrays: dict[SourceKey, np.memmap] = {
            s.key: np.memmap(tmp / f"{i}.f32", dtype=np.float32, mode="w+", shape=(n_total, s.n_cells))
            for i, s in enumerate(specs)
        }
        top_ids = np.zeros((n_total, topk), dtype=np.int64) if predict else None
        top_scores = np.zeros((n_total, topk), dtype=np.float32) if predict else None
        k_seen = [topk]  # a vocabulary smaller than k gives fewer predictions

        def store(base: int, lo: int, hi: int, result: Any) -> None:
            for s in specs:
                mat = result.states.get(s.key)
                if mat is None or mat.shape != (hi - lo, s.n_cells):
                    got = None if mat is None else mat.shape
                    raise InputError(
                        f"adapter {adapter.model!r} returned {got} for source {s.source}, "
                        f"expected {(hi - lo, s.n_cells)}"
                    )
                if not np.isfinite(mat).all():
                    bad = int(np.argwhere(~np.isfinite(mat))[0][0]) + base + lo
                    raise InputError(
                        f"source {s.source}: the model produced a non-finite value at position {bad}"
                    )
                arrays[s.key][base + lo : base + hi] = mat
            if top_ids is not None and top_scores is not None:
                if result.topk_ids is None or result.topk_scores is None:
                    raise InputError(f"adapter {adapter.model!r} returned no top-k predictions")
                k = result.topk_ids.shape[1]
                k_seen[0] = min(k_seen[0], k)
                top_ids[base + lo : base + hi, :k] = result.topk_ids
                top_scores[base + lo : base + hi, :k] = result.topk_scores
            bar.update(hi - lo)

        for drow, ids in zip(doc_rows, doc_ids):
            base, n = drow.first_pos, len(ids)
            if windowed:
                for start, end, keep in _plan_windows(n, window, step):
                    res, _ = adapter.run(ids[start:end], keys, None, topk=topk if predict else 0, keep_from=keep)
                    store(base, start + keep, end, res)
            elif adapter.whole_document:
                res, _ = adapter.run(ids, keys, None, topk=topk if predict else 0)
                store(base, 0, n, res)
            else:
                state = None
                for lo in range(0, n, window):
                    hi = min(n, lo + window)
                    res, state = adapter.run(ids[lo:hi], keys, state, topk=topk if predict else 0)
                    store(base, lo, hi, res)
        for arr in arrays.values():
            arr.flush()
        bar.close()

        adapter_settings = adapter.settings()
        if windowed:
            how = (
                f"windows of {window} tokens advancing by {step}: after the first window each "
                f"position is computed with at least {window - step} earlier tokens of its "
                "document in view; windows never cross documents"
            )
        elif adapter.whole_document:
            how = "each document in one pass (bidirectional); state starts from zeros per document"
        else:
            how = (
                f"chunks of {window} tokens with the recurrent state carried across chunks; "
                "state starts from zeros at each document"
            )
        settings: dict[str, str] = {
            "extract.adapter": adapter.family,
            "extract.model": adapter.model,
            "extract.documents": documents,
            "extract.chunk": str(window),
            "extract.processing": how,
            "extract.layers": ",".join(str(x) for x in sorted({s.layer for s in specs})),
            "extract.kinds": ",".join(dict.fromkeys(s.kind for s in specs)),
            "extract.topk": str(topk if predict else 0),
            "extract.inputs": json.dumps([t.name for t in inputs]),
            "extract.created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if windowed:
            settings["extract.stride"] = str(step)
        if documents == "by-separator":
            settings["extract.separator"] = json.dumps(separator)
        for k, v in adapter_settings.items():
            settings[f"extract.model.{k}"] = str(v)

        sources = [
            Source(
                source=s.source,
                values=arrays[s.key],
                model=adapter.model,
                layer=s.layer,
                kind=s.kind,
                transform="none",
                unsigned=False,
                description=f"{s.description}; {adapter.family} adapter; {how}",
            )
            for s in specs
        ]
        tracks: list[Track] = []
        if top_ids is not None and top_scores is not None:
            top_ids, top_scores = top_ids[:, : k_seen[0]], top_scores[:, : k_seen[0]]
            uniq, inverse = np.unique(top_ids, return_inverse=True)
            shown = np.asarray(adapter.token_display(uniq.tolist()), dtype=object)
            tracks.append(
                Track(
                    track=TOPK_TRACK,
                    kind="topk",
                    description=f"top-{k_seen[0]} next-token predictions of {adapter.model} "
                    "(softmax probability), made at each position",
                    topk_tokens=shown[inverse.reshape(top_ids.shape)],
                    topk_scores=top_scores,
                )
            )
        project_name = name or out.stem
        data = ProjectData(
            name=project_name,
            tokens=tokens,
            sources=sources,
            description=description
            or f"{adapter.model} ({adapter.family}) states over {len(inputs)} input(s)",
            origin=f"lstmvis-db extract: {adapter.family} model {adapter.model}",
            token_ids=np.concatenate(doc_ids),
            documents=doc_rows,
            tracks=tracks,
            extra=settings,
        )
        from lstmvis_db.store import write_project

        # atomic: built under a temporary name, renamed over ``out`` only when complete
        write_project(out, data, progress=progress)
    finally:
        bar.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return ExtractSummary(
        db=str(out),
        name=project_name,
        tokens=n_total,
        documents=len(doc_rows),
        sources=[
            {"source": s.source, "n_cells": s.n_cells, "layer": s.layer, "kind": s.kind,
             "transform": "none"}
            for s in specs
        ],
        tracks=[{"track": t.track, "kind": t.kind} for t in tracks],
        seconds=time.monotonic() - t0,
        settings=settings,
    )
