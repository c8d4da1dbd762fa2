"""The word sequence and the state matrices of an original project (``word_sequence``, ``states``).

May import: numpy, ``lstmvis_db.errors``, ``lstmvis_db.types``, ``import_lstmvis.config`` and
``.dictionary``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.import_lstmvis.config import TRANSFORMS, ProjectConfig, int_ids, show
from lstmvis_db.import_lstmvis.dictionary import Vocabulary
from lstmvis_db.types import Source


def read_word_sequence(p: ProjectConfig) -> tuple[np.ndarray, list[str], Vocabulary, str]:
    """Word ids (int64, length N), tokens, the word dictionary and the HDF5 file name."""
    ws = p.section(p.config, "word_sequence", "word_sequence", required=True)
    ref = p.text_value(ws, "file", "word_sequence.file")
    path = p.text_value(ws, "path", "word_sequence.path")
    dict_ref = p.text_value(ws, "dict_file", "word_sequence.dict_file")
    ds = p.dataset(ref, path, "word_sequence.file", "word_sequence.path", 1, "word ids")
    if ds.shape[0] == 0:
        raise InputError(f"{ds.file.filename}: dataset {path!r} (word_sequence.path) is empty")
    ids = int_ids(ds[()], ds.file.filename, f"dataset {path!r} (word_sequence.path)")
    vocab = p.dictionary(dict_ref, "word_sequence.dict_file")
    tokens = vocab.lookup(ids, f"{ds.file.filename}: dataset {path!r} (word_sequence.path)")
    return ids, tokens.tolist(), vocab, ds.file.filename


def read_sources(p: ProjectConfig, name: str, n: int) -> list[Source]:
    """One Source per ``states.types`` entry, values left in HDF5 (sliced lazily)."""
    states = p.section(p.config, "states", "states", required=True)
    default_ref = states.get("file")
    types = states.get("types")
    if types is None or types == []:
        raise p.fail("states.types", "missing required key")
    if not isinstance(types, list):
        raise p.fail("states.types", f"must be a list, got {show(types)}")
    sources: list[Source] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(types):
        key = f"states.types[{i}]"
        if not isinstance(entry, dict):
            raise p.fail(key, f"must be a mapping, got {show(entry)}")
        path = p.text_value(entry, "path", f"{key}.path")
        layer = p.int_value(entry, "layer", f"{key}.layer")
        if entry.get("file") is not None:
            ref, ref_key = p.text_value(entry, "file", f"{key}.file"), f"{key}.file"
        elif default_ref is not None and default_ref != "":
            ref, ref_key = p.text_value(states, "file", "states.file"), "states.file"
        else:
            raise p.fail(f"{key}.file", "missing required key (and no states.file default)")
        kind = entry.get("type")
        if kind is None or kind == "":
            kind = "state"
        elif not isinstance(kind, str):
            raise p.fail(f"{key}.type", f"must be a name such as state or output, got {show(kind)}")
        transform = entry.get("transform")
        if transform is None:
            transform = "tanh"
        if transform not in TRANSFORMS:
            raise p.fail(f"{key}.transform", f"must be tanh or none, got {show(transform)}")
        unsigned = p.bool_value(entry, "unsigned", f"{key}.unsigned", False)
        ds = p.dataset(ref, path, ref_key, f"{key}.path", 2, "N x D states")
        if ds.shape[0] != n:
            raise InputError(
                f"{ds.file.filename}: dataset {path!r} ({key}.path) has {ds.shape[0]} rows "
                f"but the word sequence has {n} words"
            )
        if ds.shape[1] == 0:
            raise InputError(f"{ds.file.filename}: dataset {path!r} ({key}.path) has 0 cells")
        source_id = f"{ref}::{path}"
        if source_id in seen:
            raise p.fail(key, f"source {source_id!r} is already defined by {seen[source_id]}")
        seen[source_id] = key
        sources.append(
            Source(
                source=source_id,
                values=ds,
                model=name,
                layer=layer,
                kind=kind,
                transform=transform,
                unsigned=unsigned,
                description=f"{kind} of layer {layer} ({Path(ds.file.filename).name}:{path})",
            )
        )
    return sources

