"""Float16 storage (docs/data-model.md §Storage): every answer is exact with respect to the stored
float16 values, i.e. the same as a float32 project of the values rounded to float16."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

import lstmvis_db
from lstmvis_db import InputError, ProjectData, Source, Track
from lstmvis_db.types import Document

N, D = 4000, 24


def _values() -> np.ndarray:
    rng = np.random.default_rng(7)
    v = np.tanh(np.cumsum(rng.standard_normal((N, D)), axis=0) * 0.2 + rng.normal(-0.3, 0.4, D)).astype(np.float32)
    v[::97, 3] = 0.30004  # near a threshold of 0.3: float16 rounds these across it
    v[5, :4] = [-0.0, 1e-7, -6e-6, 0.0]  # zeros and float16 subnormals
    return v


def _data(values: np.ndarray) -> ProjectData:
    docs = [Document("a", 0, 1499), Document("b", 1500, N - 1)]
    labels = ["in" if (i // 7) % 3 == 0 else "out" for i in range(N)]
    return ProjectData(name="f16", tokens=[f"w{i % 50}" for i in range(N)], documents=docs,
                       sources=[Source("s", values, transform="none")],
                       tracks=[Track("lab", "categorical", labels=labels)])


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(float16 project, float32 project of the float16-rounded values, the rounded values)."""
    folder = tmp_path_factory.mktemp("f16")
    v = _values()
    rounded = v.astype(np.float16).astype(np.float32)
    lstmvis_db.write_project(folder / "h.duckdb", _data(v), value_dtype="float16")
    lstmvis_db.write_project(folder / "r.duckdb", _data(rounded))
    return folder / "h.duckdb", folder / "r.duckdb", rounded


def test_stored_values_are_the_rounded_ones_bit_for_bit(pair) -> None:
    h, _, rounded = pair
    with lstmvis_db.open(h) as p:
        assert p.info()["sources"][0]["value_dtype"] == "float16"
        w = p.window("s", 0, N - 1)
        assert w.dtype == np.float32 and np.array_equal(w.view(np.uint32), rounded.view(np.uint32))
        meta = p.sql("SELECT value FROM project WHERE key = 'value_dtype'")
        assert meta["value"].tolist() == ["float16"]
    with duckdb.connect(str(h), read_only=True) as con:  # the states view and the rows view, in plain SQL
        got = con.execute("SELECT value FROM states WHERE source = 's' AND pos = 5 ORDER BY cell").fetchnumpy()
        assert np.array_equal(got["value"].view(np.uint32), rounded[5].view(np.uint32))
        got = con.execute("SELECT v FROM _idx.rows_0 WHERE pos = 1600").fetchone()[0]
        assert np.array_equal(np.array(got, dtype=np.float32), rounded[1600])


@pytest.mark.parametrize("cells,t,cl,cr", [([3, 4, 5], 0.3, True, False), ([0, 1, 2, 3, 7, 9], 0.1, True, True),
                                           ([3], 0.3000488281, False, False), ([2, 8], -0.25, False, True)])
def test_match_and_select_equal_the_float32_project_of_the_stored_values(pair, cells, t, cl, cr) -> None:
    h, r, rounded = pair
    with lstmvis_db.open(h) as a, lstmvis_db.open(r) as b:
        assert a.match("s", cells, t, cl, cr, limit=80) == b.match("s", cells, t, cl, cr, limit=80)
        for s in (10, 700, 1497, 2222):
            assert a.select("s", s, s + 2, t, 1, 1) == b.select("s", s, s + 2, t, 1, 1)
        on = (rounded[:, cells] >= np.float64(t)).sum()
        assert on > 0  # the case is not empty


def test_cell_statistics_and_align_equal_the_float32_project(pair) -> None:
    h, r, _ = pair
    with lstmvis_db.open(h) as a, lstmvis_db.open(r) as b:
        assert a.cells("s", "lab", "in", threshold=0.3) == b.cells("s", "lab", "in", threshold=0.3)
        assert a.align("s", [3, 4, 5], 0.3, tracks=["lab"]) == b.align("s", [3, 4, 5], 0.3, tracks=["lab"])


def test_sql_macro_over_float16_equals_the_tool(pair) -> None:
    h, _, _ = pair
    with lstmvis_db.open(h) as p:
        want = p.match("s", [3, 4, 5], 0.3, True, False, limit=20)["matches"]
    with duckdb.connect(str(h), read_only=True) as con:
        got = con.execute("SELECT start, length, intersection, \"union\" FROM lstmvis_match('s', [3, 4, 5], 0.3, "
                          "constrain_left := true, constrain_right := false, lim := 20)").fetchall()
    assert got == [(m["start"], m["length"], m["intersection"], m["union"]) for m in want]


def test_values_beyond_float16_and_unknown_dtypes_are_refused(tmp_path) -> None:
    v = _values()
    v[17, 2] = 70000.0
    with pytest.raises(InputError, match="position 17, cell 2 is beyond float16"):
        lstmvis_db.write_project(tmp_path / "x.duckdb", _data(v), value_dtype="float16")
    with pytest.raises(InputError, match="value_dtype must be one of"):
        lstmvis_db.write_project(tmp_path / "x.duckdb", _data(_values()), value_dtype="int8")
    assert not (tmp_path / "x.duckdb").exists()


@pytest.mark.parametrize("sql,words", [
    ("UPDATE _idx.source_index SET value_dtype = 'float32'", "view '_idx.rows_0'"),
    ("UPDATE _idx.source_index SET value_dtype = 'bf16'", "unknown value_dtype"),
    ("CREATE OR REPLACE VIEW _idx.rows_0 AS SELECT pos, [0.5::FLOAT] AS v FROM _idx.f16_0", "view '_idx.rows_0'"),
    ("UPDATE project SET value = '3' WHERE key = 'format_version'", "rebuild it"),
])
def test_tampered_float16_files_are_refused(pair, tmp_path, sql, words) -> None:
    p = tmp_path / "t.duckdb"
    p.write_bytes(pair[0].read_bytes())
    with duckdb.connect(str(p)) as con:
        con.execute(sql)
    with pytest.raises(InputError, match=words):
        lstmvis_db.open(p)


def test_demo_command_builds_a_float16_project(tmp_path, capsys) -> None:
    from lstmvis_db import cli

    assert cli.main(["demo", "--only", "parens", "--limit", "800", "--out", str(tmp_path),
                     "--value-dtype", "float16"]) == 0
    path = tmp_path / "parens.duckdb"
    assert capsys.readouterr().out.strip() == str(path)
    assert cli.main(["info", "--db", str(path)]) == 0
    assert "values float16" in capsys.readouterr().out
    with lstmvis_db.open(path) as p:
        src = p.info()["sources"][0]["source"]
        w = p.window(src, 0, 50)
        assert np.array_equal(w, w.astype(np.float16).astype(np.float32))  # float16 values, widened exactly
