"""Selection and matching equal the plain oracle (tests/oracle.py) on random and planted data."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmvis_db
from lstmvis_db import Document, ProjectData, Source
from tests.support.oracle import oracle_match, oracle_select

# values that sit exactly on, just above and just below likely thresholds, so the exact
# comparison inside the quantiser's threshold bucket is exercised
_EDGE = [0.3, np.nextafter(np.float32(0.3), np.float32(1)), np.nextafter(np.float32(0.3), np.float32(-1)),
         0.0, -0.0, 0.5, 0.3 + 1e-6, 0.3 - 1e-6, -0.7, 0.9, 1.0, -1.0]


@st.composite
def corpora(draw):
    n = draw(st.integers(2, 60))
    d = draw(st.integers(1, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    vals = rng.uniform(-1, 1, size=(n, d)).astype(np.float32)
    mask = rng.random((n, d)) < draw(st.floats(0, 0.6))
    vals[mask] = rng.choice(np.array(_EDGE, dtype=np.float32), size=int(mask.sum()))
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=min(4, n - 1)))) if n > 1 else []
    bounds = [0, *cuts, n]
    docs = [(bounds[i], bounds[i + 1] - 1) for i in range(len(bounds) - 1)]
    flat = vals.reshape(-1)
    t = draw(st.one_of(st.sampled_from([0.3, 0.0, 0.5, -0.5]), st.floats(-1.2, 1.2),
                       st.sampled_from(flat.tolist())))
    return vals, docs, float(t)


def _write(tmp: Path, vals: np.ndarray, docs) -> Path:
    path = tmp / "p.duckdb"
    data = ProjectData(
        name="prop", tokens=[f"w{i}" for i in range(len(vals))],
        documents=[Document(f"d{i}", a, b) for i, (a, b) in enumerate(docs)],
        sources=[Source("s", vals)],
    )
    lstmvis_db.write_project(path, data)
    return path


def _same(got: dict, want: dict) -> None:
    assert got["candidates"] == want["candidates"]
    assert got["histogram"] == want["histogram"]
    assert len(got["matches"]) == len(want["matches"])
    for g, w in zip(got["matches"], want["matches"]):
        assert {k: g[k] for k in ("start", "length", "intersection", "union", "missing")} == \
               {k: w[k] for k in ("start", "length", "intersection", "union", "missing")}
        assert g["jaccard"] == pytest.approx(w["jaccard"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), st.data())
def test_select_equals_oracle(corpus, data):
    vals, docs, t = corpus
    n = len(vals)
    start = data.draw(st.integers(0, n - 1))
    _, last = next((a, b) for a, b in docs if a <= start <= b)
    end = data.draw(st.integers(start, last))
    lo, ro = data.draw(st.integers(0, 4)), data.draw(st.integers(0, 4))
    with tempfile.TemporaryDirectory() as tmp, lstmvis_db.open(_write(Path(tmp), vals, docs)) as p:
        assert p.select("s", start, end, t, lo, ro) == oracle_select(vals, docs, start, end, t, lo, ro)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), st.data())
def test_match_equals_oracle(corpus, data):
    vals, docs, t = corpus
    d = vals.shape[1]
    cells = data.draw(st.lists(st.integers(0, d - 1), min_size=1, max_size=d, unique=True))
    cl, cr = data.draw(st.booleans()), data.draw(st.booleans())
    length = data.draw(st.sampled_from([0, 0, 0, 1, 2, 3]))
    limit = data.draw(st.integers(1, 12))
    pool = data.draw(st.sampled_from([None, None, 1, 3, 10]))
    with tempfile.TemporaryDirectory() as tmp, lstmvis_db.open(_write(Path(tmp), vals, docs)) as p:
        got = p.match("s", cells, t, cl, cr, length, limit, pool)
    _same(got, oracle_match(vals, docs, cells, t, cl, cr, length, limit, pool))


def _planted(n=3000, d=40, seed=1):
    rng = np.random.default_rng(seed)
    vals = (rng.uniform(-1, 0.6, size=(n, d)) * (rng.random((n, d)) < 0.8)).astype(np.float32)
    cells = [3, 11, 17, 29]
    starts = np.arange(20, n - 20, 150)
    for s in starts:
        vals[s - 1, cells] = -0.5
        vals[s:s + 5, cells] = 0.9
        vals[s + 5, cells] = -0.5
    return vals, cells, starts


def test_planted_pattern_found_across_documents(tmp_path):
    vals, cells, starts = _planted()
    docs = [(0, 1499), (1500, 2999)]
    with lstmvis_db.open(_write(tmp_path, vals, docs)) as p:
        sel = p.select("s", int(starts[0]), int(starts[0]) + 4, 0.7, 1, 1)
        assert set(cells) <= set(sel)
        res = p.match("s", cells, 0.7, True, True, limit=len(starts))
        assert {m["start"] for m in res["matches"]} == set(starts.tolist())
        assert all(m["missing"] == 0 and m["length"] == 5 for m in res["matches"])
        _same(res, oracle_match(vals, docs, cells, 0.7, True, True, 0, len(starts)))


def test_run_to_last_position_with_right_constraint(tmp_path):
    """The original's HTTP 500: a qualifying run at the corpus end with the right constraint."""
    vals = np.full((10, 3), -1.0, dtype=np.float32)
    vals[7:, 0] = 1.0
    vals[2:4, 0] = 1.0
    with lstmvis_db.open(_write(tmp_path, vals, [(0, 9)])) as p:
        res = p.match("s", [0], 0.5, True, True)
    assert {(m["start"], m["length"]) for m in res["matches"]} == {(7, 3), (2, 2)}
    assert res == oracle_match(vals, [(0, 9)], [0], 0.5, True, True) | {"matches": res["matches"]}


