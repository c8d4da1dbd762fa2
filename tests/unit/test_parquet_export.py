"""An exported Parquet dataset reads back in DuckDB and pandas, and the DuckDB engine over it
gives exactly the project file's selection and matches."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import lstmvis_db
from lstmvis_db import Document, ProjectData, Source, Track, cli
from lstmvis_db.parquet import duckdb_engine
from lstmvis_db.parquet.dataset import open_dataset
from lstmvis_db.parquet.export import chunk_of_documents


def corpus(tmp_path, seed=3, n=400, d=12, docs=9):
    rng = np.random.default_rng(seed)
    vals = rng.uniform(-1, 1, size=(n, d)).astype(np.float32)
    cuts = np.sort(rng.choice(np.arange(1, n), size=docs - 1, replace=False))
    bounds = [0, *cuts.tolist(), n]
    documents = [Document(f"d{i}", bounds[i], bounds[i + 1] - 1) for i in range(docs)]
    labels = [str(x) for x in rng.integers(0, 3, size=n)]
    data = ProjectData(name="pq", tokens=[f"w{i % 17}" for i in range(n)], documents=documents,
                       sources=[Source("a::h", vals), Source("b", -vals)],
                       tracks=[Track("lab", "categorical", labels=labels)])
    db = tmp_path / "p.duckdb"
    lstmvis_db.write_project(db, data)
    return db, documents


def test_chunks_are_whole_documents():
    first = np.array([0, 10, 20, 300])
    last = np.array([9, 19, 299, 310])
    assert chunk_of_documents(first, last, target=15).tolist() == [0, 0, 1, 2]
    assert chunk_of_documents(first, last, target=1000).tolist() == [0, 0, 0, 0]


def test_export_reads_back_and_engine_equals_project(tmp_path, capsys):
    db, docs = corpus(tmp_path)
    out = tmp_path / "ds"
    assert cli.main(["export", "--db", str(db), "--parquet", str(out), "--chunk-positions", "60", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["chunks"] > 3 and res["sources"] == ["a::h", "b"]
    ds = open_dataset(out)
    tokens = pd.read_parquet(out / "tokens")
    assert tokens.sort_values("pos")["token"].tolist() == [f"w{i % 17}" for i in range(400)]
    with lstmvis_db.open(db) as p:
        for source in ("a::h", "b"):
            for cells, t, cl, cr, length in [([0, 3, 5], 0.2, True, False, 0), ([1], -0.1, False, True, 0),
                                             ([2, 4, 6, 8, 10], 0.0, True, True, 3)]:
                want = p.match(source, cells, t, cl, cr, length, 40)
                assert duckdb_engine.match(str(out), source, cells, t, cl, cr, length, 40) == want
            d = docs[4]
            assert duckdb_engine.select(str(out), source, d.first_pos + 1, d.first_pos + 3, 0.1) == \
                p.select(source, d.first_pos + 1, d.first_pos + 3, 0.1)
        want = p.match("a::h", [0, 3, 5], 0.2)
    assert ds.source("a::h").n_cells == 12
    assert cli.main(["match", "--parquet", str(out), "--engine", "duckdb", "--source", "a::h", "--cells", "0,3,5",
                     "--threshold", "0.2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == want


@pytest.mark.parametrize("argv, words", [
    (["match", "--parquet", "{out}", "--source", "nope", "--cells", "1", "--threshold", "0.1"], "unknown source"),
    (["match", "--parquet", "{tmp}", "--source", "b", "--cells", "1", "--threshold", "0.1"], "manifest"),
    (["match", "--parquet", "{out}", "--source", "b", "--cells", "1", "--threshold", "0.1", "--pool", "3"], "--pool"),
    (["match", "--db", "{db}", "--engine", "spark", "--source", "b", "--cells", "1", "--threshold", "0.1"],
     "--engine"),
    (["export", "--db", "{db}", "--parquet", "{out}"], "already exists"),
])
def test_bad_dataset_input(tmp_path, capsys, argv, words):
    db, _ = corpus(tmp_path)
    out = tmp_path / "ds"
    assert cli.main(["export", "--db", str(db), "--parquet", str(out)]) == 0
    capsys.readouterr()
    argv = [a.format(out=out, tmp=tmp_path, db=db) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def test_python_export_returns_what_the_cli_prints(tmp_path):
    db, _ = corpus(tmp_path)
    with lstmvis_db.open(db) as p:
        res = p.export(tmp_path / "ds", chunk_positions=100)
        assert res == {"parquet": str(tmp_path / "ds"), "chunks": open_dataset(tmp_path / "ds").chunks,
                       "sources": ["a::h", "b"]}
        with pytest.raises(lstmvis_db.InputError, match="chunk_positions"):
            p.export(tmp_path / "ds2", chunk_positions=0)
    assert not (tmp_path / "ds2").exists()


def test_dataset_of_another_version_is_refused(tmp_path):
    db, _ = corpus(tmp_path)
    out = tmp_path / "ds"
    assert cli.main(["export", "--db", str(db), "--parquet", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "version": 99}))
    with pytest.raises(lstmvis_db.InputError, match="layout version 99"):
        open_dataset(out)
    (out / "manifest.json").write_text(json.dumps({**manifest, "layout": "something else"}))
    with pytest.raises(lstmvis_db.InputError, match="not an lstmvis-db Parquet dataset"):
        open_dataset(out)


def _tracked_corpus(tmp_path):
    """A corpus with two categorical tracks (one with a declared order), a scalar and a top-k track."""
    from lstmvis_db.store import write_track
    from lstmvis_db.types import Track as T

    db, docs = corpus(tmp_path, seed=8, n=300, d=8, docs=7)
    rng = np.random.default_rng(8)
    n = 300
    write_track(db, T("pos", "categorical", labels=list(rng.choice(["N", "V", "D"], n)),
                                       categories=["V", "N", "D", "X"]))
    write_track(db, T("sc", "scalar", values=rng.normal(size=n)))
    write_track(db, T("pred", "topk", topk_tokens=rng.choice(["a", "b", "c"], (n, 2)),
                                       topk_scores=rng.random((n, 2))))
    return db, docs


@pytest.mark.parametrize("set_kind", ["top", "all", "strict"])
def test_align_over_parquet_equals_project(tmp_path, capsys, set_kind):
    db, _ = _tracked_corpus(tmp_path)
    out = tmp_path / "ds"
    assert cli.main(["export", "--db", str(db), "--parquet", str(out), "--chunk-positions", "50"]) == 0
    capsys.readouterr()
    args = ["--source", "a::h", "--cells", "0,2,5", "--threshold", "0.1", "--set", set_kind, "--limit", "12", "--json"]
    assert cli.main(["align", "--db", str(db), *args]) == 0
    want = json.loads(capsys.readouterr().out)
    assert cli.main(["align", "--parquet", str(out), *args]) == 0
    assert json.loads(capsys.readouterr().out) == want
    assert want["spans"] > 0 and want["tests"] and want["shares"] and want["scalars"]


def test_align_over_parquet_user_spans_and_refusals(tmp_path, capsys):
    db, docs = _tracked_corpus(tmp_path)
    out = tmp_path / "ds"
    with lstmvis_db.open(db) as p:
        p.export(out, 50)
        spans = tmp_path / "spans.csv"
        pd.DataFrame({"start": [d.first_pos for d in docs], "length": [2] * len(docs)}).to_csv(spans, index=False)
        want = p.align(spans=str(spans))
    assert cli.main(["align", "--parquet", str(out), "--spans", str(spans), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == want
    for extra, words in ((["--null-cells", "5"], "--null-cells"), (["--pool", "3"], "--pool"),
                         (["--sql"], "--sql")):
        assert cli.main(["align", "--parquet", str(out), "--source", "b", "--cells", "1", "--threshold", "0",
                         *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0]


@pytest.mark.parametrize("edit, words", [
    (lambda m: m.update(version=1), "version 1"),
    (lambda m: m.update(layout="something-else"), "not an lstmvis-db Parquet dataset"),
    (lambda m: m.pop("sources"), "sources"),
])
def test_dataset_of_another_layout_or_version(tmp_path, capsys, edit, words):
    db, _ = corpus(tmp_path, n=60, d=3, docs=2)
    out = tmp_path / "ds"
    with lstmvis_db.open(db) as p:
        p.export(out)
    manifest = json.loads((out / "manifest.json").read_text())
    edit(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))
    for cmd in (["match", "--cells", "0"], ["align", "--cells", "0"]):
        assert cli.main([cmd[0], "--parquet", str(out), "--source", "b", *cmd[1:], "--threshold", "0"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0] and "Traceback" not in err[0]
