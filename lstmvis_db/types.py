"""Typed inputs of the store's ingest (what a project is made of before it becomes a file) and the
typed results of the read side (``TypedDict``: the JSON shapes of ``info``, ``select``, ``match`` and
``search --json``, docs/ docs/semantics.md §Command line).

May import numpy only; every other module may import this one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import numpy as np

Transform = Literal["tanh", "none"]
TrackKind = Literal["categorical", "scalar", "topk"]
Layout = Literal["dense", "sparse"]


@dataclass(frozen=True)
class Document:
    """A document: positions ``first_pos .. last_pos`` (inclusive) of the token stream."""

    name: str
    first_pos: int
    last_pos: int


@dataclass
class Source:
    """One state matrix over the whole token stream (one model x layer x kind).

    ``values`` is anything that slices like an (N, D) float array: a numpy array, a memmap or
    an h5py dataset.  Values are stored after ``transform`` (``tanh`` squashes raw values;
    ``none`` keeps them), so ``states.value`` is what the tool plots and thresholds.

    ``layout="sparse"`` stores only the non-zero values as (pos, unit, value) entries
    (docs/data-model.md §Sparse sources and SAE features); ``values`` is then a
    :class:`SparseValues`, an object with ``tocoo()`` (a SciPy sparse matrix) or a dense array
    as above (read a bounded block of rows at a time, zeros dropped).
    """

    source: str
    values: Any
    model: str = ""
    layer: int = 0
    kind: str = "output"
    transform: Transform = "none"
    unsigned: bool = False
    description: str = ""
    layout: Layout = "dense"


@dataclass
class SparseValues:
    """An (n_rows, n_cols) matrix given by its non-zero entries: ``pos``, ``unit`` and ``value``
    arrays of one length (any order; a (pos, unit) pair at most once).  An absent entry is 0."""

    n_rows: int
    n_cols: int
    pos: np.ndarray
    unit: np.ndarray
    value: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.n_rows), int(self.n_cols))


@dataclass
class Track:
    """An annotation track aligned with the token stream.

    categorical: ``labels`` (N strings; ``None`` entries mean no label), optional ``categories``
    (the label order that fixes colours).  scalar: ``values`` (N floats, NaN = no value),
    optional ``min``/``max`` (display range).  topk: ``topk_tokens`` and ``topk_scores`` (N x k),
    stored in ``predictions`` under this track's name.
    """

    track: str
    kind: TrackKind
    description: str = ""
    labels: Sequence[str | None] | np.ndarray | None = None
    categories: Sequence[str] | None = None
    values: np.ndarray | None = None
    min: float | None = None
    max: float | None = None
    topk_tokens: np.ndarray | None = None
    topk_scores: np.ndarray | None = None


@dataclass
class ProjectData:
    """Everything one project file holds; ``store.write_project`` turns it into a file."""

    name: str
    tokens: Sequence[str]
    sources: Sequence[Source]
    description: str = ""
    origin: str = ""
    token_ids: Sequence[int] | np.ndarray | None = None
    documents: Sequence[Document] | None = None
    tracks: Sequence[Track] = ()
    extra: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- results


class SourceSummary(TypedDict):
    """One source in ``info``."""

    source: str
    n_cells: int
    layer: int
    kind: str
    transform: str
    value_dtype: str  # "float32", "float16" or "sparse" (docs/data-model.md §Storage)


class TrackSummary(TypedDict):
    """One annotation track in ``info``."""

    track: str
    kind: str


class InfoResult(TypedDict):
    """``info --json`` / ``Project.info()``."""

    name: str
    description: str
    tokens: int
    documents: int
    sources: list[SourceSummary]
    tracks: list[TrackSummary]
    extraction: dict[str, str]
    """How ``extract`` made the states (its ``extract.*`` settings without the prefix; empty otherwise)."""


class SelectResult(TypedDict):
    """``select --json`` (``Project.select()`` returns the list itself)."""

    cells: list[int]


class MatchRow(TypedDict):
    """One ranked match: ``missing`` = selected cells not on over the whole range."""

    start: int
    length: int
    intersection: int
    union: int
    jaccard: float
    missing: int


class Histogram(TypedDict):
    """Candidates per length (keys are lengths as strings): all, and those missing no cell."""

    fuzzy: dict[str, int]
    strict: dict[str, int]


class MatchResult(TypedDict):
    """``match --json`` / ``Project.match()``."""

    matches: list[MatchRow]
    histogram: Histogram
    candidates: int


class SearchHit(TypedDict):
    """One hit of ``search --json`` / ``Project.search()``: tokens of the match and its context."""

    pos: int
    length: int
    doc: int
    left: list[str]
    match: list[str]
    right: list[str]


class SourceDetail(TypedDict):
    """What a view needs about a source beyond ``info``: sign and the range of its values."""

    source: str
    n_cells: int
    unsigned: bool
    min_value: float
    max_value: float
