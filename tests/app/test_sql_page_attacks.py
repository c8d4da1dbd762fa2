"""The app's SQL page under attack (issue 10): a refused or failing statement is one message,
never an exception; the next visitor (a new session) sees nothing planted; odd but valid
results (duplicate column names, lists, EXPLAIN plans) render."""

# ruff: noqa: F811  (the fixtures imported from tests.support.sql_fixtures are parameters here)
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import lstmvis_db
from tests.support import ROOT
from tests.support.sql_fixtures import app_on_tiny, tiny_project  # noqa: F401 (fixtures)

PAGE = "pages/3_SQL.py"
CATALOG = "SELECT table_catalog, table_schema, table_name FROM information_schema.tables ORDER BY ALL"

ATTACKS = [
    ("EXPLAIN ANALYZE CREATE TABLE memory.main.x AS SELECT 42", "EXPLAIN [ANALYZE] of a SELECT"),
    ("EXPLAIN ANALYZE CREATE SEQUENCE s", "EXPLAIN [ANALYZE] of a SELECT"),
    ("EXPLAIN ANALYZE CHECKPOINT", "EXPLAIN [ANALYZE] of a SELECT"),
    ("CREATE TABLE memory.main.x AS SELECT 42", "only SELECT"),
    ("CREATE MACRO m(a) AS a", "only SELECT"),
    ("ATTACH '/tmp/planted.duckdb' AS planted", "only SELECT"),
    ("SET memory_limit = '100GB'", "only SELECT"),
    ("SELECT * FROM read_text('/etc/hostname')", "read_text is not allowed"),
    ("SELECT getenv('HOME')", "getenv is not allowed"),
    ("SELECT max(length(repeat('x', 100000000) || range::VARCHAR)) FROM range(20)", "memory limit"),
    ("SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7", "time limit"),
]


def _run(sql: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    at.text_area(key="w_sql").input(sql)
    at.button(key="run_sql").click().run()
    return at


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("sql, needle", ATTACKS)
def test_an_attack_is_a_message_and_the_next_visitor_sees_nothing(app_on_tiny, sql, needle):
    project_path = app_on_tiny
    with lstmvis_db.open(project_path) as p:
        before = p.sql(CATALOG)
    digest = _digest(project_path)
    at = _run(sql)
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and needle in at.error[0].value and "\n" not in at.error[0].value
    nxt = _run(CATALOG)  # a new session: another visitor
    assert not nxt.exception and not nxt.error
    assert nxt.dataframe[-1].value.reset_index(drop=True).equals(before.reset_index(drop=True))
    assert _digest(project_path) == digest
    assert not Path("/tmp/planted.duckdb").exists()


@pytest.mark.parametrize("sql, columns", [
    ("SELECT a.range, b.range FROM range(3) a, range(3) b", ["range", "range_1"]),
    ("SELECT 1 AS x, 2 AS x, 3 AS x", ["x", "x_1", "x_2"]),
    ("SELECT range(0, 3) AS l, 1 AS n", ["l", "n"]),
    ("EXPLAIN SELECT count(*) FROM tokens", ["explain_key", "explain_value"]),
])
def test_odd_results_render(app_on_tiny, sql, columns):
    at = _run(sql)
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert list(at.dataframe[-1].value.columns) == columns
