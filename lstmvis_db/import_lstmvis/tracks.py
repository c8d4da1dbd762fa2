"""Annotation tracks from the ``meta`` section: discrete, scalar and ``wordvec`` top-k.

Each meta is either per position (``index: self``) or a table indexed by word id
(``index: word_sequence``).

May import: numpy, ``lstmvis_db.errors``, ``lstmvis_db.types``, ``import_lstmvis.config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.import_lstmvis.config import ProjectConfig, int_ids, show
from lstmvis_db.import_lstmvis.dictionary import Vocabulary
from lstmvis_db.types import Track


def _meta_range(p: ProjectConfig, vis: Mapping[str, Any], key: str) -> tuple[float | None, float | None]:
    """``vis.range`` of a scalar meta: ``[min, max]`` or ``"min...max"``; absent = no range."""
    rng = vis.get("range")
    if rng is None:
        return None, None
    if isinstance(rng, str) and "..." in rng:
        parts: list[Any] = rng.split("...", 1)
    elif isinstance(rng, (list, tuple)):
        parts = list(rng)
    else:
        raise p.fail(key, f"must be [min, max], got {show(rng)}")
    try:
        if len(parts) != 2 or any(isinstance(v, bool) for v in parts):
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
    except (TypeError, ValueError):
        raise p.fail(key, f"must be [min, max] with two numbers, got {show(rng)}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise p.fail(key, f"must be [min, max] with finite min <= max, got {show(rng)}")
    return lo, hi


def _meta_rows(
    p: ProjectConfig,
    ref: str,
    path: str,
    key: str,
    key_path: str,
    ndim: int,
    what: str,
    index: str,
    word_ids: np.ndarray,
) -> tuple[np.ndarray, str]:
    """The N rows of one meta dataset, following ``index`` (self or word_sequence)."""
    ds = p.dataset(ref, path, f"{key}.file", key_path, ndim, what)
    filename = ds.file.filename
    n = word_ids.shape[0]
    if index == "self":
        if ds.shape[0] != n:
            raise InputError(
                f"{filename}: dataset {path!r} ({key_path}) has {ds.shape[0]} rows but the word sequence has {n} words"
            )
        return np.asarray(ds[()]), filename
    table = np.asarray(ds[()])
    lo, hi = int(word_ids.min()), int(word_ids.max())
    if lo < 0 or hi >= table.shape[0]:
        bad = lo if lo < 0 else hi
        raise InputError(
            f"{filename}: dataset {path!r} ({key_path}, index: word_sequence) has "
            f"{table.shape[0]} rows, so it has no row for word id {bad}"
        )
    return table[word_ids], filename


@dataclass(frozen=True)
class _Meta:
    """One ``meta`` entry: its name and lstm.yml key, its settings, file ref, dataset and index."""

    name: str
    key: str
    entry: Mapping[str, Any]
    vis: Mapping[str, Any]
    ref: str
    path: str
    index: str
    word_ids: np.ndarray

    @property
    def via(self) -> str:
        """Said in the description of a track looked up by word id."""
        return " via word id" if self.index == "word_sequence" else ""

    def rows(self, p: ProjectConfig, path: str, key_path: str, ndim: int, what: str) -> tuple[np.ndarray, str]:
        """The N rows of dataset ``path`` of this meta's file (see :func:`_meta_rows`)."""
        return _meta_rows(p, self.ref, path, self.key, key_path, ndim, what, self.index, self.word_ids)

    def tokens(self, vocab: Vocabulary, rows: np.ndarray, filename: str) -> np.ndarray:
        """The ids in ``rows`` (read from ``path``) through the dictionary ``vocab``."""
        what = f"dataset {self.path!r} ({self.key}.path)"
        return vocab.lookup(int_ids(rows, filename, what), f"{filename}: {what}")


def read_tracks(p: ProjectConfig, word_ids: np.ndarray) -> list[Track]:
    """One Track per ``meta`` entry."""
    meta = p.section(p.config, "meta", "meta", required=False)
    if not meta:
        return []
    build = {"categorical": _categorical, "scalar": _scalar, "topk": _topk}
    tracks: list[Track] = []
    for meta_name, entry in meta.items():
        m = _meta_entry(p, str(meta_name), entry, word_ids)
        tracks.append(build[_meta_kind(p, m)](p, m))
    return tracks


