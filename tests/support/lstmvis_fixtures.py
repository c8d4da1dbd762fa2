"""Writers of small ORIGINAL-format LSTMVis projects (lstm.yml + HDF5 + dict files) for tests.

``make_project(root)`` writes a complete project exercising every lstm.yml feature and returns
what the importer should read back; ``write_config``/``write_dict``/``write_h5`` let a test
break one piece of it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import yaml

# Word dictionary (token, id), 1-based ids as the original tooling writes them; id 5 is the
# single-space token, written as the line "  5".
WORDS: list[tuple[str, int]] = [
    ("the", 1),
    ("cat", 2),
    ("sat", 3),
    (".", 4),
    (" ", 5),
    ("<unk>", 6),
]
# Part-of-speech dictionary, deliberately not in id order: categories follow file order.
POS: list[tuple[str, int]] = [("NOUN", 2), ("DET", 1), ("VERB", 3), ("PUNCT", 4), ("SPACE", 5)]
POS_OF_WORD: dict[int, int] = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 2}
# Indirect (per word id) cluster dictionary and table (row index = word id, row 0 unused).
CLUSTERS: list[tuple[str, int]] = [("c_a", 1), ("c_b", 2)]
CLUSTER_TABLE = np.array([1, 1, 2, 2, 1, 2, 1], dtype=np.int32)
FREQ_TABLE = np.array([0.0, 0.5, 0.1, 0.2, 0.3, 0.4, 0.05])

WORD_IDS = np.array([1, 2, 5, 3, 4, 5, 1, 2, 3, 6, 4, 5], dtype=np.int64)
# The full project's states.types; output2 lives in another file (per-type `file` override).
STATE_TYPES: list[dict[str, Any]] = [
    {"type": "state", "layer": 1, "path": "states1"},
    {"type": "output", "layer": 1, "path": "output1", "transform": "none", "unsigned": True},
    {"type": "state", "layer": 2, "path": "states2", "transform": "tanh"},
    {"type": "output", "layer": 2, "path": "output2", "file": "extra"},
]
STATE_WIDTHS = {"states1": 4, "output1": 4, "states2": 3, "output2": 5}
TOPK = 3


@dataclass
class LstmvisFixture:
    """A written project and the values the importer should return for it."""

    dir: Path
    config: dict[str, Any]
    word_ids: np.ndarray
    tokens: list[str]
    states: dict[str, np.ndarray] = field(default_factory=dict)  # source id -> raw N x D
    pos_labels: list[str] = field(default_factory=list)
    depth: np.ndarray | None = None
    topk_tokens: np.ndarray | None = None
    topk_scores: np.ndarray | None = None
    cluster_labels: list[str] = field(default_factory=list)
    frequency: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.word_ids.shape[0])

    def config_copy(self) -> dict[str, Any]:
        """A deep copy of the config, to edit and pass to ``write_config``."""
        return copy.deepcopy(self.config)


def dict_text(entries: Sequence[tuple[str, int]]) -> str:
    """Dictionary file text: ``token id`` per line; the space token is written ``"  id"``."""
    return "".join(f"{token} {ident}\n" for token, ident in entries)


def write_dict(path: Path, entries: Sequence[tuple[str, int]] | str) -> None:
    """Write a dictionary file from (token, id) pairs, or raw text."""
    text = entries if isinstance(entries, str) else dict_text(entries)
    path.write_bytes(text.encode("utf-8"))


def write_h5(path: Path, datasets: Mapping[str, Any]) -> None:
    """Write (or replace) an HDF5 file with the given datasets."""
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f.create_dataset(name, data=np.asarray(value))


def write_config(project_dir: Path, config: Mapping[str, Any] | str) -> None:
    """Write lstm.yml from a mapping (YAML-dumped in key order) or raw text."""
    text = (
        config
        if isinstance(config, str)
        else yaml.dump(dict(config), Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
    )
    (project_dir / "lstm.yml").write_text(text, encoding="utf-8")


def minimal_config(name: str = "tiny") -> dict[str, Any]:
    """Only the required keys: one state type with every default."""
    return {
        "name": name,
        "files": {"train": "train.h5", "words": "words.dict", "states": "states.hdf5"},
        "word_sequence": {"file": "train", "path": "words", "dict_file": "words"},
        "states": {"file": "states", "types": [{"layer": 1, "path": "states1"}]},
    }


def full_config(name: str = "tiny") -> dict[str, Any]:
    """Every lstm.yml feature: 4 state types over 2 files, all meta kinds, embedding, etc."""
    return {
        "name": name,
        "description": "A tiny test project",
        "files": {
            "train": "train.h5",
            "words": "words.dict",
            "states": "states.hdf5",
            "extra": "extra_states.h5",
            "pos": "pos.h5",
            "pos_dict": "pos.dict",
            "depth": "depth.h5",
            "topk": "topk.h5",
            "clusters": "kmeans.h5",
            "cluster_dict": "clusters.txt",
            "emb": "embeddings.h5",
            "notes": "notes.json",  # not HDF5/dict: ignored (and never written)
        },
        "word_sequence": {"file": "train", "path": "words", "dict_file": "words"},
        "states": {"file": "states", "types": copy.deepcopy(STATE_TYPES)},
        "word_embedding": {"file": "emb", "path": "emb"},
        "meta": {
            "part_of_speech": {
                "file": "pos",
                "path": "pos",
                "dict": "pos_dict",
                "vis": {"type": "discrete", "range": "dict"},
            },
            "depth": {"file": "depth", "path": "depth", "vis": {"type": "scalar", "range": [0, 4]}},
            "next_words": {
                "type": "wordvec",
                "file": "topk",
                "path": "preds",
                "weights_path": "scores",
                "dict": "words",
                "vis": {"type": "wordvec"},
            },
            "cluster": {
                "file": "clusters",
                "path": "cluster",
                "dict": "cluster_dict",
                "index": "word_sequence",
                "vis": {"type": "discrete", "range": "dict"},
            },
            "frequency": {
                "file": "clusters",
                "path": "freq",
                "index": "word_sequence",
                "vis": {"type": "scalar", "range": [0, 1]},
            },
        },
        "etc": {"regex_search": True},
    }


def make_project(root: Path, name: str = "tiny", full: bool = True, seed: int = 0) -> LstmvisFixture:
    """Write a small project into ``root / name`` and return it with its expected content."""
    project = root / name
    project.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = WORD_IDS.shape[0]
    vocab = {ident: token for token, ident in WORDS}
    config = full_config(name) if full else minimal_config(name)
    write_dict(project / "words.dict", WORDS)
    write_h5(project / "train.h5", {"words": WORD_IDS})
    raw = {path: rng.normal(0.0, 1.5, size=(n, width)).astype(np.float32) for path, width in STATE_WIDTHS.items()}
    raw["output1"] = np.abs(raw["output1"])  # unsigned: non-negative
    write_h5(project / "states.hdf5", {k: raw[k] for k in ("states1", "output1", "states2")})
    fx = LstmvisFixture(
        dir=project,
        config=config,
        word_ids=WORD_IDS.copy(),
        tokens=[vocab[int(i)] for i in WORD_IDS],
    )
    if not full:
        fx.states = {"states::states1": raw["states1"]}
        write_config(project, config)
        return fx
    fx.states = {
        "states::states1": raw["states1"],
        "states::output1": raw["output1"],
        "states::states2": raw["states2"],
        "extra::output2": raw["output2"],
    }
    write_h5(project / "extra_states.h5", {"output2": raw["output2"]})
    pos_ids = np.array([POS_OF_WORD[int(w)] for w in WORD_IDS], dtype=np.int64)
    write_h5(project / "pos.h5", {"pos": pos_ids})
    write_dict(project / "pos.dict", POS)
    pos_vocab = {ident: token for token, ident in POS}
    fx.pos_labels = [pos_vocab[int(i)] for i in pos_ids]
    fx.depth = np.arange(n, dtype=np.float64) % 5
    write_h5(project / "depth.h5", {"depth": fx.depth})
    preds = rng.integers(1, len(WORDS) + 1, size=(n, TOPK))
    scores = np.sort(rng.random((n, TOPK)), axis=1)[:, ::-1].copy()
    write_h5(project / "topk.h5", {"preds": preds, "scores": scores})
    fx.topk_tokens = np.array([[vocab[int(i)] for i in row] for row in preds], dtype=object)
    fx.topk_scores = scores
    write_h5(project / "kmeans.h5", {"cluster": CLUSTER_TABLE, "freq": FREQ_TABLE})
    write_dict(project / "clusters.txt", CLUSTERS)
    cluster_vocab = {ident: token for token, ident in CLUSTERS}
    fx.cluster_labels = [cluster_vocab[int(CLUSTER_TABLE[w])] for w in WORD_IDS]
    fx.frequency = FREQ_TABLE[WORD_IDS]
    write_h5(project / "embeddings.h5", {"emb": rng.normal(size=(len(WORDS) + 1, 3))})
    write_config(project, config)
    return fx
