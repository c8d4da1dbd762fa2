"""The command line of docs/semantics.md §Command line and the bad inputs of docs/semantics.md §Bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db import Document, InputError, ProjectData, Source, Track
from lstmvis_db.cli import main


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    rng = np.random.default_rng(7)
    n = 400
    vals = rng.uniform(-1, 1, size=(n, 12)).astype(np.float32)
    vals[100:104, [2, 5]] = 0.9
    vals[99, [2, 5]] = -0.9
    vals[250:254, [2, 5]] = 0.9
    vals[249, [2, 5]] = -0.9
    words = ["the", "cat", "sat", "on", "a", "little", "mat", "."]
    tokens = [words[i % len(words)] for i in range(n)]
    path = tmp_path_factory.mktemp("cli") / "p.duckdb"
    lstmvis_db.write_project(path, ProjectData(
        name="cli test", tokens=tokens, description="a test project",
        documents=[Document("a", 0, 199), Document("b", 200, n - 1)],
        sources=[Source("states::states1", vals, layer=1, kind="state", transform="tanh")],
        tracks=[Track("pos", "categorical", labels=["DT", "NN", "VB", "IN", "DT", "JJ", "NN", "."] * (n // 8))],
    ))
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_info_json(project, capsys):
    code, out, _ = run(capsys, "info", "--db", str(project), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["name"] == "cli test" and info["tokens"] == 400 and info["documents"] == 2
    assert info["sources"] == [{"source": "states::states1", "n_cells": 12, "layer": 1, "kind": "state",
                                "transform": "tanh", "value_dtype": "float32"}]
    assert info["tracks"] == [{"track": "pos", "kind": "categorical"}]


def test_select_match_search_sql_json(project, capsys):
    code, out, _ = run(capsys, "select", "--db", str(project), "--source", "states::states1", "--start", "100",
                       "--end", "103", "--threshold", "0.6", "--json")
    cells = json.loads(out)["cells"]
    assert code == 0 and {2, 5} <= set(cells)
    with lstmvis_db.open(project) as p:
        assert cells == p.select("states::states1", 100, 103, 0.6)
        want = p.match("states::states1", [2, 5], 0.6, True, False, 0, 5)
    code, out, _ = run(capsys, "match", "--db", str(project), "--source", "states::states1", "--cells", "2,5",
                       "--threshold", "0.6", "--limit", "5", "--json")
    got = json.loads(out)
    assert code == 0 and got == json.loads(json.dumps(want))
    assert {m["start"] for m in got["matches"][:2]} == {100, 250}
    code, out, _ = run(capsys, "search", "--db", str(project), "--phrase", "a little", "--limit", "3", "--json")
    hits = json.loads(out)
    assert code == 0 and [h["pos"] for h in hits] == [4, 12, 20] and hits[0]["match"] == ["a", "little"]
    code, out, _ = run(capsys, "search", "--db", str(project), "--regex", "c.t s", "--json")
    assert code == 0 and json.loads(out)[0]["pos"] == 1
    code, out, _ = run(capsys, "sql", "--db", str(project), "--json",
                       "SELECT label, count(*) AS n FROM annotations GROUP BY label ORDER BY label")
    assert code == 0 and json.loads(out)[0] == {"label": ".", "n": 50}


def test_console_script_and_module_are_the_same_program(project):
    out = subprocess.run([sys.executable, "-m", "lstmvis_db", "info", "--db", str(project), "--json"],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["tokens"] == 400


@pytest.mark.parametrize("args, needle", [
    (["select", "--source", "nope", "--start", "1", "--end", "2", "--threshold", "0.3"], "unknown source 'nope'"),
    (["select", "--source", "states::states1", "--start", "9", "--end", "2", "--threshold", "0.3"], "inverted range"),
    (["select", "--source", "states::states1", "--start", "5", "--end", "400", "--threshold", "0.3"],
     "outside the corpus"),
    (["select", "--source", "states::states1", "--start", "190", "--end", "210", "--threshold", "0.3"],
     "crosses a document boundary"),
    (["select", "--source", "states::states1", "--start", "1", "--end", "2", "--threshold", "abc"], "not a number"),
    (["match", "--source", "states::states1", "--cells", "2,99", "--threshold", "0.3"], "unknown cell 99"),
    (["match", "--source", "states::states1", "--cells", "2,x", "--threshold", "0.3"], "comma-separated"),
    (["match", "--source", "states::states1", "--cells", "2", "--threshold", "0.3", "--limit", "0"], "limit"),
    (["sql", "CREATE TABLE x AS SELECT 1"], "only SELECT"),
    (["sql", "DELETE FROM tokens"], "only SELECT"),
    (["sql", "SELECT * FROM read_csv('/etc/passwd')"], "not allowed"),
    (["sql", "COPY tokens TO '/tmp/leak.csv'"], "only SELECT"),
    (["search", "--regex", "a(b"], "invalid regex"),
])
def test_bad_input_is_one_line_and_nonzero(project, capsys, args, needle):
    code = main([args[0], "--db", str(project), *args[1:]]) if args[0] != "sql" else \
        main(["sql", "--db", str(project), *args[1:]])
    out, err = capsys.readouterr() if True else ("", "")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and needle in err


def test_argparse_errors_are_one_line(project):
    r = subprocess.run([sys.executable, "-m", "lstmvis_db", "select", "--db", str(project)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "required" in r.stderr


def test_missing_and_foreign_files(tmp_path, capsys):
    code, _, err = run(capsys, "info", "--db", str(tmp_path / "none.duckdb"))
    assert code == 2 and "does not exist" in err
    other = tmp_path / "other.duckdb"
    import duckdb
    duckdb.connect(str(other)).execute("CREATE TABLE t AS SELECT 1").close()
    code, _, err = run(capsys, "info", "--db", str(other))
    assert code == 2 and "not an lstmvis-db project" in err


def _data(values, n=20, **kw):
    return ProjectData(name="x", tokens=["t"] * n, sources=[Source("s", values)], **kw)


@pytest.mark.parametrize("data, needle", [
    (_data(np.full((20, 3), np.nan, np.float32)), "non-finite value nan at position 0, cell 0"),
    (_data(np.r_[np.zeros((19, 3)), [[0, np.inf, 0]]].astype(np.float32)), "non-finite value inf at position 19"),
    (_data(np.zeros((19, 3), np.float32)), "19 state rows but 20 tokens"),
    (_data(np.zeros(20, np.float32)), "2-D"),
    (_data(np.zeros((20, 3)), documents=[Document("a", 0, 9), Document("b", 11, 19)]), "contiguous"),
    (_data(np.zeros((20, 3)), tracks=[Track("p", "categorical", labels=["x"] * 3)]), "needs 20 labels"),
    (ProjectData(name="x", tokens=[], sources=[]), "no tokens"),
])
def test_bad_ingest_writes_nothing_and_keeps_existing(tmp_path, data, needle):
    target = tmp_path / "keep.duckdb"
    lstmvis_db.write_project(target, _data(np.ones((20, 2), np.float32)))
    before = target.read_bytes()
    with pytest.raises(InputError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        lstmvis_db.write_project(target, data)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.duckdb"]


def test_sources_of_different_widths(tmp_path):
    path = tmp_path / "w.duckdb"
    rng = np.random.default_rng(0)
    lstmvis_db.write_project(path, ProjectData(name="w", tokens=["a"] * 50, sources=[
        Source("wide", rng.uniform(-1, 1, (50, 9)).astype(np.float32)),
        Source("narrow", rng.uniform(0, 1, (50, 2)).astype(np.float32), unsigned=True)]))
    with lstmvis_db.open(path) as p:
        assert [s["n_cells"] for s in p.info()["sources"]] == [9, 2]
        counts = p.sql("SELECT source, count(*) AS n FROM states GROUP BY source ORDER BY source")["n"].tolist()
        assert counts == [100, 450]
        assert p.window("narrow", 0, 49).shape == (50, 2)