def _meta_entry(p: ProjectConfig, name: str, entry: Any, word_ids: np.ndarray) -> _Meta:
    """The keys every meta has: ``file``, ``path``, optional ``vis`` and ``index``."""
    key = f"meta.{name}"
    if not isinstance(entry, dict):
        raise p.fail(key, f"must be a mapping, got {show(entry)}")
    vis = p.section(entry, "vis", f"{key}.vis", required=False) or {}
    ref = p.text_value(entry, "file", f"{key}.file")
    path = p.text_value(entry, "path", f"{key}.path")
    index = entry.get("index") or "self"
    if index not in ("self", "word_sequence"):
        raise p.fail(f"{key}.index", f"must be self or word_sequence, got {show(index)}")
    return _Meta(name, key, entry, vis, ref, path, index, word_ids)


def _meta_kind(p: ProjectConfig, m: _Meta) -> str:
    """``topk`` for wordvec, else the ``vis.type``; without one a meta with a dict is categorical."""
    meta_type = m.entry.get("type") or "general"
    vis_type = m.vis.get("type")
    if meta_type == "wordvec" or vis_type == "wordvec":
        return "topk"
    if vis_type == "discrete":
        return "categorical"
    if vis_type == "scalar":
        return "scalar"
    if vis_type is None:
        return "categorical" if m.entry.get("dict") is not None else "scalar"
    raise p.fail(f"{m.key}.vis.type", f"must be discrete, scalar or wordvec, got {show(vis_type)}")


def _categorical(p: ProjectConfig, m: _Meta) -> Track:
    """A discrete meta: label ids through its ``dict``."""
    key, path = m.key, m.path
    if m.entry.get("dict") is None:
        raise p.fail(f"{key}.dict", "missing required key (a discrete meta needs a dict)")
    vocab = p.dictionary(p.text_value(m.entry, "dict", f"{key}.dict"), f"{key}.dict")
    rows, filename = m.rows(p, path, f"{key}.path", 1, "label ids")
    labels = m.tokens(vocab, rows, filename)
    return Track(
        track=m.name,
        kind="categorical",
        description=f"{m.ref}::{path}{m.via}",
        labels=labels.tolist(),
        categories=list(dict.fromkeys(vocab.tokens)),
    )


def _scalar(p: ProjectConfig, m: _Meta) -> Track:
    """A scalar meta, with the range from ``vis.range``."""
    lo, hi = _meta_range(p, m.vis, f"{m.key}.vis.range")
    rows, _ = m.rows(p, m.path, f"{m.key}.path", 1, "one value per word")
    return Track(
        track=m.name,
        kind="scalar",
        description=f"{m.ref}::{m.path}{m.via}",
        values=rows.astype(np.float64),
        min=lo,
        max=hi,
    )


def _topk(p: ProjectConfig, m: _Meta) -> Track:
    """A ``wordvec`` meta: N x k word ids (``path``) and their scores (``weights_path``)."""
    key, path = m.key, m.path
    weights_path = p.text_value(m.entry, "weights_path", f"{key}.weights_path")
    dict_ref = p.text_value(m.entry, "dict", f"{key}.dict")
    vocab = p.dictionary(dict_ref, f"{key}.dict")
    rows, filename = m.rows(p, path, f"{key}.path", 2, "N x k word ids")
    scores, _ = m.rows(p, weights_path, f"{key}.weights_path", 2, "N x k scores")
    if scores.shape != rows.shape:
        raise InputError(
            f"{filename}: {key}: weights_path {weights_path!r} has shape "
            f"{'x'.join(map(str, scores.shape))} but path {path!r} has shape "
            f"{'x'.join(map(str, rows.shape))}"
        )
    topk_tokens = m.tokens(vocab, rows, filename)
    return Track(
        track=m.name,
        kind="topk",
        description=f"{m.ref}::{path} (scores {weights_path}){m.via}",
        topk_tokens=topk_tokens,
        topk_scores=scores.astype(np.float64),
    )
