"""What a first ranking call on a freshly opened project reads and sorts, against the definitions:
the full pass that fetches the exact values of many (cell, position) pairs gives the stored
values whether it gathers them straight from the fetched batches or from copied rows (float32
and float16 projects), and the within-bucket rank offsets equal their definition whether or
not the buckets are in value order."""

from __future__ import annotations

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db import ProjectData, Source
from lstmvis_db.analysis import _exact, _rowpass


def _project(folder, value_dtype: str):
    rng = np.random.default_rng(3)
    values = rng.normal(0, 0.6, size=(900, 9)).astype(np.float32)
    values[rng.random(values.shape) < 0.3] = 0.3
    path = folder / f"{value_dtype}.duckdb"
    lstmvis_db.write_project(path, ProjectData(name="fc", tokens=[f"w{i % 7}" for i in range(900)],
                                               sources=[Source("s", values, transform="none")]),
                             value_dtype=value_dtype)
    stored = values.astype(np.float16).astype(np.float32) if value_dtype == "float16" else values
    return path, stored


def _wanted(n: int, d: int) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(8)
    out = {c: np.flatnonzero(rng.random(n) < 0.2 + 0.07 * c) for c in range(d) if c != 4}
    out[4] = np.zeros(0, np.int64)  # a cell with nothing in some (every) block
    return out


@pytest.mark.parametrize("value_dtype", ["float32", "float16"])
@pytest.mark.parametrize("direct", [True, False])
def test_full_pass_fetch_gives_the_stored_values(tmp_path, monkeypatch, value_dtype, direct):
    path, stored = _project(tmp_path, value_dtype)
    monkeypatch.setattr(_exact, "_IN_MEMORY", 0)
    monkeypatch.setattr(_exact, "_BLOCK", 128)  # many blocks, the last one short, and a full pass
    used = []
    run = _rowpass.gather_runs

    def spy(cat, info, a, b, wanted, out):
        got = run(cat, info, a, b, wanted, out) if direct else False
        used.append(got)
        return got

    monkeypatch.setattr(_rowpass, "gather_runs", spy)
    wanted = _wanted(*stored.shape)
    with lstmvis_db.open(path) as p:
        got = _exact.Exact(p.catalog, p.catalog.source("s")).fetch(wanted)
    assert len(used) == -(-stored.shape[0] // 128) and all(used) == direct
    for c, pos in wanted.items():
        assert got[c].dtype == np.float32
        np.testing.assert_array_equal(got[c], stored[pos, c])


def _offsets_by_definition(values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per value: its average 1-based rank among the values of its bucket, minus (size + 1) / 2."""
    out = np.empty(len(values))
    for i in range(len(values)):
        same = q == q[i]
        below = int((values[same] < values[i]).sum())
        ties = int((values[same] == values[i]).sum())
        out[i] = below + (ties + 1) / 2.0 - (int(same.sum()) + 1) / 2.0
    return out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ordered", [True, False])
def test_bucket_rank_offsets_equal_the_definition(seed, ordered):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    values = (rng.integers(-20, 20, n) / 4.0).astype(np.float32)  # many ties
    values[rng.random(n) < 0.1] = -0.0
    if ordered:  # buckets in value order, as the quantiser makes them
        q = np.floor(values.astype(np.float64) + 5.0).astype(np.int64)
    else:  # not in value order: the sort by value alone would be wrong
        q = rng.integers(0, 6, n).astype(np.int64)
    got = _exact.bucket_rank_offsets(np.arange(n), values, q)
    np.testing.assert_array_equal(got, _offsets_by_definition(values, q))


@pytest.mark.parametrize("k", [1, 2, 3, 40])
def test_positions_in_buckets_equal_the_lookup(k):
    from lstmvis_db.matching.quant import LEVELS

    rng = np.random.default_rng(k)
    codes = rng.integers(0, 60, 5000).astype(np.uint16)
    mark = np.zeros(LEVELS, dtype=bool)
    mark[rng.choice(np.r_[0:61, LEVELS - 1], k, replace=False)] = True  # some buckets no code is in
    want = np.array([i for i in range(len(codes)) if mark[codes[i]]], dtype=np.int64)
    np.testing.assert_array_equal(_exact.in_buckets(codes, mark), want)
