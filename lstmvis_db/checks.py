"""Argument checks shared by the queries, the Python API and the CLI: validate, never coerce.

A number is accepted when it is an int or float (numpy ones included) of the right kind;
``bool`` is refused wherever a number is wanted (``True`` is not cell 1), text is refused
wherever a number is wanted, and a float with a fraction is refused where an integer is
wanted (``1.5`` is not cell 1).  Every failure is a QueryError (or InputError for files) with
one line naming the argument and the value.

Imports numpy and the errors module only.
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from pathlib import Path

import numpy as np

from lstmvis_db.errors import InputError, QueryError


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_int(value: object, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (a float without fraction is fine: 3.0) in minimum..maximum."""
    f = float(value) if _is_number(value) else math.nan  # type: ignore[arg-type]
    if not math.isfinite(f) or f != int(f):
        raise QueryError(f"{name} must be an integer, got {value!r}")
    v = int(f) if abs(f) < 2**53 else int(value)  # type: ignore[call-overload]
    if minimum is not None and v < minimum:
        raise QueryError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and v > maximum:
        raise QueryError(f"{name} must be an integer <= {maximum}, got {value!r}")
    return v


def check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise QueryError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_threshold(threshold: object) -> float:
    if not _is_number(threshold):
        raise QueryError(f"threshold must be a number, got {threshold!r}")
    t = float(threshold)  # type: ignore[arg-type]
    if not math.isfinite(t):
        raise QueryError(f"threshold must be a finite number, got {threshold!r}")
    return t


def check_positions(n: int, start: object, end: object) -> tuple[int, int]:
    """An inclusive range start..end inside 0..n-1."""
    s, e = check_int(start, "start"), check_int(end, "end")
    if s > e:
        raise QueryError(f"inverted range: start {s} > end {e}")
    if s < 0 or e >= n:
        raise QueryError(f"range {s}..{e} is outside the corpus (positions 0..{n - 1})")
    return s, e


def check_cell_ids(n_cells: int, source: str, cells: object) -> np.ndarray:
    """Sorted unique cell ids, each an integer in 0..n_cells-1."""
    if isinstance(cells, str | bytes) or not hasattr(cells, "__iter__"):
        raise QueryError(f"cells must be a list of integers, got {cells!r}")
    ids = set()
    for c in cells:  # type: ignore[union-attr]
        if not _is_number(c) or not math.isfinite(float(c)) or float(c) != int(c):
            raise QueryError(f"cells must be integers, got {c!r}")
        ids.add(int(c))
    arr = np.array(sorted(ids), dtype=np.int64)
    bad = arr[(arr < 0) | (arr >= n_cells)]
    if len(bad):
        raise QueryError(f"unknown cell {int(bad[0])} in source {source!r} (cells 0..{n_cells - 1})")
    return arr


def check_output_path(path: str | Path) -> Path:
    """A project file that can be written: not a folder, in an existing, writable folder."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{str(p)!r} is a folder; give a project file name such as {str(p / 'project.duckdb')!r}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder {str(parent)!r} does not exist")
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(f"cannot write {str(p)!r}: permission denied")
    try:  # the one sure test (permissions, read-only or special file systems): create a file there
        fd, probe = tempfile.mkstemp(prefix=".lstmvis-write-check-", dir=parent)
    except OSError as e:
        raise InputError(f"cannot write in folder {str(parent)!r}: {e.strerror or e}") from None
    os.close(fd)
    os.unlink(probe)
    return p
