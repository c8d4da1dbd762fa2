"""Turn a ``--model`` argument into an adapter."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import Adapter

KERAS_SUFFIXES = (".h5", ".hdf5")


def load_model(
    spec: str,
    *,
    vocab: str | Path | None = None,
    tokenizer: str | Path | None = None,
    tokenize: str = "auto",
    recurrent_activation: str = "sigmoid",
    cudnn_layout: str = "raw",
    cache_dir: str | Path | None = None,
    name: str | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    layers: Iterable[int] | None = None,
    kinds: Iterable[str] | None = None,
    quiet: bool = False,
    topk_head: str = "auto",
) -> Adapter:
    """Load a model for extraction from a CLI-style description.

    ``spec`` is one of: a packaged model name (``smollm2-135m``, ``all-minilm-l6-v2``; see
    :func:`lstmvis_db.extract.hf_load.packaged_models`), a transformers model folder, a ``.gguf``
    file, a Keras ``.h5``/``.hdf5`` weight file (needs ``vocab``), or a PyTorch factory
    ``path/to/file.py:function`` (see :mod:`lstmvis_db.extract.factory`).

    ``device``, ``dtype``, ``quiet`` and ``topk_head`` (how top-k predictions are computed:
    ``auto``, ``bf16`` or ``float32``, see :mod:`lstmvis_db.extract.hf_head`) apply to
    transformers models; ``layers`` and ``kinds`` are checked against a transformers
    configuration before its weights load.

    Raises:
        InputError: the model does not exist or cannot be loaded, or has no such layer or kind.
    """
    if not spec:
        raise InputError("no model given")
    if ".py:" in spec and not Path(spec).exists():
        from lstmvis_db.extract.factory import load_factory

        adapter = load_factory(spec)
        if name:
            adapter.model = name
        return adapter
    from lstmvis_db.extract.hf_load import PACKAGED_NOTES, packaged_models

    path = Path(spec)
    note = None
    if not path.exists():
        packaged = packaged_models()
        if spec in packaged:
            path = packaged[spec]
            note = PACKAGED_NOTES.get(spec)
        else:
            known = ", ".join(sorted(packaged)) or "none installed"
            raise InputError(f"model not found: {spec} (packaged models: {known})")
    if path.is_file() and path.suffix.lower() in KERAS_SUFFIXES:
        if vocab is None:
            raise InputError(f"{path}: a Keras weight file needs a vocabulary (--vocab FILE)")
        from lstmvis_db.extract.keras import keras_adapter

        return keras_adapter(
            path,
            vocab,
            tokenizer=tokenize,
            recurrent_activation=recurrent_activation,
            cudnn_layout=cudnn_layout,
            name=name,
        )
    if path.is_file() and path.suffix.lower() == ".py":
        raise InputError(f"{path}: name the factory function too (path/to/file.py:function)")
    if path.is_dir() or path.suffix.lower() == ".gguf":
        from lstmvis_db.extract.hf_load import load_hf

        return load_hf(path, tokenizer=tokenizer, name=name or (spec if spec != str(path) else None),
                       cache_dir=cache_dir, device=device, dtype=dtype, layers=layers, kinds=kinds,
                       quiet=quiet, note=note, topk_head=topk_head)
    raise InputError(
        f"{path}: unknown model format (expected a transformers folder, .gguf, .h5/.hdf5 or "
        "file.py:function)"
    )