def test_runs_never_cross_documents(tmp_path):
    vals = np.ones((8, 1), dtype=np.float32)
    with lstmvis_db.open(_write(tmp_path, vals, [(0, 3), (4, 7)])) as p:
        res = p.match("s", [0], 0.5, True, False)
    assert sorted((m["start"], m["length"]) for m in res["matches"]) == [(0, 4), (4, 4)]


def test_thresholds_outside_value_range(tmp_path):
    vals = np.random.default_rng(0).uniform(-0.5, 0.5, size=(30, 4)).astype(np.float32)
    with lstmvis_db.open(_write(tmp_path, vals, [(0, 29)])) as p:
        assert p.select("s", 3, 5, 5.0) == []
        assert p.match("s", [0, 1], 5.0)["matches"] == []
        assert p.select("s", 3, 5, -5.0, 0, 0) == [0, 1, 2, 3]
        everything = p.match("s", [0, 1], -5.0)
        assert everything["matches"][0] == {"start": 0, "length": 30, "intersection": 2, "union": 4,
                                            "jaccard": 0.5, "missing": 0}


def test_one_position_range_and_empty_selection(tmp_path):
    vals = np.array([[0.9, -0.9], [0.9, 0.9], [-0.9, 0.9]], dtype=np.float32)
    with lstmvis_db.open(_write(tmp_path, vals, [(0, 2)])) as p:
        assert p.select("s", 1, 1, 0.5, 1, 0) == [1]
        assert p.select("s", 1, 1, 0.5, 1, 1) == []
        assert p.match("s", [], 0.5) == {"matches": [], "histogram": {"fuzzy": {}, "strict": {}}, "candidates": 0}
        one = p.match("s", [1], 0.5, length=1)
        assert one["histogram"]["fuzzy"] == {}  # the run of cell 1 is 2 long, not 1


def test_match_details_rows(tmp_path):
    vals, cells, _ = _planted(n=600, d=40)
    docs = [(0, 299), (300, 599)]
    path = tmp_path / "d.duckdb"
    lstmvis_db.write_project(path, ProjectData(
        name="d", tokens=[f"w{i}" for i in range(600)],
        documents=[Document(f"d{i}", a, b) for i, (a, b) in enumerate(docs)],
        sources=[Source("s", vals)],
        tracks=[lstmvis_db.Track("parity", "categorical", labels=["even", "odd"] * 300),
                lstmvis_db.Track("pos", "categorical", labels=["DT", "NN", "VB"] * 200),
                lstmvis_db.Track("x", "scalar", values=np.arange(600, dtype=float))],
    ))
    with lstmvis_db.open(path) as p:
        res = p.match("s", cells, 0.7, True, True, limit=3)
        det = p.match_details("s", cells, 0.7, res["matches"], left=3, right=8)
        win = p.window("s", 0, 599)
    for i, m in enumerate(res["matches"]):
        rows = det[det["row"] == i]
        s = m["start"]
        first, last = next((a, b) for a, b in docs if a <= s <= b)
        want = list(range(max(first, s - 3), min(last, s + m["length"] - 1 + 8) + 1))
        assert rows["pos"].tolist() == want
        assert rows["token"].tolist() == [f"w{q}" for q in want]
        assert rows["count"].tolist() == [int((win[q, cells] >= 0.7).sum()) for q in want]
        assert rows["parity"].tolist() == ["even" if q % 2 == 0 else "odd" for q in want]
        assert rows["x"].tolist() == [float(q) for q in want]
        assert rows["pos (track)"].tolist() == [["DT", "NN", "VB"][q % 3] for q in want]
        assert rows.loc[rows["in_match"], "pos"].tolist() == list(range(s, s + m["length"]))
    np.testing.assert_array_equal(win, vals)


def test_window_rows_are_put_in_position_order_whatever_order_they_arrive_in() -> None:
    from lstmvis_db.queries import _in_order

    pos = np.array([3, 4, 1, 2, 0])
    vals = np.arange(10, dtype=np.float32).reshape(5, 2) + pos[:, None] * 100
    got = _in_order(pos, vals)
    assert np.array_equal(got[:, 0] // 100, np.arange(5)) and np.array_equal(got[0], vals[4])
    assert _in_order(np.arange(5), vals) is vals  # already in order: no copy
