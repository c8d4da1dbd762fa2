"""``arrowcols.values``: the same elements as pyarrow's ``to_numpy``, as a view where it can be."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from lstmvis_db import arrowcols


def _same(got: np.ndarray, arr: pa.Array | pa.ChunkedArray) -> None:
    want = arr.to_numpy(zero_copy_only=False)
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_duckdb_columns_come_as_views_with_their_values() -> None:
    con = duckdb.connect()
    tbl = con.sql("SELECT i::INTEGER AS pos, (i % 16384)::USMALLINT AS q, (i * 0.5)::FLOAT AS v, "
                  "[i::FLOAT, -i::FLOAT] AS arr FROM range(300000) t(i)").to_arrow_table()
    for name in ("pos", "q", "v"):
        col = tbl.column(name)
        _same(arrowcols.values(col), col)
        chunk = col.chunk(0)
        view = arrowcols.values(chunk)
        assert not view.flags.writeable  # a view of the Arrow buffer, not a copy
        assert np.shares_memory(view, np.frombuffer(chunk.buffers()[1], dtype=view.dtype))
    flat = tbl.column("arr").chunk(0).flatten()
    _same(arrowcols.values(flat), flat)


def test_offsets_of_sliced_arrays() -> None:
    base = pa.array(np.arange(1000, dtype=np.float32))
    for lo, n in ((0, 10), (3, 500), (999, 1), (500, 0)):
        part = base.slice(lo, n)
        _same(arrowcols.values(part), part)
    lst = pa.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], type=pa.list_(pa.float32(), 2)).slice(1, 2)
    _same(arrowcols.values(lst.flatten()), lst.flatten())


@pytest.mark.parametrize("arr", [
    pa.array([1, None, 3], type=pa.int32()),  # nulls: to_numpy's float result
    pa.array([True, False, True]),  # bit-packed
    pa.array(["a", "b"]),
    pa.array([1.5, 2.5], type=pa.float16()),
    pa.array([], type=pa.uint16()),
    pa.chunked_array([pa.array([1, 2], type=pa.int64()), pa.array([3], type=pa.int64())]),
    pa.chunked_array([], type=pa.float32()),
])
def test_everything_else_as_to_numpy(arr: pa.Array | pa.ChunkedArray) -> None:
    _same(arrowcols.values(arr), arr)
