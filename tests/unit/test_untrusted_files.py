"""Crafted, damaged and foreign project files, against the API and the CLI: each is refused with
one clear line (CLI exit 2), never a traceback, and nothing stored in a file reads other files.
Non-finite states are refused on every ingest path (``write_project``) whatever the transform."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest

import lstmvis_db
from lstmvis_db import cli
from lstmvis_db.errors import InputError
from lstmvis_db.types import ProjectData, Source
from tests.support.app_fixtures import SOURCES, build_app_project

HOST = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "no-hostname"
SRC = SOURCES[0]

# name -> (SQL run on a writable copy of a good project, words the refusal must contain)
CRAFTED = {
    "project table replaced by a view over read_text": (
        ("DROP TABLE project; CREATE VIEW project AS SELECT 'name' AS key, content AS value "
        "FROM read_text('/etc/hostname')"), "'project' is a view"),
    "states view reads a file": (
        ("CREATE OR REPLACE VIEW states AS SELECT content AS source, 0 AS pos, 0::SMALLINT AS cell, "
        "0::FLOAT AS value FROM read_text('/etc/hostname')"), "view 'states'"),
    "extra view reading a file": ("CREATE VIEW leak AS SELECT * FROM read_text('/etc/hostname')", "unexpected view"),
    "a macro": ("CREATE MACRO m(x) AS x + 1", "macro 'm'"),
    "a changed lstmvis macro": ("CREATE OR REPLACE MACRO lstmvis_select(a, b, c, d) AS TABLE "
                                "SELECT * FROM read_text('/etc/hostname')", "macro 'lstmvis_select'"),
    "a sequence": ("CREATE SEQUENCE s", "sequences"),
    "an extra table": ("CREATE TABLE evil (x INTEGER)", "unexpected table"),
    "an extra schema": ("CREATE SCHEMA other", "unexpected schema"),
    "a column of another type": (
        ("DROP TABLE tracks; CREATE TABLE tracks (track VARCHAR, kind VARCHAR, description VARCHAR, "
        "min VARCHAR, max DOUBLE)"), "columns"),
    "a missing table": ("DROP TABLE predictions", "no table 'predictions'"),
    "another format version": ("UPDATE project SET value = '1' WHERE key = 'format_version'", "another version"),
    "source index pointing at a missing table": (
        "UPDATE _idx.source_index SET sid = 7 WHERE sid = 0", "view 'states'"),
}


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return build_app_project(tmp_path_factory.mktemp("untrusted"))


def crafted(good: Path, folder: Path, sql: str) -> Path:
    p = folder / "crafted.duckdb"
    shutil.copy(good, p)
    con = duckdb.connect(str(p))
    con.execute(sql)
    con.close()
    return p


def truncated(good: Path, folder: Path) -> Path:
    p = folder / "truncated.duckdb"
    shutil.copy(good, p)
    os.truncate(p, p.stat().st_size // 2)
    return p


def overwritten(good: Path, folder: Path) -> Path:
    """A copy with the middle half of its blocks overwritten by random bytes (header intact)."""
    p = folder / "overwritten.duckdb"
    shutil.copy(good, p)
    size = p.stat().st_size
    with open(p, "r+b") as f:
        f.seek(size // 4)
        f.write(np.random.default_rng(0).bytes(size // 2))
    return p


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_refusal(code: int, out: str, err: str) -> str:
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert HOST not in out + err
    return err


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_file_is_refused_by_api_and_cli(case, good, tmp_path, capsys) -> None:
    sql, words = CRAFTED[case]
    p = crafted(good, tmp_path, sql)
    with pytest.raises(InputError, match="crafted|not an lstmvis-db|another version") as e:
        lstmvis_db.open(p)
    assert words in str(e.value) and HOST not in str(e.value)
    err = one_line_refusal(*run_cli(capsys, "info", "--db", str(p)))
    assert words in err


@pytest.mark.parametrize("make", [truncated, overwritten], ids=["truncated", "overwritten"])
@pytest.mark.parametrize("command", [
    ["info"],
    ["select", "--source", SRC, "--start", "40", "--end", "44", "--threshold", "0.3"],
    ["match", "--source", SRC, "--cells", ",".join(map(str, range(12))), "--threshold", "-0.9"],
    ["search", "--phrase", "the rabbit"],
    ["add-track", "--file", "TRACK", "--track", "t"],
], ids=lambda c: c[0])
def test_damaged_file_is_one_line(make, command, good, tmp_path, capsys) -> None:
    p = make(good, tmp_path)
    track = tmp_path / "t.csv"
    track.write_text("pos,label\n0,a\n1,b\n")
    args = [str(track) if a == "TRACK" else a for a in command]
    before = p.read_bytes()
    err = one_line_refusal(*run_cli(capsys, args[0], "--db", str(p), *args[1:]))
    assert "damaged" in err or "cannot" in err
    assert p.read_bytes() == before  # nothing written over it


@pytest.mark.parametrize("content", [b"", b"not a database at all", b"\0" * 5000], ids=["empty", "text", "zeros"])
def test_foreign_bytes(content, tmp_path, capsys) -> None:
    p = tmp_path / "foreign.duckdb"
    p.write_bytes(content)
    with pytest.raises(InputError):
        lstmvis_db.open(p)
    one_line_refusal(*run_cli(capsys, "info", "--db", str(p)))


def test_a_folder_is_not_a_project(tmp_path, capsys) -> None:
    (tmp_path / "dir.duckdb").mkdir()
    with pytest.raises(InputError, match="not a file"):
        lstmvis_db.open(tmp_path / "dir.duckdb")
    one_line_refusal(*run_cli(capsys, "info", "--db", str(tmp_path / "dir.duckdb")))


def test_opened_project_cannot_read_files(good) -> None:
    """The locked-down handle: no file functions, no ATTACH, and its settings cannot be changed."""
    with lstmvis_db.open(good) as p:
        with p.catalog.cursor() as cur:
            for sql in ("SELECT * FROM read_text('/etc/hostname')", "ATTACH '/tmp/x.duckdb' AS x",
                        "SET enable_external_access = true", "COPY (SELECT 1) TO '/tmp/lstmvis-leak.csv'"):
                with pytest.raises(duckdb.Error):
                    cur.execute(sql)
        assert p.info()["tokens"] > 0  # and the project itself still reads


def _data(values, transform: str) -> ProjectData:
    n = len(values)
    return ProjectData(name="nf", tokens=[f"t{i}" for i in range(n)],
                       sources=[Source(source="s", values=values, transform=transform)])


@pytest.mark.parametrize("transform", ["tanh", "none"])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_states_refused_whatever_the_transform(bad, transform, tmp_path) -> None:
    values = np.zeros((6, 3), dtype=np.float32)
    values[4, 2] = bad
    with pytest.raises(InputError, match=r"non-finite value .* position 4, cell 2"):
        lstmvis_db.write_project(tmp_path / "nf.duckdb", _data(values, transform))
    assert list(tmp_path.iterdir()) == []


def test_object_states_are_an_input_error(tmp_path) -> None:
    values = np.array([["a", 1], [2, 3]], dtype=object)
    with pytest.raises(InputError, match="states must be numbers"):
        lstmvis_db.write_project(tmp_path / "obj.duckdb", _data(values, "none"))
    assert list(tmp_path.iterdir()) == []
