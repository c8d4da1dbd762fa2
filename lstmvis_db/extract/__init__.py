"""Bring your own model: extract states from PyTorch, Keras and Hugging Face models.

The pieces:

* :class:`Adapter` (``base.py``): the small interface a model family implements: it lists its
  sources (:class:`SourceSpec`), tokenizes text (:class:`Tokenized`) and maps a token id
  sequence to ``(source_name, layer, kind) -> (n, D) float32`` chunks (:class:`ChunkOutput`),
  carrying recurrent state or working in windows.
* :func:`extract_project` (``driver.py``): texts + adapter -> a project file, in chunks with
  bounded memory, written atomically through ``lstmvis_db.store.write_project``.
* Adapters: :func:`rnn_adapter` (``nn.LSTM``/``nn.GRU``/``nn.RNN``, unrolled per layer),
  :func:`keras_adapter` (Keras HDF5 weights incl. CuDNNLSTM), :func:`load_hf`
  (transformers folders and GGUF files), :func:`hf_adapter` (a transformers model in
  memory), :func:`load_model` (any of them from a CLI string).
* :func:`add_track` (``tracks.py``): an annotation track from a CSV/Parquet file.

Importing this package does not import torch or transformers; the adapters do, when called.

Modules: ``base.py`` (the interface, tokenizers), ``texts.py`` (reading texts, documents),
``driver.py`` (``extract_project`` by phases) with ``phases.py`` (windows, running into temporary
arrays), the recurrent family in ``weights.py`` (weights in PyTorch's layout), ``unroll.py``
(running them step by step), ``rnn.py`` (the adapter) and ``factory.py`` (user factory files),
``keras.py`` (Keras HDF5 weights), ``hf.py`` (the transformers adapter) with ``hf_arch.py``
(blocks, MLPs and attention found from the architecture) and ``hf_load.py`` (offline loading,
GGUF, packaged models, devices), ``provenance.py`` (checksums, GGUF headers), ``models.py``
(``--model`` strings), ``tracks.py`` and ``cli.py``.

May import: numpy, the core (``errors``, ``types``, ``store``, ``progress``); torch, h5py and
transformers only inside the functions that need them; never the app, demos, views or bench.

Example::

    from pathlib import Path
    from lstmvis_db.extract import CharTokenizer, extract_project, rnn_adapter
    adapter = rnn_adapter(lstm, CharTokenizer("abc ()"), embedding=emb)
    extract_project(adapter, [Path("corpus/")], "out.duckdb", documents="by-line")
"""

from __future__ import annotations

from typing import Any

from lstmvis_db.extract.base import (
    Adapter,
    CharTokenizer,
    ChunkOutput,
    SourceKey,
    SourceSpec,
    TextTokenizer,
    Tokenized,
    WordTokenizer,
    load_vocab,
)
from lstmvis_db.extract.driver import (
    DEFAULT_CHUNK,
    DEFAULT_MAX_GB,
    DEFAULT_TOPK,
    ExtractSummary,
    extract_project,
    select_sources,
)
from lstmvis_db.extract.models import load_model
from lstmvis_db.extract.texts import DOCUMENT_MODES, read_texts, split_documents
from lstmvis_db.extract.tracks import add_track, read_track_file

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_MAX_GB",
    "DEFAULT_TOPK",
    "DOCUMENT_MODES",
    "Adapter",
    "CharTokenizer",
    "ChunkOutput",
    "ExtractSummary",
    "SourceKey",
    "SourceSpec",
    "TextTokenizer",
    "Tokenized",
    "WordTokenizer",
    "add_track",
    "extract_project",
    "hf_adapter",
    "keras_adapter",
    "load_hf",
    "load_model",
    "load_vocab",
    "packaged_models",
    "read_texts",
    "read_track_file",
    "rnn_adapter",
    "select_sources",
    "split_documents",
]


def rnn_adapter(*args: Any, **kwargs: Any) -> Any:
    """See :func:`lstmvis_db.extract.rnn.rnn_adapter` (imported lazily: needs torch)."""
    from lstmvis_db.extract.rnn import rnn_adapter as impl

    return impl(*args, **kwargs)


def keras_adapter(*args: Any, **kwargs: Any) -> Any:
    """See :func:`lstmvis_db.extract.keras.keras_adapter` (needs h5py and torch)."""
    from lstmvis_db.extract.keras import keras_adapter as impl

    return impl(*args, **kwargs)


def load_hf(*args: Any, **kwargs: Any) -> Any:
    """See :func:`lstmvis_db.extract.hf_load.load_hf` (needs torch and transformers)."""
    from lstmvis_db.extract.hf_load import load_hf as impl

    return impl(*args, **kwargs)


def hf_adapter(model: Any, tokenizer: Any, name: str = "transformer") -> Any:
    """An adapter for a transformers model and tokenizer already in memory (see ``hf.py``)."""
    from lstmvis_db.extract.hf import HFAdapter
    from lstmvis_db.extract.provenance import tensors_sha256, tokenizer_sha256

    prov = {"weights_sha256_tensors": tensors_sha256(model.state_dict().items()),
            "tokenizer_sha256": tokenizer_sha256(tokenizer), "path": "(a model in memory)"}
    return HFAdapter(model, tokenizer, name=name, provenance=prov)


def packaged_models() -> dict[str, Any]:
    """See :func:`lstmvis_db.extract.hf_load.packaged_models` (imports nothing heavy)."""
    from lstmvis_db.extract.hf_load import packaged_models as impl

    return impl()
