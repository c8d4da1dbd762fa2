"""The label's exact re-ranking kept at ingest for tracks of few labels (analysis/kept_offsets.py,
docs/performance.md §Kept at ingest): rankings from the kept sums equal those computed from the
exact values (on random corpora with values piled on ties), the stored sums equal an oracle's,
and files without the table, tracks of more labels, damaged rows and replaced tracks answer
exactly as before."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.analysis import _labels, kept, kept_offsets
from lstmvis_db.store import write_track
from lstmvis_db.types import Track
from tests.support.cells_oracle import copy_project, random_corpus


@pytest.fixture(autouse=True)
def _keep_small_sources(monkeypatch):
    monkeypatch.setattr(kept, "MIN_VALUES", 0)


@pytest.fixture
def used(monkeypatch):
    """How often a ranking took the label's re-ranking from the kept sums / computed it."""
    count = {"kept": 0, "computed": 0}
    orig = kept_offsets.label_sum

    def label_sum(*args):
        got = orig(*args)
        count["kept" if got is not None else "computed"] += 1
        return got

    monkeypatch.setattr(kept_offsets, "label_sum", label_sum)
    return count


def _copy(path, tmp_path, name, drop):
    return copy_project(path, tmp_path, name, [f"DROP TABLE _idx.{table}" for table in drop])


def _answers(path):
    out = []
    with lstmvis_db.open(path) as p:
        for source in ("s", "t", "all"):
            for track, label in (("kind", "y"), ("kind", "x"), ("tag", "A"), ("tag", "C")):
                out.append(p.cells(source, track, label, threshold=0.3))
                out.append(p.cells(source, track, label, threshold=0.05, stat="iou"))
                out.append(p.cells(source, track, label, quantile=0.8, stat="mean_diff"))
                out.append(p.cells(source, track, label))
        out.append(p.cells("s", "kind", "y", threshold=0.3, control_seed=3))
    return out


def _first_calls(path):
    """One first ranking per track and source, each on a freshly opened project."""
    out = []
    for source in ("s", "t"):
        for track, label in (("kind", "y"), ("tag", "B")):
            with lstmvis_db.open(path) as p:
                out.append(p.cells(source, track, label, threshold=0.3))
    return out


@pytest.mark.parametrize("seed", [1, 4, 7])
def test_kept_and_computed_rankings_are_identical(tmp_path, used, seed):
    c = random_corpus(tmp_path, seed=seed, n=600, d=7)
    without = _copy(c.path, tmp_path, "without", ["cell_offsets"])
    nothing = _copy(c.path, tmp_path, "nothing", ["cell_offsets", "cell_stats"])
    got = _first_calls(c.path) + _answers(c.path)
    assert used["kept"] > 0 and used["computed"] == 0  # every refined cell from the kept sums
    used["kept"] = 0
    assert got == _first_calls(without) + _answers(without)
    assert used["kept"] == 0 and used["computed"] > 0  # the same cells computed from the exact values
    assert got == _first_calls(nothing) + _answers(nothing)


def _oracle_sums(values, q, labels, k, buckets):
    """Per (label, bucket): the sum over the label's positions in the bucket of (the value's
    average rank among the bucket's labelled values) - (the bucket's size + 1) / 2."""
    out = np.zeros((k, len(buckets)))
    for j, b in enumerate(buckets):
        at = np.flatnonzero((q == b) & (labels >= 0))
        v = values[at].astype(np.float64)
        for i, x in zip(at, v):
            rank = (v < x).sum() + ((v == x).sum() + 1) / 2.0
            out[labels[i], j] += rank - (len(v) + 1) / 2.0
    return out


def test_stored_sums_equal_the_oracle(tmp_path):
    c = random_corpus(tmp_path, seed=3, n=500, d=6)
    with lstmvis_db.open(c.path) as p:
        cat = p.catalog
        checked = 0
        for source in ("s", "t"):
            info = cat.source(source)
            values = p.window(source, 0, cat.n_positions - 1)
            for track in ("kind", "tag"):
                stored = kept_offsets.load(cat, info, track)
                assert stored
                tr = _labels.categorical(cat, track)
                for cell, (buckets, sums) in stored.items():
                    q = _labels.quantized_columns(cat, info, np.array([cell]))[:, 0].astype(np.int64)
                    want = _oracle_sums(values[:, cell], q, tr.codes, len(tr.labels), buckets)
                    np.testing.assert_array_equal(sums, want)  # exact half-integer sums
                    checked += 1
        assert checked > 4


def _per_label_marks(codes, group, k, tol):
    """The union of each label's plan as the ranking's own pass (``label_stats``, two groups:
    the other labels, the label) marks it, one pass per label."""
    from lstmvis_db.analysis import _cell_kernels
    from lstmvis_db.matching.quant import LEVELS

    d = codes.shape[0]
    union = np.zeros((d, LEVELS), dtype=bool)
    for g in range(k):
        y_full = np.where(group < 0, -1, (group == g).astype(np.int32)).astype(np.int32)
        est, bound, on = np.empty((d, 2)), np.empty((d, 2)), np.zeros((d, 2), dtype=np.int64)
        mark_lab, mark_ctl = np.zeros((d, LEVELS), dtype=bool), np.zeros((d, LEVELS), dtype=bool)
        _cell_kernels.label_stats(codes, 0, d, y_full, 2, np.zeros(1, dtype=np.int8), np.full(d, LEVELS),
                                  np.ones(d, dtype=bool), tol, 1, est, bound, on, mark_lab, mark_ctl,
                                  np.zeros(1, dtype=np.int32), np.zeros((0, 1), dtype=np.int64))
        union |= mark_lab
    return union


