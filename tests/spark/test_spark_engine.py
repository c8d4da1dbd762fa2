"""The Spark engine (local mode) gives exactly the project file's selection and matches."""

from __future__ import annotations

import json
import os

import pytest

import lstmvis_db
from lstmvis_db import cli
from tests.support import ROOT
from tests.unit.test_parquet_export import corpus

pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark():
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(ROOT)  # Spark's Python workers import lstmvis_db from the checkout
    from lstmvis_db.spark import engine

    try:
        yield engine.session(2)
    finally:
        engine.stop()
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def test_spark_equals_project(tmp_path, spark, capsys):
    from lstmvis_db.spark import engine

    db, docs = corpus(tmp_path, seed=11, n=600, d=10, docs=12)
    out = tmp_path / "ds"
    assert cli.main(["export", "--db", str(db), "--parquet", str(out), "--chunk-positions", "80"]) == 0
    capsys.readouterr()
    with lstmvis_db.open(db) as p:
        for source in ("a::h", "b"):
            for cells, t, cl, cr, length, limit in [([0, 3, 5], 0.2, True, False, 0, 50),
                                                    ([1], -0.1, False, True, 0, 7),
                                                    ([2, 4, 6, 8], 0.0, True, True, 3, 100)]:
                want = p.match(source, cells, t, cl, cr, length, limit)
                assert engine.match(str(out), source, cells, t, cl, cr, length, limit) == want
            d = docs[5]
            assert engine.select(str(out), source, d.first_pos, d.first_pos + 2, 0.1, 2, 1) == \
                p.select(source, d.first_pos, d.first_pos + 2, 0.1, 2, 1)
        want = p.match("b", [1, 2], 0.3)
    assert cli.main(["match", "--parquet", str(out), "--engine", "spark", "--source", "b", "--cells", "1,2",
                     "--threshold", "0.3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == want


def test_spark_without_java_says_so(monkeypatch):
    from lstmvis_db.spark import engine

    monkeypatch.setattr(engine, "_SESSION", None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(engine.shutil, "which", lambda name: None)
    with pytest.raises(lstmvis_db.InputError, match="Java 17"):
        engine.session()


def test_spark_with_java_home_pointing_nowhere(monkeypatch, tmp_path, capsys):
    from lstmvis_db.spark import engine

    monkeypatch.setattr(engine, "_SESSION", None)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    with pytest.raises(lstmvis_db.InputError, match="JAVA_HOME=.*no bin/java"):
        engine.session()
    db, _ = corpus(tmp_path, seed=2, n=60, d=3, docs=2)
    with lstmvis_db.open(db) as p:
        p.export(tmp_path / "ds")
    for cmd in ("match", "align"):
        assert cli.main([cmd, "--parquet", str(tmp_path / "ds"), "--engine", "spark", "--source", "b", "--cells", "0",
                         "--threshold", "0"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "JAVA_HOME" in err[0]


@pytest.mark.parametrize("set_kind", ["top", "all", "strict"])
def test_spark_align_equals_project(tmp_path, spark, capsys, set_kind):
    from tests.unit.test_parquet_export import _tracked_corpus

    db, _ = _tracked_corpus(tmp_path)
    out = tmp_path / "ds"
    with lstmvis_db.open(db) as p:
        p.export(out, 50)
    args = ["--source", "a::h", "--cells", "0,2,5", "--threshold", "0.1", "--set", set_kind, "--limit", "12", "--json"]
    assert cli.main(["align", "--db", str(db), *args]) == 0
    want = json.loads(capsys.readouterr().out)
    assert cli.main(["align", "--parquet", str(out), "--engine", "spark", *args]) == 0
    assert json.loads(capsys.readouterr().out) == want
