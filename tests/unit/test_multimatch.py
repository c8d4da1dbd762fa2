"""A cell set over several sources equals the one-source oracle on the sources side by side,
each cell compared with its own source's threshold."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmvis_db
from lstmvis_db import Document, ProjectData, Source, cli
from tests.support.oracle import oracle_match
from tests.unit.test_queries import _same

_EDGE = np.array([0.3, -0.2, 0.0, 0.5, 0.9, -1.0], dtype=np.float32)


@st.composite
def two_sources(draw):
    n = draw(st.integers(2, 50))
    d1, d2 = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = rng.uniform(-1, 1, (n, d1)).astype(np.float32)
    b = rng.uniform(-2, 2, (n, d2)).astype(np.float32)
    for arr in (a, b):
        mask = rng.random(arr.shape) < 0.3
        arr[mask] = rng.choice(_EDGE, size=int(mask.sum()))
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=min(3, n - 1))))
    bounds = [0, *cuts, n]
    docs = [(bounds[i], bounds[i + 1] - 1) for i in range(len(bounds) - 1)]
    ta = draw(st.sampled_from([0.3, 0.0, -0.2, 0.5]))
    tb = draw(st.sampled_from([0.3, 0.0, 0.9, -1.0]))
    return a, b, docs, ta, tb


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_sources(), st.data())
def test_match_sources_equals_oracle_side_by_side(case, data):
    a, b, docs, ta, tb = case
    ca = sorted(data.draw(st.sets(st.integers(0, a.shape[1] - 1), min_size=1)))
    cb = sorted(data.draw(st.sets(st.integers(0, b.shape[1] - 1), max_size=b.shape[1])))
    cl, cr = data.draw(st.booleans()), data.draw(st.booleans())
    length, limit = data.draw(st.sampled_from([0, 0, 2, 3])), data.draw(st.integers(1, 20))
    # side by side, each source shifted by its threshold: "on" is >= 0 for every cell
    # (a source without query cells takes no part: its cells are not scored)
    both = np.hstack([a.astype(np.float64) - ta, *([b.astype(np.float64) - tb] if cb else [])])
    want = oracle_match(both, docs, [*ca, *(c + a.shape[1] for c in cb)], 0.0, cl, cr, length, limit)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.duckdb"
        lstmvis_db.write_project(path, ProjectData(
            name="two", tokens=[f"w{i}" for i in range(len(a))], sources=[Source("a", a), Source("b", b)],
            documents=[Document(f"d{i}", x, y) for i, (x, y) in enumerate(docs)]))
        with lstmvis_db.open(path) as p:
            got = p.match_sources([("a", ca, ta), ("b", cb, tb)], cl, cr, length, limit)
            if not cb:  # one source alone: exactly the ordinary match
                assert got == p.match("a", ca, ta, cl, cr, length, limit)
    _same(got, want)


def test_bad_parts_and_cli(tmp_path, capsys):
    path = tmp_path / "p.duckdb"
    vals = np.array([[0.9, 0.1], [0.9, 0.9], [0.1, 0.9]], dtype=np.float32)
    lstmvis_db.write_project(path, ProjectData(name="t", tokens=["a", "b", "c"],
                                               sources=[Source("x::h", vals), Source("y", -vals)]))
    with lstmvis_db.open(path) as p:
        for parts, words in (([], "at least one"), ([("x::h", [0], 0.5), ("x::h", [1], 0.5)], "twice"),
                             ([("nope", [0], 0.5)], "nope"), ([("x::h", [5], 0.5)], "unknown cell"),
                             ([("x::h", [0], float("nan"))], "finite"), ([("x::h", [0])], "source, cells")):
            with pytest.raises(lstmvis_db.LstmvisError, match=words):
                p.match_sources(parts)
        assert p.match_sources([("x::h", [], 0.5)])["candidates"] == 0
        want = p.match_sources([("x::h", [0], 0.5), ("y", [1], -0.5)])
    assert cli.main(["match", "--db", str(path), "--source", "x::h", "--cells", "0", "--threshold", "0.5",
                     "--also", "y:1@-0.5", "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out) == want
    for also in ("y", "y:1@", "y:a"):
        assert cli.main(["match", "--db", str(path), "--source", "x::h", "--cells", "0", "--threshold", "0.5",
                         "--also", also]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--also" in err[0]
