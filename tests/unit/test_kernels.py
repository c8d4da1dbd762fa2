"""The compiled match loops equal their plain definitions; selections wider than one word."""

from __future__ import annotations

import contextlib
import itertools

import duckdb
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import lstmvis_db
from lstmvis_db import Document, ProjectData, Source
from lstmvis_db.matching import kernels
from tests.support.oracle import _candidates, oracle_match


@contextlib.contextmanager
def split_everything():
    """Make the kernels cut even tiny inputs into pieces for the worker threads."""
    old = kernels.PARALLEL_MIN
    kernels.PARALLEL_MIN = 4
    try:
        yield
    finally:
        kernels.PARALLEL_MIN = old


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 7), st.lists(st.integers(0, 7), min_size=1, max_size=80), st.data(), st.booleans())
def test_maximal_runs_equal_definition(m, raw, data, split):
    c = np.minimum(np.array(raw), m)
    n = len(c)
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1), max_size=min(5, n - 1)))) if n > 1 else []
    bounds = [0, *cuts, n]
    docs = [(bounds[i], bounds[i + 1] - 1) for i in range(len(bounds) - 1)]
    length = data.draw(st.sampled_from([0, 0, 1, 2, 3]))
    doc_start = np.zeros(n, dtype=bool)
    doc_end = np.zeros(n, dtype=bool)
    doc_start[[a for a, _ in docs]] = True
    doc_end[[b for _, b in docs]] = True
    with split_everything() if split else contextlib.nullcontext():
        start, ln, level, before, after = kernels.maximal_runs(c, doc_start, doc_end, m, length)
    got = {(int(s), int(x)): int(k) for s, x, k in zip(start, ln, level)}
    assert len(got) == len(start)  # no interval twice
    assert got == _candidates(c, docs, m, length)  # the oracle's definition: per level, highest k
    for s, x, b, a in zip(start, ln, before, after):
        e = s + x - 1
        assert b == (0 if doc_start[s] else c[s - 1])
        assert a == (0 if doc_end[e] else c[e + 1])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_range_and_equals_reduce(n, w, seed):
    rng = np.random.default_rng(seed)
    # dense bits, so that ANDs over short ranges are often non-zero
    words = rng.integers(0, 2**63, size=(n, w), dtype=np.uint64) | rng.integers(0, 2**63, size=(n, w), dtype=np.uint64)
    first = rng.integers(0, n, 30)
    last = np.minimum(first + rng.integers(0, 6, 30), n - 1)
    got = kernels.range_and(words, first.astype(np.int64), last.astype(np.int64))
    for i, (a, b) in enumerate(zip(first, last)):
        np.testing.assert_array_equal(got[i], np.bitwise_and.reduce(words[a:b + 1], axis=0))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 20), st.booleans(), st.integers(0, 15), st.integers(0, 2**32 - 1))
def test_threshold_column_sets_one_bit_at_each_rows_position(j, exact, bit, seed):
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 21, 50).astype(np.uint16)
    pos = rng.permutation(50).astype(np.int32)  # the index's rows come in any order
    other = np.uint16(1 << ((bit + 1) % 16))
    acc = np.full(50, other, dtype=np.uint16)
    amb = np.zeros(50, dtype=bool)
    kernels.threshold_column_at(q, pos, j, exact, acc, bit, amb)
    on = np.zeros(50, dtype=bool)
    on[pos] = q >= j if exact else q > j
    np.testing.assert_array_equal(acc, other | (on.astype(np.uint16) << np.uint16(bit)))
    want_amb = np.zeros(50, dtype=bool)
    if not exact:
        want_amb[pos] = q == j
    np.testing.assert_array_equal(amb, want_amb)
    np.testing.assert_array_equal(kernels.stretches(np.array([3, 4, 6, 7, 8, 2], dtype=np.int32)), [0, 2, 5, 6])
    inverse = np.argsort(pos)  # the same rows in position order, through the contiguous kernel
    acc2 = np.full(50, other, dtype=np.uint16)
    amb2 = np.zeros(50, dtype=bool)
    np.testing.assert_array_equal(kernels.stretches(pos[inverse]), [0, 50])
    kernels.threshold_column(q[inverse], j, exact, acc2, bit, amb2)
    np.testing.assert_array_equal(acc2, acc)
    np.testing.assert_array_equal(amb2, amb)


