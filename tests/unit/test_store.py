"""store.write_track: adding and replacing a track on an existing project, atomically."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db import InputError, ProjectData, Source, Track
from lstmvis_db.store import write_track


@pytest.fixture()
def project(tmp_path):
    path = tmp_path / "p.duckdb"
    vals = np.random.default_rng(0).uniform(-1, 1, (6, 3)).astype(np.float32)
    lstmvis_db.write_project(path, ProjectData(
        name="p", tokens=list("abcdef"), sources=[Source("s", vals)],
        tracks=[Track("pos", "categorical", labels=["N", "V"] * 3)]))
    return path


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_add_topk_and_replace_categorical(project):
    tok = np.array([["x", "y"]] * 6, dtype=object)
    write_track(project, Track("next", "topk", topk_tokens=tok, topk_scores=np.full((6, 2), 0.5)))
    write_track(project, Track("pos", "categorical", labels=["A", None, "B", "A", None, None]), replace=True)
    with lstmvis_db.open(project) as p:
        tracks = p.sql("SELECT track, kind FROM tracks ORDER BY track")
        assert tracks.values.tolist() == [["next", "topk"], ["pos", "categorical"]]
        assert len(p.sql("SELECT * FROM predictions WHERE source = 'next'")) == 12
        rows = p.sql("SELECT pos, label FROM annotations WHERE track = 'pos' ORDER BY pos")
        assert rows.values.tolist() == [[0, "A"], [2, "B"], [3, "A"]]
        cats = p.sql("SELECT category FROM _idx.track_categories WHERE track = 'pos' ORDER BY ord")
        assert cats["category"].tolist() == ["A", "B"]


def test_refusals_leave_the_file_unchanged(project):
    before = _digest(project)
    with pytest.raises(InputError, match="'pos' already exists"):
        write_track(project, Track("pos", "scalar", values=np.arange(6.0)))
    with pytest.raises(InputError, match="needs 6 values, got 4"):
        write_track(project, Track("depth", "scalar", values=np.arange(4.0)))
    assert _digest(project) == before
    assert not list(project.parent.glob(".*tmp*"))


def test_progress_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    data = ProjectData(name="p", tokens=list("abc"), sources=[Source("s", np.zeros((3, 2), np.float32))])
    lstmvis_db.write_project(tmp_path / "a.duckdb", data, progress=True)  # stderr captured: not a tty
    assert capsys.readouterr().err == ""
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    lstmvis_db.write_project(tmp_path / "b.duckdb", data, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("\rsource s") and err.endswith("100.0%\n")


def test_memory_limit_from_the_environment_or_a_quarter_of_memory(monkeypatch):
    from lstmvis_db.store import memory_limit

    monkeypatch.setenv("LSTMVIS_MEMORY_LIMIT", "1GB")
    assert memory_limit() == "1GB"
    monkeypatch.delenv("LSTMVIS_MEMORY_LIMIT")
    monkeypatch.setattr("os.sysconf", lambda name: {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 2**20}[name])  # 4 GiB
    real_read = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: "max\n" if self.name == "memory.max"
                        else real_read(self, *a, **k))
    assert memory_limit() == "1024MB"
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: "536870912\n" if self.name == "memory.max"
                        else real_read(self, *a, **k))  # a 512 MiB container
    assert memory_limit() == "256MB"


def test_a_categorical_track_that_labels_nothing(tmp_path, project) -> None:
    """No entity in a short text: the track is stored (and replaced) like any other and reads empty."""
    path = tmp_path / "none.duckdb"
    lstmvis_db.write_project(path, ProjectData(
        name="t", tokens=list("abcdef"), sources=[Source("s", np.eye(6, 4, dtype=np.float32))],
        tracks=[Track("entity", "categorical", labels=[None] * 6)]))
    write_track(project, Track("entity", "categorical", labels=[None] * 6))
    for p in (path, project):
        with lstmvis_db.open(p) as proj:
            assert "entity" in set(proj.tracks()["track"])
            assert proj.annotations("entity", range(6))["label"].isna().all()
            with pytest.raises(lstmvis_db.LstmvisError, match="labels no position"):
                proj.cells(proj.sources[0], "entity", "PERSON")
