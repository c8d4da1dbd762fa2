"""Sparse sources give exactly what a dense source of the same values (zeros filled in) gives:
select, match (complete and pooled), quantile thresholds, align and the cell views, at
thresholds above, at and below 0; a very wide sparse source ingests and queries without a
dense positions x units allocation; the states view, the refusals of the SQL forms and the
Parquet export, and atomic ``add_source``."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.errors import LstmvisError
from lstmvis_db.store import add_source, write_project
from lstmvis_db.types import Document, ProjectData, Source, SparseValues, Track

N, D = 360, 24
THRESHOLDS = (0.3, 0.0, -0.2)


def _values(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = np.round(rng.normal(size=(N, D)), 1).astype(np.float32)  # rounded: many ties
    v[rng.random((N, D)) < 0.7] = 0  # mostly zeros, some negative values
    v[:, 5] = 0  # a unit with no stored value at all
    v[100:110, 7] = 0.5  # a run: a match candidate
    return v


def _data(source: Source) -> ProjectData:
    toks = [f"w{i % 13}" for i in range(N)]
    labels = [None if i % 11 == 0 else ("A" if i % 4 == 0 else "B") for i in range(N)]
    return ProjectData("t", toks, [source], documents=[Document("a", 0, 179), Document("b", 180, N - 1)],
                       tracks=[Track("tag", "categorical", labels=labels),
                               Track("score", "scalar", values=np.linspace(0, 1, N))])


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sparse")
    v = _values()
    p, u = np.nonzero(v)
    write_project(folder / "dense.duckdb", _data(Source("s", v)))
    write_project(folder / "sparse.duckdb",
                  _data(Source("s", SparseValues(N, D, p[::-1], u[::-1], v[p, u][::-1]), layout="sparse")))
    with lstmvis_db.open(folder / "dense.duckdb") as dense, lstmvis_db.open(folder / "sparse.duckdb") as sparse:
        yield dense, sparse


def _answer(project, name, args, kw):
    try:
        return getattr(project, name)(*args, **kw)
    except LstmvisError as e:  # the same refusal counts as the same answer
        return ("error", str(e))


def both(pair, name, *args, **kw):
    """The same call on the dense and the sparse project: the same answer (or the same refusal)."""
    a, b = _answer(pair[0], name, args, kw), _answer(pair[1], name, args, kw)
    assert a == b
    return a


def test_storage_holds_only_the_non_zeros(pair):
    dense, sparse = pair
    v = _values()
    assert sparse.info()["sources"][0]["value_dtype"] == "sparse"
    got = sparse.sql("SELECT pos, cell, value FROM states ORDER BY pos, cell")
    assert len(got) == int((v != 0).sum())
    assert np.array_equal(got["value"].to_numpy(np.float32), v[got["pos"], got["cell"]])
    assert np.array_equal(sparse.window("s", 90, 200), dense.window("s", 90, 200))
    assert np.array_equal(sparse.catalog.source("s").min_value, dense.catalog.source("s").min_value)


@pytest.mark.parametrize("t", THRESHOLDS)
def test_select_is_the_dense_answer(pair, t):
    for start, end in [(100, 104), (179, 179), (180, 181), (0, 0), (40, 41)]:
        for left, right in [(1, 0), (0, 0), (2, 3)]:
            both(pair, "select", "s", start, end, t, left, right)
    assert 7 in pair[1].select("s", 100, 105, 0.5, 0, 0)


@pytest.mark.parametrize("t", THRESHOLDS)
def test_match_is_the_dense_answer(pair, t):
    for cells in ([7], [1, 2, 3], [5, 7], list(range(0, D, 3))):
        for cl, cr in [(True, False), (False, False), (True, True)]:
            for pool in (None, 4):
                res = both(pair, "match", "s", cells, t, cl, cr, limit=30, pool=pool)
                assert res["candidates"] or t > 0 or cl
            both(pair, "match", "s", cells, t, cl, cr, length=3)


def test_quantile_thresholds_select_and_match(pair):
    both(pair, "quantile_thresholds", "s", 0.9)
    both(pair, "select", "s", 100, 102, quantile=0.8)
    both(pair, "match", "s", [1, 2, 7], quantile=0.8)


@pytest.mark.parametrize("t", THRESHOLDS)
def test_align_is_the_dense_answer(pair, t):
    for kind in ("top", "all", "strict"):
        both(pair, "align", "s", [7, 2], t, set=kind)


@pytest.mark.parametrize("t", THRESHOLDS)
def test_cell_views_are_the_dense_answer(pair, t):
    both(pair, "cells", "s", "tag", "A", threshold=t)
    both(pair, "cells", "s", "tag", "A", threshold=t, stat="iou", limit=4)
    for cell in (5, 7):
        both(pair, "profile", "s", cell, threshold=t, track="tag", label="A")
    both(pair, "coactivation", "s", [1, 2, 7], threshold=t)
    both(pair, "coactivation", "s", [1, 2, 7], threshold=t, lag=2)
    both(pair, "explain", "s", [7], threshold=t)


def test_cells_ranking_by_quantile(pair):
    both(pair, "cells", "s", "tag", "B", quantile=0.9)


def test_sql_forms_and_parquet_refuse_sparse_sources_in_one_line(pair, tmp_path):
    with pytest.raises(LstmvisError, match="sparse"):
        pair[1].select_sql("s", 1, 2, 0.1)
    with pytest.raises(LstmvisError, match="sparse"):
        pair[1].export(tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_bad_sparse_input_is_one_line(tmp_path):
    bad = [
        (SparseValues(N, D, np.array([0, 0]), np.array([1, 1]), np.array([1.0, 2.0])), "given twice"),
        (SparseValues(N, D, np.array([N]), np.array([1]), np.array([1.0])), "outside"),
        (SparseValues(N, D, np.array([0]), np.array([D]), np.array([1.0])), "outside"),
        (SparseValues(N, D, np.array([0]), np.array([1]), np.array([np.nan])), "non-finite"),
        (SparseValues(N, D, np.array([0, 1]), np.array([1]), np.array([1.0])), "different lengths"),
    ]
    for values, what in bad:
        with pytest.raises(LstmvisError, match=what):
            write_project(tmp_path / "x.duckdb", _data(Source("s", values, layout="sparse")))
        assert not (tmp_path / "x.duckdb").exists()


def test_add_source_is_atomic_and_keeps_the_project(tmp_path):
    path = tmp_path / "p.duckdb"
    write_project(path, _data(Source("s", _values())))
    before = path.read_bytes()
    with pytest.raises(LstmvisError, match="non-finite"):
        add_source(path, Source("z", SparseValues(N, D, np.array([3]), np.array([1]), np.array([np.inf])),
                                layout="sparse"))
    assert path.read_bytes() == before
    v = _values(1)
    add_source(path, Source("z", v, layout="sparse"))  # a dense array stored sparse
    with pytest.raises(LstmvisError, match="already exists"):
        add_source(path, Source("z", v, layout="sparse"))
    add_source(path, Source("z", v * 2, layout="sparse"), replace=True)
    with lstmvis_db.open(path) as p:
        assert p.sources == ["s", "z"]
        assert np.array_equal(p.window("z", 0, N - 1), v * 2)
        assert p.sql("SELECT count(*) AS n FROM states WHERE source = 'z'")["n"][0] == int((v != 0).sum())


def test_a_wide_sparse_source_needs_no_dense_allocation(tmp_path):
    n, d = 2000, 1 << 17
    rng = np.random.default_rng(3)
    k = 6000
    flat = rng.choice(n * d, size=k, replace=False)
    pos, unit = flat // d, flat % d
    value = rng.uniform(0.1, 2.0, size=k).astype(np.float32)
    unit[:40], pos[:40], value[:40] = 70_000, np.arange(500, 540), 1.5  # a run of one unit
    toks = [f"w{i % 7}" for i in range(n)]
    path = tmp_path / "wide.duckdb"
    tracemalloc.start()
    try:
        write_project(path, ProjectData("w", toks, [Source("sae", SparseValues(n, d, pos, unit, value),
                                                           layout="sparse")]))
        with lstmvis_db.open(path) as p:
            assert p.info()["sources"][0]["n_cells"] == d
            assert 70_000 in p.select("sae", 510, 512, 1.0, 0, 0)
            res = p.match("sae", [70_000], 1.0)
            assert res["matches"][0]["start"] == 500 and res["matches"][0]["length"] == 40
            assert len(p.select("sae", 510, 510, -1.0, 0, 0)) == d  # t <= 0: every absent unit is on
            details = p.match_details("sae", [70_000], 1.0, res["matches"][:3])
            assert details["count"].max() == 1
            r0 = p.match("sae", [70_000, 3], 0.0, constrain_left=False)
            assert r0["matches"][0]["intersection"] == 2
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < n * d * 4 / 8  # an n x d float32 array would be 1 GB


def test_a_tampered_sparse_table_is_refused_in_one_line(tmp_path):
    import duckdb

    path = tmp_path / "t.duckdb"
    write_project(path, _data(Source("s", _values(), layout="sparse")))
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE _idx.sp_0 ADD COLUMN x INTEGER")
    con.close()
    with pytest.raises(LstmvisError, match="sp_0' has columns"):
        lstmvis_db.open(path)


def test_a_hypothesis_on_a_sparse_source_saves_and_runs(pair, tmp_path):
    from lstmvis_db.hypotheses.workspace import Workspace

    sparse = pair[1]
    with Workspace(tmp_path / "ws.duckdb") as ws:
        saved = sparse.hypothesis_save("h", "s", [7], 0.5, workspace=ws)
        again = sparse.hypothesis_run("h", workspace=ws)
    assert again["matches"] == sparse.match("s", [7], 0.5)["matches"]
    assert saved


def test_match_details_are_the_dense_answer(pair):
    res = pair[0].match("s", [7, 2], 0.3, limit=10)["matches"]
    a = pair[0].match_details("s", [7, 2], 0.3, res)
    b = pair[1].match_details("s", [7, 2], 0.3, res)
    assert a.equals(b) and len(a)


def test_the_select_chart_draws_at_most_the_limit_of_units():
    from lstmvis_db.views.select_frames import sparse_line_cells

    vals = np.zeros((4, 1000), dtype=np.float32)
    vals[1, :300] = (np.arange(300) + 1) / 100  # 300 units on; the largest are 299, 298, ...
    vals[2, 5] = -9.0  # |value| counts: a strongly negative unit is drawn
    shown, active = sparse_line_cells(vals, [900], limit=10)
    assert active == 300
    assert shown.tolist() == [5, *range(291, 300), 900]
    shown, active = sparse_line_cells(vals[:, 250:], [], limit=100)
    assert active == 50 and len(shown) == 50
