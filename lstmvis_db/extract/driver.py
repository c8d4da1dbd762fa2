"""The extraction driver: texts + adapter -> one project file, with bounded memory."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import Adapter, SourceSpec
from lstmvis_db.extract.phases import Processing, StateArrays, plan_processing, run_documents, terminate_cleanly
from lstmvis_db.extract.texts import TextInput, read_texts, split_documents
from lstmvis_db.progress import Counter, Progress, ProgressArg
from lstmvis_db.types import Document, ProjectData, Source, Track

DEFAULT_CHUNK = 512
"""Tokens per call of a recurrent model (transformers default to their full context)."""
DEFAULT_TOPK = 5
DEFAULT_MAX_GB = 4.0
DEFAULT_WINDOW_GB = 4.0
"""Memory one transformer forward pass may take; it bounds the window and the batch."""
TOPK_TRACK = "next_token"
CONTEXT_TRACK = "context"


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


def extract_project(
    adapter: Adapter,
    texts: TextInput | Iterable[TextInput] | Mapping[str, str],
    out_db: str | Path,
    *,
    layers: Iterable[int] | None = None,
    kinds: Iterable[str] | None = None,
    documents: str = "by-file",
    separator: str = "\n\n",
    chunk: int | None = None,
    stride: int | None = None,
    topk: int = DEFAULT_TOPK,
    max_gb: float = DEFAULT_MAX_GB,
    window_gb: float = DEFAULT_WINDOW_GB,
    reset_every: int | str = "doc",
    glob: str | None = None,
    name: str | None = None,
    description: str = "",
    overwrite: bool = False,
    progress: ProgressArg = False,
    value_dtype: str = "float32",
    sae: Any = None,
) -> ExtractSummary:
    """Run a model over texts and write the states as a new project file.

    Documents are independent: recurrent state starts from zeros at each document (and every
    ``reset_every`` tokens when given) and transformer windows never cross one.  Recurrent
    models run in chunks of ``chunk`` tokens (default 512) with the state carried across
    (bidirectional ones see the whole document at once).  Transformers see full context: each
    position is computed with every earlier token of its document, up to the model's maximum
    context (cut to what a forward pass within ``window_gb`` holds, or to ``chunk``); longer
    documents go in sliding windows advancing by ``stride`` (default half a window, so the
    overlap is half a window).  The ``context`` track stores how many tokens each position had
    in view.  States go to memory-mapped files in a temporary folder beside ``out_db``
    (removed on errors, Ctrl-C and SIGTERM); the project is written atomically by the store.

    Args:
        adapter: the model (``rnn_adapter``, ``keras_adapter``, ``load_hf``, ``load_model``).
        texts: paths (``Path``), ``(name, text)`` pairs, plain strings or ``{name: text}``.
        out_db: the project file to create.
        layers: layers to extract (None = all the adapter offers).
        kinds: kinds to extract (``hidden``, ``cell``, ``mlp``, ...; None = all).
        documents: ``by-file``, ``by-line`` or ``by-separator``.
        separator: the separator for ``by-separator``.
        chunk: recurrent models: tokens per call (default 512); transformers: a window shorter
            than their full context (default: the full context).
        stride: new tokens per window for windowed models (default half a window).
        topk: top-k next-token predictions to store (0 = none; causal models only).
        max_gb: refuse when N tokens x total cells x 4 bytes exceeds this many GB.
        window_gb: memory one transformer forward pass may take (bounds window and batch).
        reset_every: recurrent models: ``"doc"`` (state from zeros at each document) or N
            (also every N tokens within a document).
        glob: for folders, read only files whose path relative to the folder matches.
        name: project name (default: the file name without extension).
        description: project description.
        overwrite: replace an existing ``out_db``.
        value_dtype: ``float32`` (exact) or ``float16`` (values rounded at ingest, half the rows).
        sae: an ``lstmvis_db.sae.SaeRequest`` (or just an SAE: directory, ``Sae`` or sae_lens-like
            object): its latents over the extracted source it reads become one more, sparse,
            source of the project (docs/extraction.md §Applying an SAE); checked before the model runs.
        progress: False, True (a bar on a terminal, log lines otherwise; see
            :mod:`lstmvis_db.progress`) or a callback ``(label, fraction)`` called while
            extracting and again while the store writes the file.

    Raises:
        InputError: bad texts, model/tokenizer mismatch, unknown layer or kind, memory
            budget exceeded, an existing output file; nothing is written then.
    """
    t0 = time.monotonic()
    out = Path(out_db)
    _check_options(out, overwrite, chunk, topk, max_gb)
    specs = select_sources(adapter.sources(), layers, kinds)
    sae_plan = _sae_plan(sae, specs)
    k = topk if adapter.can_predict else 0  # top-k predictions to store
    how = plan_processing(adapter, chunk, stride, window_gb=window_gb, reset_every=reset_every, topk=k)
    skipped: list[str] = []
    inputs = read_texts(texts, glob=glob, skipped=skipped)
    tok = _tokenize(adapter, split_documents(inputs, documents, separator), inputs, documents)
    _check_budget(tok.n_total, specs, k, max_gb)
    with terminate_cleanly():
        try:
            tmp = Path(tempfile.mkdtemp(prefix=".lstmvis-extract-", dir=out.parent))
        except OSError as e:
            raise InputError(f"{out.parent}: cannot create a temporary folder ({e.strerror})") from e
        bar = Progress(progress)
        try:
            states = StateArrays(specs, tok.n_total, tmp, k, adapter.model)
            counter = Counter(bar, tok.n_total, f"extract {adapter.model}")
            run_documents(adapter, [(d.first_pos, ids) for d, ids in zip(tok.rows, tok.ids)], states, how, k,
                          counter)
            states.flush()
            settings = _settings(adapter, specs, how, documents, separator, inputs, k)
            settings.update({"extract.skipped": json.dumps(skipped)} if skipped else {})
            settings.update({"extract.glob": glob} if glob else {})
            data = _project_data(adapter, tok, states, how, name or out.stem, description, len(inputs), settings)
            if sae_plan is not None:  # its latents, encoded from the memory-mapped states a block at a time
                data.sources = [*data.sources, sae_plan.sparse_source(data.sources)]
            from lstmvis_db.store import write_project

            # atomic: built under a temporary name, renamed over ``out`` only when complete
            write_project(out, data, progress=progress, value_dtype=value_dtype)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return _summary(out, data, specs, time.monotonic() - t0)


def _sae_plan(sae: Any, specs: Sequence[SourceSpec]) -> Any:
    """The checked SAE request (``sae.apply.plan``), or None."""
    if sae is None:
        return None
    from lstmvis_db.sae.apply import SaeRequest, plan

    return plan(sae if isinstance(sae, SaeRequest) else SaeRequest(sae), specs)


def _check_options(out: Path, overwrite: bool, chunk: int | None, topk: int, max_gb: float) -> None:
    """Refuse an existing output (unless ``overwrite``), a missing folder or bad numbers."""
    if out.exists() and not overwrite:
        raise InputError(f"{out}: already exists (pass overwrite / --force to replace it)")
    if not out.parent.is_dir():
        raise InputError(f"{out.parent}: output folder does not exist")
    if chunk is not None and int(chunk) < 1:
        raise InputError(f"chunk size {chunk} must be at least 1")
    if topk < 0:
        raise InputError(f"top-k {topk} must be 0 or more")
    if not (max_gb > 0):
        raise InputError(f"memory budget {max_gb} GB must be positive")


@dataclass(frozen=True)
class _Tokens:
    """Every document's ids, the display form of every token and the document rows."""

    ids: list[np.ndarray]
    tokens: list[str]
    rows: list[Document]
    n_total: int


