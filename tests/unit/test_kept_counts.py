"""Every cell's per-bucket label counts kept at ingest for tracks of few labels
(analysis/kept_counts.py, docs/performance.md §Kept at ingest): a first ranking taken from them
equals the one from the codes, bit for bit, at no threshold and at thresholds on bucket edges;
thresholds inside a bucket, other control seeds, files without the table, damaged rows and
replaced tracks go through the codes and answer the same; the stored counts equal an oracle's."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.analysis import _labels, kept, kept_counts, selectivity
from lstmvis_db.matching.quant import LEVELS
from lstmvis_db.store import write_track
from lstmvis_db.types import Track
from tests.support.cells_oracle import copy_project, random_corpus


@pytest.fixture(autouse=True)
def _keep_small_sources(monkeypatch):
    monkeypatch.setattr(kept, "MIN_VALUES", 0)


@pytest.fixture
def used(monkeypatch):
    """How many rankings took the label's pass from the kept counts."""
    count = {"counts": 0}
    orig = kept_counts.label_stats

    def label_stats(*args):
        count["counts"] += 1
        return orig(*args)

    monkeypatch.setattr(kept_counts, "label_stats", label_stats)
    return count


def _edge(path, source):
    """A threshold on a bucket edge of ``source`` near 0.3."""
    with lstmvis_db.open(path) as p:
        q = p.catalog.source(source).quant
        j, _ = q.threshold_bucket(0.3)
        t = float(q.boundary(j + 1))
        assert q.threshold_bucket(t)[1]
        return t


def _first_calls(path, thresholds):
    """Each ranking on a freshly opened project (nothing in memory), then a second label."""
    out = []
    for source in ("s", "t"):
        for track, labels in (("kind", ("y", "x")), ("tag", ("A", "C"))):
            for kw in ({}, {"threshold": thresholds[source]}, {"threshold": thresholds[source], "stat": "iou"}):
                with lstmvis_db.open(path) as p:
                    out += [p.cells(source, track, lab, **kw) for lab in labels]
    return out


@pytest.mark.parametrize("seed", [1, 7])
def test_rankings_from_the_counts_equal_those_from_the_codes(tmp_path, used, seed):
    c = random_corpus(tmp_path, seed=seed, n=600, d=7)
    th = {s: _edge(c.path, s) for s in ("s", "t")}
    got = _first_calls(c.path, th)
    assert used["counts"] == 2 * 2 * 3 * 2  # every call: two sources, two tracks, three forms, two labels
    without = copy_project(c.path, tmp_path, "without", ["DROP TABLE _idx.cell_counts"])
    used["counts"] = 0
    assert got == _first_calls(without, th)
    assert used["counts"] == 0
    nothing = copy_project(c.path, tmp_path, "nothing",
                           [f"DROP TABLE _idx.{t}" for t in ("cell_counts", "cell_offsets", "cell_stats")])
    assert got == _first_calls(nothing, th)


def test_a_threshold_inside_a_bucket_or_another_seed_reads_the_codes(tmp_path, used):
    c = random_corpus(tmp_path, seed=2, n=500, d=6)
    inside = {s: _edge(c.path, s) + 1e-5 for s in ("s", "t")}
    without = copy_project(c.path, tmp_path, "without", ["DROP TABLE _idx.cell_counts"])
    with lstmvis_db.open(c.path) as p:
        assert not p.catalog.source("s").quant.threshold_bucket(inside["s"])[1]
    got = _first_calls(c.path, inside)
    with lstmvis_db.open(c.path) as p:
        got.append(p.cells("s", "kind", "y", threshold=_edge(c.path, "s"), control_seed=3))
        got.append(p.cells("s", "kind", "y", quantile=0.8))
    assert used["counts"] == 2 * 2 * 2  # only the calls without a threshold
    want = _first_calls(without, inside)
    with lstmvis_db.open(without) as p:
        want.append(p.cells("s", "kind", "y", threshold=_edge(c.path, "s"), control_seed=3))
        want.append(p.cells("s", "kind", "y", quantile=0.8))
    assert got == want


def test_stored_counts_equal_the_oracle(tmp_path):
    c = random_corpus(tmp_path, seed=3, n=500, d=6)
    with lstmvis_db.open(c.path) as p:
        cat = p.catalog
        for source in ("s", "t"):
            info = cat.source(source)
            q = _labels.quantized_columns(cat, info, np.arange(info.n_cells)).astype(np.int64)
            for track in ("kind", "tag"):
                got = kept_counts.load(cat, info, track)
                assert got is not None
                tr = _labels.categorical(cat, track)
                k = len(tr.labels)
                ctrl = selectivity.control_codes(tr.codes, _labels.token_types(cat), k, kept.SEED)
                lab = tr.codes >= 0
                for cell in range(info.n_cells):
                    want = np.zeros((LEVELS, 2 * k), dtype=np.int64)
                    np.add.at(want, (q[lab, cell], tr.codes[lab]), 1)
                    np.add.at(want, (q[lab, cell], k + ctrl[lab]), 1)
                    full = np.flatnonzero(want.any(axis=1))
                    a, b = got.start[cell], got.start[cell + 1]
                    np.testing.assert_array_equal(got.buckets[a:b], full)
                    np.testing.assert_array_equal(got.counts[a * 2 * k:b * 2 * k], want[full].ravel())


def test_tracks_of_more_labels_are_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(kept_counts, "MAX_LABELS", 2)
    c = random_corpus(tmp_path, seed=2, n=400, d=5)
    with duckdb.connect(str(c.path), read_only=True) as con:
        tracks = {t for (t,) in con.execute("SELECT DISTINCT track FROM _idx.cell_counts").fetchall()}
    assert tracks == {"kind"}  # "tag" has 3 labels


