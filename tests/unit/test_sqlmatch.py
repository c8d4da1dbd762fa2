"""Plain SQL (lstmvis_db.sqlmatch) gives exactly the compiled path's selection and matches."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmvis_db
from lstmvis_db import cli
from tests.unit.test_queries import _write, corpora


def _run_match_sql(db: Path, text: str) -> dict:
    rows_sql, hist_sql = [s for s in text.split(";\n") if s.strip()][:2]
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.sql(rows_sql).fetchall()
        hist = con.sql(hist_sql).fetchall()
    keys = ("start", "length", "intersection", "union", "jaccard", "missing")
    matches = [dict(zip(keys, r[1:], strict=True)) for r in rows]
    return {"matches": matches,
            "histogram": {"fuzzy": {str(a): b for a, b, _ in hist}, "strict": {str(a): c for a, _, c in hist if c}},
            "candidates": sum(b for _, b, _ in hist)}


def _run_macro(db: Path, source: str, cells: list[int], t: float, cl: bool, cr: bool, length: int,
               limit: int) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT start, length, intersection, \"union\", jaccard, missing FROM lstmvis_match("
            "?, ?, ?, constrain_left := ?, constrain_right := ?, len := ?, lim := ?)",
            [source, cells, t, cl, cr, length, limit]).fetchall()


def draw_hypothesis(data, d: int) -> tuple[list[int], bool, bool, int]:
    """Cells of a width-``d`` source, both constraints and a limit, drawn by hypothesis."""
    cells = sorted(data.draw(st.sets(st.integers(0, d - 1), min_size=1, max_size=d)))
    return cells, data.draw(st.booleans()), data.draw(st.booleans()), data.draw(st.integers(1, 30))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), st.data())
def test_sql_match_equals_compiled(corpus, data):
    vals, docs, t = corpus
    cells, cl, cr, limit = draw_hypothesis(data, vals.shape[1])
    length = data.draw(st.sampled_from([0, 0, 2, 3]))
    with tempfile.TemporaryDirectory() as tmp:
        db = _write(Path(tmp), vals, docs)
        with lstmvis_db.open(db) as p:
            want = p.match("s", cells, t, cl, cr, length, limit)
            text = p.match_sql("s", cells, t, cl, cr, length, limit)
        got = _run_match_sql(db, text)
        assert got == want
        macro = _run_macro(db, "s", cells, t, cl, cr, length, limit)
        assert macro == [(m["start"], m["length"], m["intersection"], m["union"], m["jaccard"], m["missing"])
                         for m in want["matches"]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), st.data())
def test_sql_select_equals_compiled(corpus, data):
    vals, docs, t = corpus
    first, last = data.draw(st.sampled_from(docs))
    start = data.draw(st.integers(first, last))
    end = data.draw(st.integers(start, last))
    lo, ro = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
    with tempfile.TemporaryDirectory() as tmp:
        db = _write(Path(tmp), vals, docs)
        with lstmvis_db.open(db) as p:
            want = p.select("s", start, end, t, lo, ro)
            text = p.select_sql("s", start, end, t, lo, ro)
        with duckdb.connect(str(db), read_only=True) as con:
            assert [r[0] for r in con.sql(text.rstrip().rstrip(";")).fetchall()] == want
            macro = con.execute("SELECT cell FROM lstmvis_select(?, ?, ?, ?, left_off := ?, right_off := ?)",
                                ["s", start, end, t, lo, ro]).fetchall()
            assert [r[0] for r in macro] == want


def test_macros_in_the_console_join_annotations(tmp_path):
    import numpy as np

    vals = np.tile(np.array([[0.9], [0.9], [-1.0], [0.9], [0.9], [-1.0]], dtype=np.float32), (1, 2))
    db = _write(tmp_path, vals, [(0, 5)])
    with lstmvis_db.open(db) as p:
        df = p.sql("SELECT m.rank, m.start, t.token FROM lstmvis_match('s', [0, 1], 0.5) m "
                   "JOIN tokens t ON t.pos = m.start ORDER BY m.rank")
    assert df.to_dict("records") == [{"rank": 1, "start": 0, "token": "w0"}, {"rank": 2, "start": 3, "token": "w3"}]


def test_cli_sql_flags(tmp_path, capsys):
    import numpy as np

    vals = np.array([[0.9, -1], [0.9, 0.9], [-1, 0.9]], dtype=np.float32)
    db = _write(tmp_path, vals, [(0, 2)])
    assert cli.main(["select", "--db", str(db), "--source", "s", "--start", "0", "--end", "1",
                     "--threshold", "0.5", "--left-off", "0", "--sql"]) == 0
    text = capsys.readouterr().out
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql(text.rstrip().rstrip(";")).fetchall() == [(0,)]
    assert cli.main(["match", "--db", str(db), "--source", "s", "--cells", "0", "--threshold", "0.5", "--sql"]) == 0
    assert "lstmvis" not in capsys.readouterr().err
    assert cli.main(["match", "--db", str(db), "--source", "s", "--cells", "0", "--threshold", "0.5", "--sql",
                     "--pool", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--pool" in err[0]


@pytest.mark.parametrize("bad", [
    ("s", [], 0.5, "at least one cell"),
    ("s", [5], 0.5, "unknown cell"),
    ("nope", [0], 0.5, "nope"),
    ("s", [0], float("nan"), "finite"),
])
def test_match_sql_bad_input(tmp_path, bad):
    import numpy as np

    db = _write(tmp_path, np.zeros((4, 2), dtype=np.float32), [(0, 3)])
    source, cells, t, words = bad
    with lstmvis_db.open(db) as p, pytest.raises(lstmvis_db.LstmvisError, match=words):
        p.match_sql(source, cells, t)


def test_macros_of_another_version_are_one_clear_line(tmp_path, capsys):
    import numpy as np

    db = _write(tmp_path, np.zeros((4, 2), dtype=np.float32), [(0, 3)])
    with duckdb.connect(str(db)) as con:  # a file of the previous version: no lstmvis_align macro
        con.execute("DROP MACRO TABLE lstmvis_align")
    assert cli.main(["info", "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another version" in err[0] and "rebuild" in err[0] and "lstmvis_align" in err[0]
