"""``align --sql`` (lstmvis_db.sqlmatch.align) gives the compiled path's ``tests`` on random corpora."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstmvis_db
from lstmvis_db import cli
from lstmvis_db.analysis import poibin
from lstmvis_db.sqlmatch import align as sqlalign
from lstmvis_db.types import Document, ProjectData, Source, Track
from tests.unit.test_queries import corpora
from tests.unit.test_sqlmatch import draw_hypothesis

FLOATS = ("expected", "lift", "p", "log10_p", "q")


def _write(tmp: Path, vals: np.ndarray, docs, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    n = len(vals)
    pos = rng.choice(np.array(["A", "B", "C", None], dtype=object), n, p=[0.5, 0.25, 0.15, 0.1])
    two = rng.choice(np.array(["u", "v"], dtype=object), n, p=[0.8, 0.2])
    tracks = [Track("pos", "categorical", labels=list(pos), categories=["C", "B", "A", "Z"]),
              Track("two", "categorical", labels=list(two)), Track("sc", "scalar", values=rng.normal(size=n))]
    path = tmp / "p.duckdb"
    lstmvis_db.write_project(path, ProjectData(
        name="prop", tokens=[f"w{i}" for i in range(n)], sources=[Source("s", vals)], tracks=tracks,
        documents=[Document(f"d{i}", a, b) for i, (a, b) in enumerate(docs)]))
    return path


def _run(db: Path, text: str) -> list[dict]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(text.rstrip().rstrip(";")).df().replace({np.nan: None}).to_dict("records")


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def assert_same_tests(got: list[dict], want: list[dict]) -> None:
    """Same rows (track, label, condition, hits exactly; floats to 1e-9) in the same order up to
    rows whose sort keys tie to the last bits."""
    key = {(r["track"], r["label"], r["condition"]): r for r in want}
    assert sorted(key) == sorted((g["track"], g["label"], g["condition"]) for g in got)
    for g in got:
        w = key[(g["track"], g["label"], g["condition"])]
        assert g["hits"] == w["hits"] and g["p_method"] == w["p_method"], (g, w)
        assert all(_close(g[k], w[k]) for k in FLOATS), (g, w)
    order = [(r["log10_p"], r["track"], r["label"], r["condition"]) for r in got]
    for (a, *_), (b, *_) in zip(order, order[1:], strict=False):
        assert (a if a is not None else -math.inf) <= (b if b is not None else -math.inf) + 1e-9


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), st.data())
def test_align_sql_equals_compiled(corpus, data):
    vals, docs, t = corpus
    cells, cl, cr, limit = draw_hypothesis(data, vals.shape[1])
    set_kind = data.draw(st.sampled_from(["top", "all", "strict"]))
    tracks = data.draw(st.sampled_from([None, ["pos"], ["two", "sc"]]))
    conditions = data.draw(st.sampled_from([None, ["covers"], ["starts", "contains", "ends"]]))
    with tempfile.TemporaryDirectory() as tmp:
        db = _write(Path(tmp), vals, docs, data.draw(st.integers(0, 1000)))
        with lstmvis_db.open(db) as p:
            try:
                want = p.align("s", cells, t, cl, cr, set=set_kind, limit=limit, tracks=tracks,
                               conditions=conditions)["tests"]
            except lstmvis_db.LstmvisError as e:
                assert "empty" in str(e)
                with pytest.raises(duckdb.Error, match="empty"):
                    _run(db, p.align_sql("s", cells, t, cl, cr, set=set_kind, limit=limit))
                return
            text = p.align_sql("s", cells, t, cl, cr, set=set_kind, limit=limit, tracks=tracks, conditions=conditions)
        assert_same_tests(_run(db, text), want)
        with duckdb.connect(str(db), read_only=True) as con:
            macro = con.execute(
                "SELECT * FROM lstmvis_align(?, ?, ?, set_kind := ?, constrain_left := ?, constrain_right := ?, "
                "lim := ?, tracks := ?, conditions := ?)",
                ["s", cells, t, set_kind, cl, cr, limit, tracks, conditions or list(sqlalign.CONDITIONS)]).df()
        assert_same_tests(macro.replace({np.nan: None}).to_dict("records"), want)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), st.data())
def test_align_sql_user_spans(corpus, data):
    vals, docs, _ = corpus
    picks = data.draw(st.lists(st.sampled_from(docs), min_size=1, max_size=12))
    starts, lengths = [], []
    for a, b in picks:
        s = data.draw(st.integers(a, b))
        starts.append(s)
        lengths.append(data.draw(st.integers(1, b - s + 1)))
    with tempfile.TemporaryDirectory() as tmp:
        db = _write(Path(tmp), vals, docs, 3)
        with lstmvis_db.open(db) as p:
            want = p.align(spans=(starts, lengths))["tests"]
            text = p.align_sql(spans=(starts, lengths))
        assert_same_tests(_run(db, text), want)


def test_exact_bound_is_the_compiled_one():
    assert sqlalign.EXACT_MAX_N == poibin.EXACT_MAX_N


def test_cli_align_sql(tmp_path, capsys):
    rng = np.random.default_rng(5)
    db = _write(tmp_path, rng.uniform(-1, 1, (80, 4)).astype(np.float32), [(0, 39), (40, 79)], 5)
    args = ["--source", "s", "--cells", "0,1", "--threshold", "0"]
    assert cli.main(["align", "--db", str(db), *args, "--json"]) == 0
    import json

    want = json.loads(capsys.readouterr().out)["tests"]
    assert cli.main(["align", "--db", str(db), *args, "--sql"]) == 0
    assert_same_tests(_run(db, capsys.readouterr().out), want)
    assert cli.main(["align", "--db", str(db), *args, "--sql", "--null-cells", "9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--null-cells" in err[0]


def test_align_macro_in_the_sql_console(tmp_path):
    rng = np.random.default_rng(9)
    db = _write(tmp_path, rng.uniform(-1, 1, (60, 3)).astype(np.float32), [(0, 29), (30, 59)], 9)
    with lstmvis_db.open(db) as p:
        want = p.align("s", [0, 1], 0.0, tracks=["two"], conditions=["contains"])["tests"]
        df = p.sql("SELECT track, label, hits FROM lstmvis_align('s', [0, 1], 0.0, tracks := ['two'], "
                   "conditions := ['contains']) ORDER BY label")
    assert df.to_dict("records") == sorted(({"track": r["track"], "label": r["label"], "hits": r["hits"]}
                                            for r in want), key=lambda r: r["label"])