@pytest.fixture(scope="module")
def damaged_base(tmp_path_factory):
    """One corpus and its first rankings of track ``kind`` from the kept counts."""
    mp = pytest.MonkeyPatch()
    mp.setattr(kept, "MIN_VALUES", 0)
    folder = tmp_path_factory.mktemp("damaged")
    c = random_corpus(folder, seed=5, n=600, d=7)
    mp.undo()
    th = _edge(c.path, "s")
    return c.path, th, _kind_calls(c.path, th)


def _kind_calls(path, th):
    out = []
    for kw in ({}, {"threshold": th}):
        with lstmvis_db.open(path) as p:
            out += [p.cells("s", "kind", lab, **kw) for lab in ("y", "x")]
    return out


@pytest.mark.parametrize("damage", [
    "UPDATE _idx.cell_counts SET buckets = list_transform(buckets, lambda b: b + 16384) WHERE cell = 2",
    "UPDATE _idx.cell_counts SET buckets = list_reverse(buckets) WHERE cell = 1",
    "UPDATE _idx.cell_counts SET counts = list_transform(counts, lambda x: x * 2) WHERE cell = 0",
    "UPDATE _idx.cell_counts SET counts = counts[2:] WHERE cell = 3",
    "UPDATE _idx.cell_counts SET counts = list_transform(counts, lambda x: -x) WHERE cell = 4",
    "DELETE FROM _idx.cell_counts WHERE cell = 5",
])
def test_damaged_rows_fall_back_to_the_codes(tmp_path, used, damaged_base, damage):
    path, th, want = damaged_base
    bad = copy_project(path, tmp_path, "bad", [damage])
    assert _kind_calls(bad, th) == want
    assert used["counts"] == 0
    with lstmvis_db.open(bad) as p:
        assert kept_counts.load(p.catalog, p.catalog.source("s"), "kind") is None


def test_a_replaced_track_is_counted_anew(tmp_path, used):
    c = random_corpus(tmp_path, seed=6, n=500, d=6)
    rng = np.random.default_rng(0)
    write_track(c.path, Track("kind", "categorical", labels=rng.choice(["x", "y", "z"], 500).tolist()), replace=True)
    th = {s: _edge(c.path, s) for s in ("s", "t")}
    without = copy_project(c.path, tmp_path, "without", ["DROP TABLE _idx.cell_counts"])
    used["counts"] = 0
    got = _first_calls(c.path, th)
    assert used["counts"] == 2 * 2 * 3 * 2
    assert got == _first_calls(without, th)
    write_track(c.path, Track("kind", "scalar", values=rng.normal(size=500)), replace=True)
    with duckdb.connect(str(c.path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM _idx.cell_counts WHERE track = 'kind'").fetchone() == (0,)


def test_an_added_or_replaced_source_leaves_one_currentcopy_project(tmp_path, used):
    """add_source keeps the new source's statistics only, and a source replaced by one that is
    not kept (sparse) leaves nothing stale behind for a reader to take."""
    from lstmvis_db.store import add_source
    from lstmvis_db.types import Source

    c = random_corpus(tmp_path, seed=8, n=400, d=5)
    rng = np.random.default_rng(1)
    add_source(c.path, Source("u", rng.normal(size=(400, 4)).astype(np.float32)))
    dense = rng.normal(size=(400, 5)).astype(np.float32)
    dense[rng.random(dense.shape) < 0.7] = 0.0
    add_source(c.path, Source("s", dense, layout="sparse"), replace=True)
    with duckdb.connect(str(c.path), read_only=True) as con:
        for table, per in (("cell_stats", None), ("cell_offsets", None), ("cell_counts", "cell")):
            got = dict(con.execute(f"SELECT source || '/' || track, count(*) FROM _idx.{table} "
                                   "GROUP BY ALL").fetchall())
            assert not any(k.startswith("s/") for k in got), table  # the sparse "s" is not kept
            if per:
                assert got == {"t/kind": 5, "t/tag": 5, "u/kind": 4, "u/tag": 4}
        assert con.execute("SELECT count(*) FROM (SELECT DISTINCT * FROM _idx.cell_stats)").fetchone() == \
            con.execute("SELECT count(*) FROM _idx.cell_stats").fetchone()
    without = copy_project(c.path, tmp_path, "without", [f"DROP TABLE _idx.{t}" for t in ("cell_counts", "cell_offsets",
                                                                                 "cell_stats")])
    used["counts"] = 0
    got = []
    for source in ("s", "t", "u"):
        with lstmvis_db.open(c.path) as p:
            got.append(p.cells(source, "kind", "y"))
    assert used["counts"] == 2  # "t" and "u" from their kept counts
    want = []
    for source in ("s", "t", "u"):
        with lstmvis_db.open(without) as p:
            want.append(p.cells(source, "kind", "y"))
    assert got == want


def test_counts_over_the_budget_are_not_kept(tmp_path, used, monkeypatch):
    monkeypatch.setattr(kept_counts, "MAX_BYTES", 30_000)  # under 5 cells x 400 positions x (1 + 2k) x 4 bytes
    c = random_corpus(tmp_path, seed=9, n=400, d=5)
    with duckdb.connect(str(c.path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM _idx.cell_counts").fetchone() == (0,)
    th = {s: _edge(c.path, s) for s in ("s", "t")}
    got = _first_calls(c.path, th)
    assert used["counts"] == 0
    nothing = copy_project(c.path, tmp_path, "nothing", ["DROP TABLE _idx.cell_counts"])
    assert got == _first_calls(nothing, th)
