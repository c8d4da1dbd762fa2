"""The cell-set null's fast path (every cell's bits read once, analysis/cellbits.py) gives the
match sets and p of matching each random set with ``match``; align with quantile thresholds."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmvis_db
from lstmvis_db import Document, ProjectData, Source, Track
from lstmvis_db.analysis import cellbits, cellnull
from lstmvis_db.analysis.spans import MatchOptions
from lstmvis_db.errors import LstmvisError, QueryError
from tests.support import ROOT
from tests.support.oracle import oracle_match

N, D = 2400, 150  # three words of cells: sets of more than 64 cells take several output words
DOCS = [(0, 799), (800, 1499), (1500, 1999), (2000, 2399)]


def _values() -> np.ndarray:
    rng = np.random.default_rng(3)
    x = np.zeros((N, D), dtype=np.float32)
    e = rng.normal(size=(N, D)).astype(np.float32)
    for i in range(1, N):  # smooth cells: runs of on-positions, hence candidates of several lengths
        x[i] = 0.8 * x[i - 1] + 0.6 * e[i]
    return np.clip(x / 2, -1, 1)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    rng = np.random.default_rng(4)
    labels = ["A", "B", "C"]
    codes = np.repeat(rng.integers(-1, 3, size=N), rng.integers(1, 7, size=N))[:N]
    path = tmp_path_factory.mktemp("align_speed") / "p.duckdb"
    vals = _values()
    lstmvis_db.write_project(path, ProjectData(
        name="speed", tokens=[f"w{i % 50}" for i in range(N)], sources=[Source("s", vals)],
        documents=[Document(f"d{i}", a, b) for i, (a, b) in enumerate(DOCS)],
        tracks=[Track("t", "categorical", labels=[labels[c] if c >= 0 else None for c in codes], categories=labels)]))
    return path, vals


def _same(fast, plain, cells):
    """Both give the same Spans (kind, starts, lengths, ranked matches) or both find none."""
    try:
        want = plain(cells)
    except QueryError:
        with pytest.raises(QueryError):
            fast(cells)
        return
    got = fast(cells)
    assert got.kind == want.kind
    assert np.array_equal(got.start, want.start) and np.array_equal(got.length, want.length)
    assert got.matches == want.matches


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fast_match_sets_equal_matching_each_set(project, data):
    path, _ = project
    kind = data.draw(st.sampled_from(["top", "all", "strict"]))
    quantile = data.draw(st.sampled_from([None, None, 0.6, 0.85]))
    threshold = None if quantile else data.draw(st.sampled_from([0.0, 0.137, 0.25, 0.5, -2.0, 2.0]))
    opts = MatchOptions(data.draw(st.booleans()), data.draw(st.booleans()), data.draw(st.sampled_from([0, 0, 3])),
                        data.draw(st.sampled_from([None, None, 7])))
    limit = data.draw(st.sampled_from([1, 5, 50]))
    m = data.draw(st.sampled_from([1, 2, 5, 9, 33, 70]))
    with lstmvis_db.open(path) as p:
        cat = p.catalog
        cellbits.drop(cat)
        args = ("s", threshold, quantile, opts, kind, limit)
        fast, plain = cellnull.fast_spans(cat, *args), cellnull.plain_spans(cat, *args)
        rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
        for _ in range(3):
            _same(fast, plain, cellnull.draw(rng, D, m))


def test_cell_bits_are_the_exact_on_bits(project):
    path, vals = project
    with lstmvis_db.open(path) as p:
        for t in (0.137, 0.0):
            bits = cellbits.cell_bits(p.catalog, "s", t)
            assert bits.words.shape == ((D + 63) // 64, N)
            assert np.array_equal(bits.rows(np.arange(N)).astype(bool), vals >= np.float32(t))
            sel = np.array([3, 64, 70, 149])
            one = bits.selected(sel)[:, 0]
            assert one.dtype == np.uint8
            assert np.array_equal([(one >> i) & 1 for i in range(4)], (vals[:, sel] >= np.float32(t)).T)


@pytest.mark.parametrize("kind,t,quantile,limit", [("top", 0.137, None, 50), ("top", 0.137, None, 3),
                                                   ("all", 0.137, None, 50), ("strict", -0.05, None, 50),
                                                   ("top", None, 0.8, 50), ("all", None, 0.8, 50)])
def test_cell_null_fast_equals_plain(project, kind, t, quantile, limit, monkeypatch):
    path, _ = project
    with lstmvis_db.open(path) as p:
        hyp = {"source": "s", "cells": [5, 17, 40], "set": kind, "limit": limit}
        hyp.update({"quantile": quantile} if quantile else {"threshold": t})
        got = p.align(**hyp, null_cells=25, seed=9)
        assert got["cell_null"]["prepare_seconds"] > 0  # the fast path was taken
        plain = cellnull.statistic(p.catalog, cellnull.plain_spans(
            p.catalog, "s", t, quantile, MatchOptions(), kind, limit),
            ["t"], ("contains", "covers", "starts", "ends"), None)
        obs = max(r["lift"] for r in got["tests"] if r["lift"] is not None)
        want = cellnull.run(plain, obs, D, 3, 25, 9, "best_lift", 0.0)
        keys = ("k", "seed", "statistic", "observed", "p")
        assert {k: got["cell_null"][k] for k in keys} == {k: want[k] for k in keys}
        monkeypatch.setattr(cellbits, "fits", lambda cat, source: False)  # too large: the plain path
        again = p.align(**hyp, null_cells=25, seed=9)
        assert again["cell_null"]["prepare_seconds"] == 0
        assert {k: again["cell_null"][k] for k in keys} == {k: want[k] for k in keys}


# --------------------------------------------------------------------------- quantile thresholds


def test_align_at_quantile_thresholds(project):
    path, vals = project
    cells = [5, 17, 40]
    with lstmvis_db.open(path) as p:
        t = p.quantile_thresholds("s", 0.8, cells)
        got = p.align("s", cells, quantile=0.8, tracks=["t"])
        top = p.match("s", cells, quantile=0.8)["matches"]
        want = p.align(spans=([m["start"] for m in top], [m["length"] for m in top]), tracks=["t"])
        assert got["thresholds"] == {str(c): t[c] for c in cells}
        assert got["tests"] == want["tests"] and got["spans"] == len(top)
        every = p.align("s", cells, quantile=0.8, set="all", tracks=["t"])
        shifted = vals.astype(np.float64) - np.array([t.get(c, np.inf) for c in range(D)])[None, :]
        cand = oracle_match(shifted, DOCS, cells, 0.0, True, False, 0, 10**9)["matches"]
        assert every["spans"] == len(cand)
        assert "thresholds" not in p.align("s", cells, 0.2, tracks=["t"])
        with pytest.raises(LstmvisError, match="exactly one"):
            p.align("s", cells, 0.2, quantile=0.8)
        with pytest.raises(LstmvisError, match="quantile"):
            p.align("s", cells, quantile=1.5)
    r = subprocess.run([sys.executable, "-m", "lstmvis_db", "align", "--db", str(path), "--source", "s", "--cells",
                        "5,17,40", "--quantile", "0.8", "--tracks", "t", "--json"], capture_output=True, text=True,
                       cwd=ROOT, check=False, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == json.loads(json.dumps(got))
    for extra in (["--threshold", "0.2"], []):  # both, or neither: one clear line, exit 2
        bad = subprocess.run([sys.executable, "-m", "lstmvis_db", "align", "--db", str(path), "--source", "s",
                              "--cells", "5,17,40", *extra, *(["--quantile", "0.8"] if extra else []), "--json"],
                             capture_output=True, text=True, cwd=ROOT, check=False, timeout=300)
        assert bad.returncode == 2 and bad.stdout == "" and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


# --------------------------------------------------------------------------- many tails at once


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31))
def test_batched_saddlepoint_equals_one_at_a_time(seed):
    """upper_tails_saddlepoint (all labels of one condition at once) = upper_tail per test."""
    from lstmvis_db.analysis import poibin

    rng = np.random.default_rng(seed)
    groups, tests = int(rng.integers(1, 40)), int(rng.integers(1, 12))
    counts = rng.integers(0, 3000, size=groups)
    probs = rng.uniform(0, 0.3, size=(tests, groups)) ** rng.uniform(0.5, 3)
    probs[rng.random(probs.shape) < 0.2] = 0.0
    probs[rng.random(probs.shape) < 0.05] = 1.0
    mean = (probs * counts).sum(axis=1)
    h = np.maximum(0, (mean * rng.uniform(0.5, 3, size=tests) + rng.integers(-3, 30, size=tests))).astype(np.int64)
    got = poibin.upper_tails_saddlepoint(probs, counts, h)
    for t in range(tests):
        want = poibin.upper_tail(probs[t], counts, int(h[t]))
        if got[t] is None:
            assert want.method == "exact" or int(h[t]) >= int(counts[(probs[t] > 0)].sum())
            continue
        assert got[t].method == want.method
        assert got[t].log10_p == pytest.approx(want.log10_p, rel=1e-9, abs=1e-12)


def test_batched_saddlepoint_takes_the_saddle_point_above_20000_spans():
    from lstmvis_db.analysis import poibin

    rng = np.random.default_rng(1)
    probs = rng.uniform(0.001, 0.2, size=(6, 30))
    counts = np.full(30, 3000)
    h = ((probs * counts).sum(axis=1) * np.array([0.5, 1.0, 1.1, 1.5, 2.0, 4.0])).astype(np.int64)
    got = poibin.upper_tails_saddlepoint(probs, counts, h)
    assert all(g is not None and g.method == "saddlepoint" for g in got)
    for t, g in enumerate(got):
        assert g.log10_p == pytest.approx(poibin.upper_tail(probs[t], counts, int(h[t])).log10_p, rel=1e-9, abs=1e-12)
