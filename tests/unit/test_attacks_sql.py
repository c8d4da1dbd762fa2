"""The SQL console under attack (issue 10): every statement that writes, reads files or settings,
or exhausts the server is refused with one line, by the CLI, the API and the parser alone; it
leaves nothing behind (no table for the next query, no temp files, the project file unchanged);
and one visitor's long query does not hold up another's."""

# ruff: noqa: F811  (the fixtures imported from tests.support.sql_fixtures are parameters here)
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import threading
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import lstmvis_db
from lstmvis_db import ProjectData, Source, sqlconsole
from lstmvis_db.cli import main
from lstmvis_db.errors import LstmvisError, QueryError, SqlRejected
from lstmvis_db.sqlguard import check_sql
from lstmvis_db.sqlworker import unique_names
from tests.support.app_fixtures import build_app_project
from tests.support.sql_fixtures import tiny_api, tiny_project  # noqa: F401 (fixtures)

# (statement, words of the one-line refusal)
ATTACKS = [
    ("EXPLAIN ANALYZE CREATE TABLE memory.main.x AS SELECT 42", "EXPLAIN [ANALYZE] of a SELECT"),
    ("EXPLAIN ANALYZE INSERT INTO tokens VALUES (1, 0, 'x', 0)", "EXPLAIN [ANALYZE] of a SELECT"),
    ("EXPLAIN ANALYZE DROP TABLE tokens", "EXPLAIN [ANALYZE] of a SELECT"),
    ("EXPLAIN ANALYZE CREATE MACRO m(a) AS a", "EXPLAIN [ANALYZE] of a SELECT"),
    ("EXPLAIN ANALYZE CREATE SEQUENCE s", "EXPLAIN [ANALYZE] of a SELECT"),
    ("EXPLAIN ANALYZE CHECKPOINT", "EXPLAIN [ANALYZE] of a SELECT"),
    ("/* hidden */ explain analyze create table x as select 1", "EXPLAIN [ANALYZE] of a SELECT"),
    ("EXPLAIN (FORMAT json) CREATE TABLE x AS SELECT 1", "EXPLAIN [ANALYZE] of a SELECT"),
    ("CREATE TABLE memory.main.x AS SELECT 42", "only SELECT"),
    ("INSERT INTO tokens VALUES (1, 0, 'x', 0)", "only SELECT"),
    ("DELETE FROM tokens", "only SELECT"),
    ("DROP TABLE tokens", "only SELECT"),
    ("CREATE MACRO m(a) AS a", "only SELECT"),
    ("CREATE SEQUENCE s", "only SELECT"),
    ("CHECKPOINT", "only SELECT"),
    ("PRAGMA version", "only SELECT"),
    ("SET threads = 64", "only SELECT"),
    ("RESET memory_limit", "only SELECT"),
    ("ATTACH '/tmp/planted.duckdb' AS x", "only SELECT"),
    ("DETACH project", "only SELECT"),
    ("COPY tokens TO '/tmp/security-sql-leak.csv'", "only SELECT"),
    ("EXPORT DATABASE '/tmp/security-sql-export'", "only SELECT"),
    ("INSTALL httpfs", "only SELECT"),
    ("LOAD httpfs", "only SELECT"),
    ("USE memory", "only SELECT"),
    ("SELECT 1; CREATE TABLE x AS SELECT 1", "exactly one SQL statement"),
    ("SELECT * FROM read_text('/etc/hostname')", "read_text is not allowed"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv is not allowed"),
    ("SELECT * FROM glob('/*')", "glob is not allowed"),
    ("SELECT getenv('HOME')", "getenv is not allowed"),
    ("SELECT current_setting('temp_directory')", "current_setting is not allowed"),
    ("SELECT * FROM duckdb_settings()", "duckdb_settings is not allowed"),
    ("SELECT path FROM duckdb_databases", "duckdb_databases is not allowed"),
    ("SELECT * FROM pragma_database_list", "pragma_database_list is not allowed"),
    ("SELECT * FROM query('SELECT 1')", "query is not allowed"),
    ("SELECT * FROM (SELECT * FROM read_text('/etc/hostname'))", "read_text is not allowed"),
    ("WITH t AS (SELECT getenv('USER') AS u) SELECT * FROM t", "getenv is not allowed"),
    ("EXPLAIN SELECT * FROM read_text('/etc/hostname')", "read_text is not allowed"),
    ("SELECT * FROM '/etc/passwd'", "reading files is not allowed"),
    ("SELECT * FROM 'https://example.com/x.parquet'", "reading files is not allowed"),
    ("SELECT * FROM \"data.csv\"", "reading files is not allowed"),
    ("SELEC 1", "does not parse"),
    ("", "exactly one SQL statement"),
]
BOMBS = [  # memory: each stays inside its worker's cap and ends as one line
    "SELECT max(length(repeat('x', 100000000) || range::VARCHAR)) FROM range(20)",
    "SELECT range(0, 100000) FROM range(300)",
]


@pytest.fixture(autouse=True)
def own_temp(tmp_path, monkeypatch) -> Path:
    """The console's per-query temp folders go here, so the test can see that none is left."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _catalog(api) -> set[tuple[str, str, str]]:
    df = api.sql("SELECT table_catalog, table_schema, table_name FROM information_schema.tables")
    return set(map(tuple, df.to_numpy().tolist()))


@pytest.mark.parametrize("sql, needle", ATTACKS)
def test_parser_refuses(sql, needle):
    con = duckdb.connect(":memory:")
    with pytest.raises(SqlRejected) as e:
        check_sql(con, sql)
    assert needle in str(e.value) and "\n" not in str(e.value)
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)


@pytest.mark.parametrize("sql", ["SELECT 1", "FROM range(3)", "WITH a AS (SELECT 1) SELECT * FROM a", "VALUES (1)",
                                 "EXPLAIN SELECT 1", "EXPLAIN ANALYZE SELECT 1", "-- c\nEXPLAIN ANALYZE SELECT 2",
                                 "DESCRIBE SELECT 1", "SELECT 1 UNION ALL SELECT 2", "SUMMARIZE SELECT 1"])
def test_parser_allows_reads(sql):
    assert check_sql(duckdb.connect(":memory:"), sql) == sql.strip()


def test_api_refuses_and_leaves_nothing(tiny_api, tiny_project, own_temp):
    before, digest = _catalog(tiny_api), _digest(tiny_project)
    for sql, needle in ATTACKS:
        with pytest.raises(SqlRejected) as e:
            tiny_api.sql(sql)
        assert needle in str(e.value) and "\n" not in str(e.value), sql
        assert list(own_temp.iterdir()) == [], sql
    assert _catalog(tiny_api) == before
    assert _digest(tiny_project) == digest
    assert not Path("/tmp/security-sql-leak.csv").exists() and not Path("/tmp/planted.duckdb").exists()


@pytest.mark.parametrize("sql, needle", ATTACKS[:3] + ATTACKS[8:10] + ATTACKS[26:28] + ATTACKS[29:31])
def test_cli_refuses_in_one_line(tiny_project, capsys, sql, needle):
    code = main(["sql", "--db", str(tiny_project), sql])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


@pytest.mark.parametrize("sql", BOMBS)
def test_memory_bombs_end_as_one_line(tiny_api, own_temp, sql):
    with pytest.raises(SqlRejected, match=r"^query used more than 64 MB \(memory limit\)$"):
        tiny_api.sql(sql, memory_mb=64)
    assert list(own_temp.iterdir()) == []
    assert tiny_api.sql("SELECT 41 + 1 AS x")["x"].tolist() == [42]  # the console still answers


def test_time_limit_stops_the_query(tiny_api, own_temp):
    with pytest.raises(SqlRejected, match=r"stopped after 0.5 s \(time limit\)"):
        tiny_api.sql("SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7", timeout=0.5)
    assert list(own_temp.iterdir()) == []


def test_temp_space_is_capped(tiny_api, own_temp):
    with pytest.raises(SqlRejected, match=r"^query used more than 16 MB of temp space \(temp limit\)$"):
        sqlconsole.run(tiny_api.path, "SELECT count(*) FROM range(100000000) a, range(100000000) b", memory_mb=64,
                       temp_mb=16)
    assert list(own_temp.iterdir()) == []


def test_rows_and_result_bytes_are_capped(tiny_api):
    df = tiny_api.sql("SELECT * FROM range(1000)", max_rows=10)
    assert len(df) == 10 and df.attrs["truncated"]
    assert not tiny_api.sql("SELECT * FROM range(10)", max_rows=10).attrs["truncated"]
    with pytest.raises(SqlRejected, match="result limit"):
        sqlconsole.run(tiny_api.path, "SELECT repeat('x', 1000) FROM range(5000)", result_mb=1)


def test_duplicate_column_names(tiny_api, tiny_project, capsys):
    sql = "SELECT a.range, b.range FROM range(3) a, range(3) b"
    df = tiny_api.sql(sql)
    assert list(df.columns) == ["range", "range_1"] and len(df) == 9
    assert main(["sql", "--db", str(tiny_project), "--json", sql]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 9 and set(rows[0]) == {"range", "range_1"}
    assert unique_names(["a", "a", "a_1", "a"]) == ["a", "a_2", "a_1", "a_3"]


@pytest.mark.parametrize("kw, needle", [
    ({"timeout": 0}, "timeout must be a positive finite number"),
    ({"timeout": -1}, "timeout must be a positive finite number"),
    ({"timeout": math.nan}, "timeout must be a positive finite number"),
    ({"timeout": math.inf}, "timeout must be a positive finite number"),
    ({"timeout": "10"}, "timeout must be a number"),
    ({"timeout": True}, "timeout must be a number"),
    ({"timeout": 10_000}, "over the maximum 60 (LSTMVIS_SQL_MAX_SECONDS)"),
    ({"max_rows": 0}, "max_rows must be a positive finite number"),
    ({"max_rows": -1}, "max_rows must be a positive finite number"),
    ({"max_rows": 1.5}, "max_rows must be a whole number"),
    ({"max_rows": 10**9}, "LSTMVIS_SQL_MAX_ROWS"),
    ({"memory_mb": 0}, "memory_mb must be a positive finite number"),
    ({"memory_mb": 10**6}, "LSTMVIS_SQL_MAX_MB"),
    ({"tables": {"project": pd.DataFrame({"a": [1]})}}, "reserved"),
    ({"tables": {"bad name": pd.DataFrame({"a": [1]})}}, "plain identifier"),
    ({"tables": {"t": [1, 2]}}, "must be a pandas DataFrame"),
    ({"attach": {"ws": "/nonexistent/file.duckdb"}}, "not a project file"),
    ({"attach": {"memory": "/etc/hostname"}}, "reserved"),
])
def test_limits_cannot_be_turned_off(tiny_api, kw, needle):
    with pytest.raises(LstmvisError) as e:
        tiny_api.sql("SELECT 1", **kw)
    assert needle in str(e.value)
    assert isinstance(e.value, QueryError | SqlRejected)


def test_operator_maxima_come_from_the_environment(tiny_api, monkeypatch):
    monkeypatch.setenv("LSTMVIS_SQL_MAX_SECONDS", "5")
    with pytest.raises(QueryError, match=r"timeout 10 is over the maximum 5 \(LSTMVIS_SQL_MAX_SECONDS\)"):
        tiny_api.sql("SELECT 1", timeout=10)
    assert tiny_api.sql("SELECT 1 AS x", timeout=5)["x"].tolist() == [1]
    monkeypatch.setenv("LSTMVIS_SQL_MAX_SECONDS", "-1")
    with pytest.raises(QueryError, match="LSTMVIS_SQL_MAX_SECONDS must be a positive finite number"):
        tiny_api.sql("SELECT 1")


def test_visitor_tables_and_attached_databases_are_for_one_query(tiny_api, tiny_project, tmp_path):
    matches = pd.DataFrame({"start": [3, 9], "length": [2, 4]})
    df = tiny_api.sql("SELECT sum(length) AS n FROM current_matches", tables={"current_matches": matches})
    assert df["n"].tolist() == [6]
    with pytest.raises(SqlRejected, match="current_matches"):
        tiny_api.sql("SELECT * FROM current_matches")
    other = build_app_project(tmp_path / "ws", name="workspace")
    df = tiny_api.sql("SELECT count(*) AS n FROM ws.tokens", attach={"ws": other})
    assert df["n"].tolist() == [tiny_api.n_positions]
    with pytest.raises(SqlRejected, match="only SELECT"):
        tiny_api.sql("DROP TABLE ws.tokens", attach={"ws": other})
    with pytest.raises(SqlRejected, match="ws"):
        tiny_api.sql("SELECT count(*) FROM ws.tokens")


def test_one_long_query_does_not_hold_up_another(tiny_project):
    first, second = sqlconsole.SqlConsole(tiny_project), sqlconsole.SqlConsole(tiny_project)
    done = threading.Event()
    errors: list[str] = []

    def long_query() -> None:
        try:
            first.run("SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7", timeout=8)
        except SqlRejected as e:
            errors.append(str(e))
        finally:
            done.set()

    t = threading.Thread(target=long_query)
    t.start()
    try:
        pool = sqlconsole._pool()
        while pool.busy == 0 and not done.is_set():  # the long query holds its worker
            done.wait(0.01)
        assert second.run("SELECT 1 AS x")["x"].tolist() == [1]
        assert not done.is_set(), "the short query waited for the long one"
    finally:
        t.join()
    assert errors and "time limit" in errors[0]


def test_a_project_replaced_on_disk_is_read_anew(tmp_path):
    def write(path: Path, n: int) -> None:
        lstmvis_db.write_project(path, ProjectData(name=f"n{n}", tokens=["a"] * n,
                                                   sources=[Source("s", np.zeros((n, 2), np.float32))]))

    target = tmp_path / "p.duckdb"
    write(target, 10)
    assert sqlconsole.run(target, "SELECT count(*) AS n FROM tokens")["n"].tolist() == [10]
    write(tmp_path / "new.duckdb", 20)
    os.replace(tmp_path / "new.duckdb", target)
    assert sqlconsole.run(target, "SELECT count(*) AS n FROM tokens")["n"].tolist() == [20]
