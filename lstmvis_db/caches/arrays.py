"""Arrow list columns of a cache as numpy arrays, checked (no nulls, numbers, the right shape).

Token ids: a list of integers per row.  Activations: per row a ``T x d`` array, stored as a
list of lists (``list``, ``large_list`` or ``fixed_size_list`` at either level; ``datasets``'
``Array2D`` is such a list of lists under an extension type) or as Arrow's fixed-shape tensor.

May import: numpy, pyarrow, ``lstmvis_db.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lstmvis_db.errors import InputError

_LISTS = (pa.ListType, pa.LargeListType, pa.FixedSizeListType)


def _storage(arr: pa.Array) -> pa.Array:
    while isinstance(arr.type, pa.BaseExtensionType):
        arr = arr.storage
    return arr


def _is_list(t: pa.DataType) -> bool:
    return isinstance(t, _LISTS)


def _unwrap(t: pa.DataType) -> pa.DataType:
    while isinstance(t, pa.BaseExtensionType):
        t = t.storage_type
    return t


def is_activation_type(t: pa.DataType) -> bool:
    """A column type that holds a 2-D numeric array per row."""
    if isinstance(t, pa.FixedShapeTensorType):
        return len(t.shape) == 2 and pa.types.is_floating(t.value_type)
    t = _unwrap(t)
    if not _is_list(t):
        return False
    inner = _unwrap(t.value_type)
    return _is_list(inner) and (pa.types.is_floating(_unwrap(inner.value_type)) or
                                pa.types.is_integer(_unwrap(inner.value_type)))


def is_token_type(t: pa.DataType) -> bool:
    """A column type that holds a list of integers per row."""
    t = _unwrap(t)
    return _is_list(t) and pa.types.is_integer(_unwrap(t.value_type))


def _combine(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _first_null(arr: pa.Array) -> int:
    return int(np.flatnonzero(np.asarray(arr.is_null(), dtype=bool))[0])


def token_rows(col: pa.ChunkedArray | pa.Array, name: str, row0: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lengths per row, all ids flat as int64)``; a null row or id is an error naming the row."""
    arr = _storage(_combine(col))
    if arr.null_count:
        raise InputError(f"row {row0 + _first_null(arr)}, column {name!r}: no token ids (null)")
    lengths = np.asarray(pc.list_value_length(arr), dtype=np.int64)
    flat = _storage(arr.flatten())
    if flat.null_count:
        at = _first_null(flat)
        row = int(np.searchsorted(np.cumsum(lengths), at, side="right"))
        raise InputError(f"row {row0 + row}, column {name!r}: a null token id")
    ids = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.int64)
    if ids.size and ids.min() < 0:
        at = int(np.argmin(ids))
        row = int(np.searchsorted(np.cumsum(lengths), at, side="right"))
        raise InputError(f"row {row0 + row}, column {name!r}: negative token id {int(ids[at])}")
    return lengths, ids


@dataclass(frozen=True)
class ActivationRows:
    """One batch of one activation column: values ``(sum of lengths, d)`` and each row's length."""

    values: np.ndarray
    lengths: np.ndarray


def activation_rows(col: pa.ChunkedArray | pa.Array, name: str, row0: int, d: int | None) -> ActivationRows:
    """The ``T x d`` arrays of a batch's rows stacked, as float32; ``d`` (None: from the first row)
    must be every row's width.  Nulls or another width raise one line naming the row."""
    raw = _combine(col)
    if isinstance(raw.type, pa.FixedShapeTensorType):
        if raw.null_count:
            raise InputError(f"row {row0 + _first_null(raw)}, column {name!r}: no activations (null)")
        t_len, width = (int(s) for s in raw.type.shape)
        if d is not None and width != d:
            raise InputError(f"row {row0}, column {name!r}: {width} values per token, expected d_in = {d}")
        flat = _storage(raw).flatten()
        vals = np.asarray(flat.to_numpy(zero_copy_only=False)).reshape(-1, width)
        return ActivationRows(vals.astype(np.float32, copy=False), np.full(len(raw), t_len, np.int64))
    arr = _storage(raw)
    if arr.null_count:
        raise InputError(f"row {row0 + _first_null(arr)}, column {name!r}: no activations (null)")
    lengths = np.asarray(pc.list_value_length(arr), dtype=np.int64)
    inner = _storage(arr.flatten())
    ends = np.cumsum(lengths)
    if inner.null_count:
        at = _first_null(inner)
        raise InputError(f"row {row0 + int(np.searchsorted(ends, at, side='right'))}, column {name!r}: "
                         f"a null activation vector")
    widths = np.asarray(pc.list_value_length(inner), dtype=np.int64)
    if widths.size:
        want = int(widths[0]) if d is None else d
        bad = np.flatnonzero(widths != want)
        if bad.size:
            at = int(bad[0])
            row = int(np.searchsorted(ends, at, side="right"))
            tok = at - (int(ends[row - 1]) if row else 0)
            raise InputError(f"row {row0 + row}, column {name!r}: token {tok} has {int(widths[at])} values, "
                             f"expected d_in = {want}")
        d = want
    leaf = _storage(inner.flatten())
    if leaf.null_count:
        at = _first_null(leaf) // max(d or 1, 1)
        raise InputError(f"row {row0 + int(np.searchsorted(ends, at, side='right'))}, column {name!r}: "
                         f"a null activation value")
    vals = np.asarray(leaf.to_numpy(zero_copy_only=False))
    if vals.dtype.kind not in "fiu":
        raise InputError(f"column {name!r}: activations must be numbers, got {leaf.type}")
    return ActivationRows(vals.astype(np.float32, copy=False).reshape(-1, d or 0), lengths)