def test_match_over_more_than_64_cells_equals_oracle(tmp_path):
    """Selections of several 64-bit words: the bits, the intersection and the rescoring."""
    rng = np.random.default_rng(5)
    n, d = 400, 150
    vals = rng.uniform(-1, 1, size=(n, d)).astype(np.float32)
    cells = sorted(rng.choice(d, 100, replace=False).tolist())
    vals[50:58, cells] = 0.8  # one planted run of all selected cells
    vals[49, cells] = vals[58, cells] = -0.8
    docs = [(0, 199), (200, 399)]
    path = tmp_path / "wide.duckdb"
    lstmvis_db.write_project(path, ProjectData(
        name="wide", tokens=[f"w{i}" for i in range(n)],
        documents=[Document(f"d{i}", a, b) for i, (a, b) in enumerate(docs)], sources=[Source("s", vals)]))
    with lstmvis_db.open(path) as p:
        for (t, cl, cr), split in itertools.product(((0.3, True, False), (0.0, True, True), (0.5, False, False)),
                                                    (False, True)):
            with split_everything() if split else contextlib.nullcontext():
                got = p.match("s", cells, t, cl, cr, limit=20)
            want = oracle_match(vals, docs, cells, t, cl, cr, 0, 20)
            assert got["candidates"] == want["candidates"] and got["histogram"] == want["histogram"]
            assert [(g["start"], g["length"], g["intersection"], g["union"]) for g in got["matches"]] == \
                   [(w["start"], w["length"], w["intersection"], w["union"]) for w in want["matches"]]
        assert p.match("s", cells, 0.5, True, True, limit=1)["matches"][0]["start"] == 50


def test_index_rows_in_any_order(tmp_path):
    """The quantised index is written without keeping row order: phase 1 places rows by pos."""
    rng = np.random.default_rng(9)
    n, d = 5000, 12
    vals = rng.uniform(-1, 1, size=(n, d)).astype(np.float32)
    vals[rng.random((n, d)) < 0.2] = 0.3  # on the threshold: the exact look-up
    docs = [(0, 2999), (3000, 4999)]
    path = tmp_path / "order.duckdb"
    lstmvis_db.write_project(path, ProjectData(
        name="order", tokens=[f"w{i}" for i in range(n)],
        documents=[Document(f"d{i}", a, b) for i, (a, b) in enumerate(docs)], sources=[Source("s", vals)]))
    cells = [0, 3, 4, 9]
    want = oracle_match(vals, docs, cells, 0.3, True, False, 0, 30)
    for order in ("pos < 2500, pos",  # two long stretches, swapped
                  "(pos * 7919) % 5000"):  # scattered rows
        con = duckdb.connect(str(path))
        con.execute(f"CREATE OR REPLACE TABLE _idx.q_0 AS SELECT * FROM _idx.q_0 ORDER BY {order}")
        con.close()
        with lstmvis_db.open(path) as p:
            got = p.match("s", cells, 0.3, True, False, limit=30)
        assert got["candidates"] == want["candidates"] and got["histogram"] == want["histogram"]
        assert [(g["start"], g["length"], g["union"]) for g in got["matches"]] == \
               [(w["start"], w["length"], w["union"]) for w in want["matches"]]


def test_warm_up_calls_each_kernel(monkeypatch):
    called = []
    for name in ("maximal_runs", "intersections", "range_and", "threshold_column", "threshold_column_at", "stretches"):
        real = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, _real=real, _name=name: called.append(_name) or _real(*a))
    kernels.warm_up()
    assert sorted(called) == sorted(["maximal_runs", "intersections", "range_and", "threshold_column",
                                     "threshold_column_at", "stretches"])


def test_split_scan_in_a_forked_child():
    """A child forked after the worker threads started gets threads of its own (no hang)."""
    import multiprocessing

    c = np.array([1, 2, 0, 3, 1, 0, 2, 2], dtype=np.uint8)
    ends = np.zeros(8, dtype=bool)
    ends[-1] = True
    starts = np.zeros(8, dtype=bool)
    starts[0] = True
    with split_everything():
        want = kernels.maximal_runs(c, starts, ends, 3, 0)
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1) as pool:
            got = pool.apply_async(kernels.maximal_runs, (c, starts, ends, 3, 0)).get(timeout=60)
    np.testing.assert_array_equal(got, want)


def test_numba_cache_falls_back_to_the_temp_folder(monkeypatch):
    env: dict[str, str] = {}
    monkeypatch.setattr("os.access", lambda path, mode: True)
    kernels.cache_dir_fallback(env)
    assert env == {}  # the package folder is writable: numba's own choice stands
    monkeypatch.setattr("os.access", lambda path, mode: False)
    kernels.cache_dir_fallback(env)
    assert env["NUMBA_CACHE_DIR"].endswith("lstmvis-numba-cache")
    env["NUMBA_CACHE_DIR"] = "/mine"
    kernels.cache_dir_fallback(env)
    assert env["NUMBA_CACHE_DIR"] == "/mine"  # an explicit choice is kept


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 9), st.lists(st.integers(0, 12), min_size=1, max_size=60), st.sets(st.integers(0, 59)),
       st.booleans())
def test_count_rises_equals_the_candidate_bound(m, raw, starts, split):
    from lstmvis_db.matching import budget

    c = np.array(raw, dtype=np.uint16)
    doc_start = np.zeros(len(c), dtype=bool)
    doc_start[[s for s in starts if s < len(c)] + [0]] = True
    with split_everything() if split else contextlib.nullcontext():
        assert kernels.count_rises(c, doc_start, m) == budget.candidate_bound(c, doc_start, m)