def _tokenize(adapter: Adapter, docs: Sequence[Any], inputs: Sequence[Any], documents: str) -> _Tokens:
    """Tokenize every document; documents without tokens are dropped (an input is not).

    Raises:
        InputError: an input with no tokens, or a tokenizer whose ids and tokens disagree.
    """
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
    return _Tokens(doc_ids, tokens, doc_rows, pos)


def _check_budget(n_total: int, specs: Sequence[SourceSpec], topk: int, max_gb: float) -> None:
    """Refuse when the states (and top-k predictions) would exceed ``max_gb``."""
    width = sum(s.n_cells for s in specs)
    estimate = n_total * width * 4 + n_total * topk * 12
    if estimate > max_gb * 1e9:
        raise InputError(
            f"estimated {estimate / 1e9:.2f} GB of states ({n_total} tokens x {width} cells x "
            f"4 bytes) exceeds the {max_gb:g} GB budget: choose fewer layers or kinds, less "
            "text, or raise --max-gb"
        )


def _settings(adapter: Adapter, specs: Sequence[SourceSpec], how: Processing, documents: str,
              separator: str, inputs: Sequence[Any], topk: int) -> dict[str, str]:
    """The ``extract.*`` settings recorded in the project: how the states were made and from what."""
    from lstmvis_db.extract.provenance import corpus_sha256

    settings: dict[str, str] = {
        "extract.adapter": adapter.family,
        "extract.model": adapter.model,
        "extract.documents": documents,
        "extract.chunk": str(how.window),
        "extract.processing": how.describe(),
        "extract.layers": ",".join(str(x) for x in sorted({s.layer for s in specs})),
        "extract.kinds": ",".join(dict.fromkeys(s.kind for s in specs)),
        "extract.sources": ",".join(s.source for s in specs),
        "extract.topk": str(topk),
        "extract.inputs": json.dumps([t.name for t in inputs]),
        "extract.corpus_sha256": corpus_sha256(inputs),
        "extract.corpus_chars": str(sum(len(t.text) for t in inputs)),
        "extract.created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if how.windowed:
        settings.update({"extract.window": str(how.window), "extract.stride": str(how.step),
                         "extract.overlap": str(how.overlap), "extract.window_reason": how.window_reason,
                         "extract.window_gb": f"{how.budget_bytes / 1e9:g}"})
    else:
        settings["extract.reset_every"] = str(how.reset) if how.reset else "doc"
    hooks = getattr(adapter, "hooks", None)
    if hooks is not None:
        settings["extract.hooks"] = "; ".join(hooks([s.key for s in specs]))
    if documents == "by-separator":
        settings["extract.separator"] = json.dumps(separator)
    for k, v in adapter.settings().items():
        settings[f"extract.model.{k}"] = str(v)
    return settings


def _sources(adapter: Adapter, specs: Sequence[SourceSpec], states: StateArrays, how: Processing) -> list[Source]:
    """One stored source per extracted one."""
    return [
        Source(
            source=s.source,
            values=states.arrays[s.key],
            model=adapter.model,
            layer=s.layer,
            kind=s.kind,
            transform="none",
            unsigned=False,
            description=f"{s.description}; {adapter.family} adapter; {how.describe()}",
        )
        for s in specs
    ]


def _tracks(adapter: Adapter, states: StateArrays, how: Processing) -> list[Track]:
    """The context-length track, and the top-k prediction track when the model made predictions."""
    ctx = Track(
        track=CONTEXT_TRACK,
        kind="scalar",
        description="tokens of its document the model had in view at each position, itself included "
        f"(left context; {how.describe()})",
        values=states.context.astype(np.float64),
        min=0.0,
        max=float(max(1, int(states.context.max(initial=1)))),
    )
    top = states.predictions()
    if top is None:
        return [ctx]
    top_ids, top_scores = top
    uniq, inverse = np.unique(top_ids, return_inverse=True)
    shown = np.asarray(adapter.token_display(uniq.tolist()), dtype=object)
    return [
        ctx,
        Track(
            track=TOPK_TRACK,
            kind="topk",
            description=f"top-{top_ids.shape[1]} next-token predictions of {adapter.model} "
            "(softmax probability), made at each position",
            topk_tokens=shown[inverse.reshape(top_ids.shape)],
            topk_scores=top_scores,
        )
    ]


def _project_data(adapter: Adapter, tok: _Tokens, states: StateArrays, how: Processing, name: str,
                  description: str, n_inputs: int, settings: dict[str, str]) -> ProjectData:
    """Everything the store writes: tokens, documents, sources, tracks and settings."""
    return ProjectData(
        name=name,
        tokens=tok.tokens,
        sources=_sources(adapter, states.specs, states, how),
        description=description or f"{adapter.model} ({adapter.family}) states over {n_inputs} input(s)",
        origin=f"lstmvis-db extract: {adapter.family} model {adapter.model}",
        token_ids=np.concatenate(tok.ids),
        documents=tok.rows,
        tracks=_tracks(adapter, states, how),
        extra=settings,
    )


def _summary(out: Path, data: ProjectData, specs: Sequence[SourceSpec], seconds: float) -> ExtractSummary:
    """What :func:`extract_project` returns."""
    return ExtractSummary(
        db=str(out),
        name=data.name,
        tokens=len(data.tokens),
        documents=len(data.documents or []),
        sources=[
            {"source": s.source, "n_cells": s.n_cells, "layer": s.layer, "kind": s.kind,
             "transform": "none"}
            for s in specs
        ] + [{"source": s.source, "n_cells": int(s.values.shape[1]), "layer": s.layer, "kind": s.kind,
              "transform": "none"} for s in data.sources if s.layout == "sparse"],
        tracks=[{"track": t.track, "kind": t.kind} for t in data.tracks or []],
        seconds=seconds,
        settings=dict(data.extra or {}),
    )
