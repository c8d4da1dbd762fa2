"""Argument checks shared by the engines over an exported dataset (the same rules and messages
as the project file's: ``queries.check_*``)."""

from __future__ import annotations

import numpy as np

from lstmvis_db.errors import QueryError
from lstmvis_db.parquet.dataset import DatasetSource
from lstmvis_db.queries import check_threshold

__all__ = ["check_cells", "check_match_options", "check_threshold"]


def check_cells(src: DatasetSource, cells: object) -> list[int]:
    try:
        items = list(cells)  # type: ignore[call-overload]
    except TypeError:
        raise QueryError(f"cells must be integers, got {cells!r}") from None
    if any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) for c in items):
        raise QueryError(f"cells must be integers, got {cells!r}")
    arr = sorted({int(c) for c in items})
    bad = [c for c in arr if c < 0 or c >= src.n_cells]
    if bad:
        raise QueryError(f"unknown cell {bad[0]} in source {src.source!r} (cells 0..{src.n_cells - 1})")
    return arr


def check_match_options(length: int, limit: int) -> tuple[int, int]:
    if int(length) != length or length < 0:
        raise QueryError(f"length must be an integer >= 0, got {length!r}")
    if int(limit) != limit or limit < 1:
        raise QueryError(f"limit must be an integer >= 1, got {limit!r}")
    return int(length), int(limit)
