"""User factory files: ``--model my_model.py:build`` turned into an adapter.

A factory file defines a function without arguments that returns one of:

* an adapter (any object implementing :class:`lstmvis_db.extract.base.Adapter`);
* a dict with keys ``rnn`` (or ``model``), ``tokenizer`` and optionally ``embedding``,
  ``head`` and ``name``;
* a tuple ``(embedding_or_model, rnn_or_None, tokenizer)`` or ``(..., tokenizer, head)``.

``embedding_or_model`` is an ``nn.Embedding``, a callable mapping a 1-D LongTensor of ids to
``(T, input_size)`` inputs, the whole model (its only ``nn.Embedding`` and, when ``rnn`` is
None, its only recurrent module are used; an ``nn.Linear`` from the RNN output to the vocabulary
becomes the prediction head), or None (one-hot inputs).  The tokenizer is as
:mod:`lstmvis_db.extract.rnn` describes.

May import: ``lstmvis_db.errors``, ``extract.base``, ``extract.rnn`` (torch through it).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import Adapter
from lstmvis_db.extract.rnn import rnn_adapter


def load_factory(spec: str) -> Adapter:
    """Import ``path/to/file.py:function``, call the function and build an adapter from it.

    Raises:
        InputError: the file or function does not exist, raising inside it, or it returns
            something that is not a model description (see the module docstring).
    """
    path_s, sep, func_name = spec.rpartition(":")
    if not sep or not path_s.endswith(".py") or not func_name:
        raise InputError(f"model factory {spec!r} is not of the form path/to/file.py:function")
    path = Path(path_s)
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    mod_name = f"_lstmvis_factory_{abs(hash(str(path.resolve())))}"
    loader_spec = importlib.util.spec_from_file_location(mod_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise InputError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[mod_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as e:
        raise InputError(f"{path}: importing failed: {type(e).__name__}: {e}") from e
    func = getattr(module, func_name, None)
    if not callable(func):
        raise InputError(f"{path}: has no function {func_name!r}")
    try:
        made = func()
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"{spec}: the factory raised {type(e).__name__}: {e}") from e
    return adapter_from_parts(made, default_name=path.stem)


def adapter_from_parts(made: Any, default_name: str = "rnn") -> Adapter:
    """Build an adapter from what a factory returned (see the module docstring)."""
    if all(hasattr(made, a) for a in ("run", "sources", "tokenize")):
        return made  # type: ignore[no-any-return]
    if isinstance(made, Mapping):
        unknown = set(made) - {"rnn", "model", "tokenizer", "embedding", "head", "name"}
        if unknown:
            raise InputError(f"factory result has unknown key {min(unknown)!r}")
        if "tokenizer" not in made:
            raise InputError("factory result has no 'tokenizer'")
        embedding = made.get("embedding")
        model = made.get("model")
        if embedding is None and model is not None:
            embedding = model
        return rnn_adapter(
            made.get("rnn"),
            made["tokenizer"],
            embedding,
            made.get("head"),
            name=str(made.get("name") or default_name),
        )
    if isinstance(made, tuple) and len(made) in (3, 4):
        head = made[3] if len(made) == 4 else None
        return rnn_adapter(made[1], made[2], made[0], head, name=default_name)
    raise InputError(
        f"the factory returned a {type(made).__name__}: expected an adapter, a dict or a "
        "tuple (embedding_or_model, rnn, tokenizer)"
    )
