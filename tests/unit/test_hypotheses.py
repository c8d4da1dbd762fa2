"""Saved hypotheses: save, list, run, delete, export, a changed project, the workspace file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

import lstmvis_db
from lstmvis_db import Document, ProjectData, Source
from lstmvis_db.errors import LstmvisError
from lstmvis_db.hypotheses import workspace as wsmod
from lstmvis_db.hypotheses.workspace import Workspace
from tests.support import ROOT


def _project(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    vals = rng.uniform(-1, 1, (300, 6)).astype(np.float32)
    vals[::7, :2] = 0.9
    vals[1::7, :2] = 0.9
    lstmvis_db.write_project(path, ProjectData(
        name="h", tokens=[f"w{i % 17}" for i in range(300)], sources=[Source("s", vals)],
        documents=[Document("a", 0, 149), Document("b", 150, 299)]))
    return path


def test_save_list_run_export_delete(tmp_path):
    db = _project(tmp_path / "p.duckdb")
    before = db.read_bytes()
    ws = tmp_path / "ws.duckdb"
    with lstmvis_db.open(db) as p:
        row = p.hypothesis_save("pair", "s", [1, 0], 0.5, limit=7, brush=(0, 1), workspace=ws)
        assert row["cells"] == [0, 1] and row["brush_start"] == 0 and row["limit"] == 7
        assert row["project_hash"] == wsmod.content_hash(p.catalog)
        listed = p.hypothesis_list(workspace=ws)["hypotheses"]
        assert [h["name"] for h in listed] == ["pair"]
        run = p.hypothesis_run("pair", workspace=ws)
        assert run["same"] and run["matches"] == p.match("s", [0, 1], 0.5, limit=7)["matches"]
        exp = p.hypothesis_export("pair", workspace=ws)
        with pytest.raises(LstmvisError, match="exists already"):
            p.hypothesis_save("pair", "s", [0], 0.5, workspace=ws)
    assert db.read_bytes() == before  # the project file is never written
    con = duckdb.connect(str(ws), read_only=True)
    rows = con.execute(exp["sql"]).fetchall()
    con.close()
    assert [(r[1], r[2], r[3], r[4], r[6]) for r in rows] == \
        [(m["start"], m["length"], m["intersection"], m["union"], m["missing"]) for m in run["matches"]]
    assert exp["hypothesis"]["threshold"] == 0.5 and len(exp["matches"]) == len(rows)
    with lstmvis_db.open(db) as p:
        p.hypothesis_delete("pair", workspace=ws)
        assert p.hypothesis_list(workspace=ws)["hypotheses"] == []
        with pytest.raises(LstmvisError, match="no saved hypothesis"):
            p.hypothesis_run("pair", workspace=ws)


def test_changed_project_says_so(tmp_path):
    db = _project(tmp_path / "p.duckdb")
    ws = tmp_path / "ws.duckdb"
    with lstmvis_db.open(db) as p:
        p.hypothesis_save("pair", "s", [0, 1], 0.5, workspace=ws)
    db.unlink()
    _project(db, seed=1)
    with lstmvis_db.open(db) as p, pytest.raises(LstmvisError, match="the project has changed"):
        p.hypothesis_run("pair", workspace=ws)


def test_bad_names_and_ranges_store_nothing(tmp_path):
    db = _project(tmp_path / "p.duckdb")
    ws = Workspace(tmp_path / "ws.duckdb")
    with lstmvis_db.open(db) as p:
        for kwargs, msg in (({"name": ""}, "name"), ({"name": "x", "brush": (5, 2)}, "inverted"),
                            ({"name": "x", "cells": [99]}, "unknown cell"),
                            ({"name": "x", "threshold": "a"}, "number")):
            args = {"name": "x", "source": "s", "cells": [0, 1], "threshold": 0.5, "workspace": ws, **kwargs}
            with pytest.raises(LstmvisError, match=msg):
                p.hypothesis_save(**args)
    assert ws.saved() == [] and ws.frames()["hypothesis_matches"].empty
    ws.close()


def test_workspace_location_and_public_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTMVIS_WORKSPACE", str(tmp_path / "env.duckdb"))
    assert wsmod.default_path() == str(tmp_path / "env.duckdb")
    monkeypatch.delenv("LSTMVIS_WORKSPACE")
    assert wsmod.default_path().endswith(".local/share/lstmvis-db/workspace.duckdb")
    monkeypatch.setenv("LSTMVIS_PUBLIC", "1")
    assert wsmod.public_mode()
    monkeypatch.setenv("LSTMVIS_PUBLIC", "0")
    assert not wsmod.public_mode()
    mem = Workspace(":memory:")
    assert mem.saved() == []
    mem.close()


def _cli(*args: str, env_ws: Path) -> subprocess.CompletedProcess:
    import os
    env = {**os.environ, "LSTMVIS_WORKSPACE": str(env_ws)}
    return subprocess.run([sys.executable, "-m", "lstmvis_db", "hypothesis", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300, check=False)


def test_cli_round_trip_and_errors(tmp_path):
    db = str(_project(tmp_path / "p.duckdb"))
    ws = tmp_path / "cli.duckdb"
    r = _cli("save", "--db", db, "--name", "c", "--source", "s", "--cells", "0,1", "--threshold", "0.5", "--json",
             env_ws=ws)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["name"] == "c"
    r = _cli("run", "--db", db, "--name", "c", "--json", env_ws=ws)
    assert r.returncode == 0 and json.loads(r.stdout)["same"] is True
    assert json.loads(_cli("list", "--json", env_ws=ws).stdout)["hypotheses"][0]["name"] == "c"
    other = tmp_path / "other.duckdb"
    r = _cli("list", "--json", "--workspace", str(other), env_ws=ws)
    assert json.loads(r.stdout)["hypotheses"] == []
    for args, msg in ((("run", "--db", db, "--name", "zz"), "no saved hypothesis"),
                      (("save", "--db", db, "--name", "c", "--source", "s", "--cells", "0", "--threshold", "0.5"),
                       "exists already"),
                      (("save", "--db", db, "--name", "d"), "needs --source"),
                      (("delete",), "needs --name")):
        r = _cli(*args, "--json", env_ws=ws)
        assert r.returncode == 2 and r.stdout == "" and msg in r.stderr and len(r.stderr.splitlines()) == 1
    assert json.loads(_cli("delete", "--name", "c", "--json", env_ws=ws).stdout) == {"deleted": "c"}


def test_sql_command_reads_the_saved_hypotheses(tmp_path, capsys):
    from lstmvis_db import cli

    db = _project(tmp_path / "p.duckdb")
    ws = tmp_path / "ws.duckdb"
    with lstmvis_db.open(db) as p:
        p.hypothesis_save("pair", "s", [0, 1], 0.5, limit=5, workspace=ws)
        want = p.match("s", [0, 1], 0.5, limit=5)["matches"]
    query = ("SELECT m.rank, m.start, m.length, t.token FROM hypothesis_matches m JOIN tokens t ON t.pos = m.start "
             "WHERE m.hypothesis = 'pair' ORDER BY m.rank")
    assert cli.main(["sql", "--db", str(db), "--workspace", str(ws), query, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["start"], r["length"]) for r in rows] == [(m["start"], m["length"]) for m in want]
    assert [r["token"] for r in rows] == [f"w{m['start'] % 17}" for m in want]
    missing = tmp_path / "none.duckdb"
    assert cli.main(["sql", "--db", str(db), "--workspace", str(missing), "SELECT * FROM hypotheses"]) == 2
    assert "hypotheses" in capsys.readouterr().err and not missing.exists()


def test_url_carries_the_hypothesis_and_the_match_set():
    from lstmvis_db import views

    s = views.ViewState(source="s", cells=[0, 1], threshold=0.5, align_set="strict", hypothesis="bracket cells")
    enc = views.encode_state(s)
    assert enc["aset"] == "strict" and enc["hyp"] == "bracket cells"
    back = views.decode_state(enc)
    assert (back.align_set, back.hypothesis, back.cells) == ("strict", "bracket cells", [0, 1])
    assert "aset" not in views.encode_state(views.ViewState())
