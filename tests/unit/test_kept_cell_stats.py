"""What the ranking keeps at ingest (docs/performance.md §Kept at ingest): the stored control
AUROCs and per-label sums equal what the first call computes on demand, on random small corpora
(values piled on ties, several documents), for files written with them, with a track added later,
and for an old-layout file without the table (which must answer identically)."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.analysis import _labels, _ranking, kept, selectivity
from lstmvis_db.store import write_track
from lstmvis_db.types import ProjectData, Source, Track
from tests.support.cells_oracle import random_corpus


@pytest.fixture(autouse=True)
def _keep_small_sources(monkeypatch):
    """The corpora here are small; keep their statistics anyway (the size cut is tested below)."""
    monkeypatch.setattr(kept, "MIN_VALUES", 0)


def _old_layout(path, tmp_path):
    """A copy of the project as a file written before ``_idx.cell_stats`` existed."""
    old = tmp_path / "old.duckdb"
    shutil.copyfile(path, old)
    con = duckdb.connect(str(old))
    con.execute("DROP TABLE _idx.cell_stats")
    con.close()
    return old


def _on_demand(path, source, track):
    """The control part as a first call computes it, with nothing stored (the table hidden)."""
    with lstmvis_db.open(path) as p:
        cat = p.catalog
        cat._cache[kept._ABSENT] = True
        task = selectivity._task(cat, track, _labels.categorical(cat, track).labels[0], kept.SEED)
        info = cat.source(source)
        assert _ranking.control(cat, info, task) is None  # nothing kept: the first call's cold pass
        _ranking.stats(cat, info, task, None, selectivity.TOL)
        ctl = _ranking.control(cat, info, task)
        assert ctl is not None
        return ctl.auroc, ctl.sums, ctl.ctrl_sums


def _stored(path, source, track, seed=kept.SEED):
    with lstmvis_db.open(path) as p:
        cat = p.catalog
        task = selectivity._task(cat, track, _labels.categorical(cat, track).labels[0], seed)
        return kept.load(cat, cat.source(source), task)


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_stored_equals_on_demand(tmp_path, seed):
    c = random_corpus(tmp_path, seed=seed, n=500, d=7)
    for source in ("s", "t"):
        for track in ("tag", "kind"):
            got = _stored(c.path, source, track)
            assert got is not None
            for a, b in zip(got, _on_demand(c.path, source, track)):
                assert a.shape == b.shape
                np.testing.assert_array_equal(a, b)  # bit for bit (NaN where a control label is absent)


def _answers(path):
    out = []
    with lstmvis_db.open(path) as p:
        for source in ("s", "t", "all"):
            for track, label in (("tag", "A"), ("tag", "C"), ("kind", "y")):
                out.append(p.cells(source, track, label, threshold=0.3))
                out.append(p.cells(source, track, label, threshold=-0.2, stat="iou"))
                out.append(p.cells(source, track, label, quantile=0.8, stat="mean_diff"))
                out.append(p.cells(source, track, label))
        out.append(p.cells("s", "tag", "A", threshold=0.3, control_seed=3))
    return out


def test_old_layout_answers_identically(tmp_path):
    c = random_corpus(tmp_path, seed=4, n=400, d=5)
    old = _old_layout(c.path, tmp_path)
    assert _stored(old, "s", "tag") is None
    assert _answers(old) == _answers(c.path)


def test_a_track_written_later_is_kept_and_a_replaced_one_recomputed(tmp_path):
    c = random_corpus(tmp_path, seed=6, n=300, d=4)
    rng = np.random.default_rng(0)
    for labels in (rng.choice(["p", "q", "r"], 300).tolist(), rng.choice(["u", "v"], 300).tolist()):
        write_track(c.path, Track("later", "categorical", labels=labels), replace=True)
        got = _stored(c.path, "s", "later")
        assert got is not None
        for a, b in zip(got, _on_demand(c.path, "s", "later")):
            np.testing.assert_array_equal(a, b)
    write_track(c.path, Track("later", "scalar", values=rng.normal(size=300)), replace=True)
    with lstmvis_db.open(c.path) as p, p.catalog.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM _idx.cell_stats WHERE track = 'later'").fetchone() == (0,)


def test_an_old_file_gains_the_table_with_a_track(tmp_path):
    c = random_corpus(tmp_path, seed=7, n=300, d=4)
    old = _old_layout(c.path, tmp_path)
    write_track(old, Track("later", "categorical", labels=["a", "b", "c"] * 100))
    assert _stored(old, "s", "later") is not None
    assert _stored(old, "s", "tag") is None  # only the new track; the others stay on demand
    with lstmvis_db.open(old) as p:
        assert p.cells("s", "tag", "A", threshold=0.3) == lstmvis_db.open(c.path).cells("s", "tag", "A", threshold=0.3)


def test_other_seeds_and_damaged_rows_fall_back(tmp_path):
    c = random_corpus(tmp_path, seed=8, n=300, d=4)
    assert _stored(c.path, "s", "tag", seed=1) is None
    with lstmvis_db.open(c.path) as p:
        want = p.cells("s", "tag", "B", threshold=0.3)
    con = duckdb.connect(str(c.path))
    con.execute("DELETE FROM _idx.cell_stats WHERE track = 'tag' AND part = 'ctrl_auroc' AND code = 1")
    con.close()
    assert _stored(c.path, "s", "tag") is None
    with lstmvis_db.open(c.path) as p:
        assert p.cells("s", "tag", "B", threshold=0.3) == want


def test_first_call_reads_the_stored_part(tmp_path):
    """A fresh open finds the control part in the file, so the first call need not compute it."""
    c = random_corpus(tmp_path, seed=9, n=300, d=4)
    with lstmvis_db.open(c.path) as p:
        cat = p.catalog
        task = selectivity._task(cat, "tag", "A", kept.SEED)
        assert _ranking.control(cat, cat.source("s"), task) is not None


def test_small_sources_are_not_kept_and_answer_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(kept, "MIN_VALUES", 10**9)
    c = random_corpus(tmp_path, seed=3, n=500, d=7)
    assert _stored(c.path, "s", "tag") is None  # computed on demand
    monkeypatch.setattr(kept, "MIN_VALUES", 0)
    (tmp_path / "k").mkdir()
    kept_copy = random_corpus(tmp_path / "k", seed=3, n=500, d=7)
    assert _stored(kept_copy.path, "s", "tag") is not None
    assert _answers(c.path) == _answers(kept_copy.path)


def _many_tracks_project(tmp_path, n=700):
    """Three sources (9, 9 and 3 cells) and five categorical tracks: 3 to 30 labels, one label
    only, most positions unlabelled; values piled on a few exact values (buckets to re-rank)."""
    rng = np.random.default_rng(11)
    vals = rng.normal(0, 0.5, size=(n, 9)).astype(np.float32)
    mask = rng.random((n, 9)) < 0.5
    vals[mask] = rng.choice(np.array([0.7, 0.7000001, -0.2, 0.0, 1.0], np.float32), size=int(mask.sum()))
    def labels(k, p_none):
        return [None if rng.random() < p_none else f"L{int(rng.integers(k))}" for _ in range(n)]
    tracks = [Track("t3", "categorical", labels=labels(3, 0.1)), Track("t30", "categorical", labels=labels(30, 0.0)),
              Track("one", "categorical", labels=labels(1, 0.3)), Track("rare", "categorical", labels=labels(4, 0.9)),
              Track("t7", "categorical", labels=labels(7, 0.2))]
    path = tmp_path / "many.duckdb"
    lstmvis_db.write_project(path, ProjectData(
        name="many", tokens=[f"w{int(rng.integers(25))}" for _ in range(n)],
        sources=[Source("a", vals), Source("b", np.ascontiguousarray(vals[::-1] * -0.5)),
                 Source("narrow", np.ascontiguousarray(vals[:, :3]))], tracks=tracks))
    return path, [t.track for t in tracks]


def test_many_tracks_sources_batches_and_groups_equal_on_demand(tmp_path, monkeypatch):
    """Every track of every kept source equals the on-demand numbers bit for bit, with the work
    split as finely as it goes: several batches of tracks, chunks of cells, groups of cells (one
    pass over the rows each) and blocks of rows; the 3-cell source stays under MIN_VALUES."""
    from lstmvis_db.analysis import _control

    monkeypatch.setattr(kept, "MIN_VALUES", 700 * 9)
    for name, value in (("BATCH_TRACKS", 2), ("BATCH_TARGETS", 8), ("CODE_BYTES", 700 * 2 * 2),
                        ("GROUP_VALUES", 100), ("ROW_VALUES", 1)):
        monkeypatch.setattr(_control, name, value)
    offsets = []
    real = _control.kern.control_offsets
    monkeypatch.setattr(_control.kern, "control_offsets", lambda *a: offsets.append(1) or real(*a))
    path, names = _many_tracks_project(tmp_path)
    assert offsets  # some bucket was re-ranked with exact values
    assert _stored(path, "narrow", "t3") is None
    for source in ("a", "b"):
        for track in names:
            got = _stored(path, source, track)
            assert got is not None, (source, track)
            for a, b in zip(got, _on_demand(path, source, track)):
                assert a.shape == b.shape
                np.testing.assert_array_equal(a, b)


def test_many_tracks_answer_as_without_the_table(tmp_path):
    path, _ = _many_tracks_project(tmp_path)
    old = _old_layout(path, tmp_path)

    def answers(p):
        with lstmvis_db.open(p) as proj:
            return [proj.cells(s, t, lab, threshold=0.2) for s in ("a", "all") for t, lab in
                    (("t30", "L5"), ("one", "L0"), ("rare", "L2"), ("t7", "L1"))]
    assert answers(old) == answers(path)