@pytest.mark.parametrize("seed", range(4))
def test_one_pass_marks_every_labels_plan(seed):
    """``label_plans`` (one pass, all labels) marks exactly the union of the labels' own plans."""
    from lstmvis_db.analysis import _cell_kernels
    from lstmvis_db.matching.quant import LEVELS

    rng = np.random.default_rng(seed)
    n, d, k = 3000, 5, int(rng.integers(2, 12))
    codes = rng.integers(0, LEVELS, size=(d, n)).astype(np.uint16)
    piled = rng.random((d, n)) < 0.5  # a few heavy buckets, shared by every label
    codes[piled] = rng.choice(np.array([7, 8000, 8001, 16383], np.uint16), size=int(piled.sum()))
    group = rng.integers(-1, k, size=n).astype(np.int32)
    group[(group == k - 1) & (rng.random(n) < 0.8)] = 0  # one label rarer
    for g in range(k):  # and a bucket of each label's own, shared with a few others: its plan marks it
        own = ((group == g) & (rng.random((d, n)) < 0.3)) | (rng.random((d, n)) < 0.01)
        codes[own] = 100 + g
    for tol in (1e-4, 1e-2):
        mark = np.zeros((d, LEVELS), dtype=bool)
        _cell_kernels.label_plans(codes, 0, d, group, k, tol, mark)
        want = _per_label_marks(codes, group, k, tol)
        assert want.any()
        np.testing.assert_array_equal(mark, want)


def test_a_track_of_many_labels_is_kept(tmp_path, used):
    c = random_corpus(tmp_path, seed=8, n=700, d=6)
    rng = np.random.default_rng(1)
    names = [f"L{i}" for i in range(11)]
    write_track(c.path, Track("many", "categorical", labels=rng.choice(names, 700).tolist()))
    without = _copy(c.path, tmp_path, "without", ["cell_offsets"])

    def firsts(path):
        out = []
        for label in ("L0", "L4", "L10"):
            with lstmvis_db.open(path) as p:
                out.append(p.cells("s", "many", label, threshold=0.3))
                out.append(p.cells("t", "many", label))
        return out

    got = firsts(c.path)
    assert used["kept"] > 0 and used["computed"] == 0
    used["kept"] = 0
    assert got == firsts(without)
    assert used["kept"] == 0 and used["computed"] > 0


def test_sums_over_the_budget_are_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(kept_offsets, "MAX_BYTES", 0)
    c = random_corpus(tmp_path, seed=2, n=400, d=5)
    with duckdb.connect(str(c.path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM _idx.cell_offsets").fetchone() == (0,)
    with lstmvis_db.open(c.path) as p:  # and the rankings are computed as for an older file
        assert p.cells("s", "tag", "A", threshold=0.3)


def test_tracks_of_more_labels_are_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(kept_offsets, "MAX_LABELS", 2)
    c = random_corpus(tmp_path, seed=2, n=400, d=5)
    with duckdb.connect(str(c.path), read_only=True) as con:
        tracks = {t for (t,) in con.execute("SELECT DISTINCT track FROM _idx.cell_offsets").fetchall()}
    assert tracks == {"kind"}  # "tag" has 3 labels


def test_damaged_or_partial_rows_fall_back(tmp_path, used):
    c = random_corpus(tmp_path, seed=5, n=600, d=7)
    want = _first_calls(c.path)
    partial = _copy(c.path, tmp_path, "partial", [])
    with duckdb.connect(str(partial)) as con:  # every kept cell loses its heaviest bucket
        con.execute("UPDATE _idx.cell_offsets SET buckets = buckets[2:], dev = dev[2:] WHERE track = 'kind' "
                    "AND len(buckets) > 1")
    used["kept"] = used["computed"] = 0
    assert _first_calls(partial) == want
    assert used["computed"] > 0
    damaged = _copy(c.path, tmp_path, "damaged", [])
    with duckdb.connect(str(damaged)) as con:  # sums that do not fit the buckets
        con.execute("UPDATE _idx.cell_offsets SET dev = dev[2:]")
    assert _first_calls(damaged) == want
    with lstmvis_db.open(damaged) as p:
        assert kept_offsets.load(p.catalog, p.catalog.source("s"), "kind") is None


def test_a_replaced_track_is_kept_anew(tmp_path, used):
    c = random_corpus(tmp_path, seed=6, n=500, d=6)
    rng = np.random.default_rng(0)
    write_track(c.path, Track("kind", "categorical", labels=rng.choice(["x", "y", "z"], 500).tolist()), replace=True)
    without = _copy(c.path, tmp_path, "without", ["cell_offsets", "cell_stats"])
    used["kept"] = used["computed"] = 0
    got = _first_calls(c.path)
    assert used["kept"] > 0 and used["computed"] == 0
    assert got == _first_calls(without)
    write_track(c.path, Track("kind", "scalar", values=rng.normal(size=500)), replace=True)
    with duckdb.connect(str(c.path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM _idx.cell_offsets WHERE track = 'kind'").fetchone() == (0,)
