"""Bad input, completed (issue 10): every flag and API argument is validated, not coerced; the
CLI says what is wrong in one line naming the flag (exit 2), the API raises a LstmvisError;
a match stays within its memory budget or is refused with the estimate."""

# ruff: noqa: F811  (the fixtures imported from tests.support.sql_fixtures are parameters here)
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db import Document, InputError, ProjectData, Source
from lstmvis_db.cli import main
from lstmvis_db.errors import LstmvisError, QueryError
from tests.support import ROOT
from tests.support.app_fixtures import SOURCES
from tests.support.sql_fixtures import tiny_api, tiny_project  # noqa: F401 (fixtures)

SRC = SOURCES[0]


MATCH = ["match", "--source", SRC, "--threshold", "0.3"]
SELECT = ["select", "--source", SRC, "--threshold", "0.3"]

# (arguments after the command's --db, words of the one-line error)
CLI_CASES = [
    (["import-lstmvis", "DIR", "--doc-starts", "a,b"], "argument --doc-starts: must be a comma-separated list"),
    (["import-lstmvis", "DIR", "--doc-starts", "0,-4"], "argument --doc-starts: must be integers >= 0"),
    (["import-lstmvis", "DIR", "--db", "FOLDER"], "argument --db: "),
    (["import-lstmvis", "DIR", "--db", "/proc/x.duckdb"], "argument --db: cannot write in folder '/proc'"),
    (["import-lstmvis", "DIR", "--db", "/etc/hostname/x.duckdb"], "argument --db: output folder"),
    ([*MATCH, "--cells", "1.5"], "argument --cells: must be a comma-separated list of integers"),
    ([*MATCH, "--cells", "-1"], "argument --cells: must be integers >= 0"),
    ([*MATCH, "--cells", ","], "argument --cells: must list at least one integer"),
    ([*MATCH, "--cells", "99"], "unknown cell 99"),
    ([*MATCH, "--cells", "1", "--length", "-1"], "argument --length: must be an integer >= 0"),
    ([*MATCH, "--cells", "1", "--pool", "0"], "argument --pool: must be an integer >= 1"),
    ([*MATCH, "--cells", "1", "--limit", "0"], "argument --limit: must be an integer >= 1"),
    ([*MATCH, "--cells", "1", "--limit", "-5"], "argument --limit: must be an integer >= 1"),
    ([*MATCH, "--cells", "1", "--limit", "1e9"], "argument --limit: must be an integer"),
    (["match", "--source", SRC, "--cells", "1", "--threshold", "nan"], "argument --threshold: not a finite number"),
    (["match", "--source", SRC, "--cells", "1", "--threshold=-inf"], "argument --threshold: not a finite number"),
    ([*SELECT, "--start", "-1", "--end", "3"], "argument --start: must be an integer >= 0"),
    ([*SELECT, "--start", "1", "--end", "3", "--left-off", "-2"], "argument --left-off: must be an integer >= 0"),
    ([*SELECT, "--start", "1", "--end", "3", "--right-off", "x"], "argument --right-off: must be an integer"),
    (["search", "--phrase", "x", "--limit", "0"], "argument --limit: must be an integer >= 1"),
    (["sql", "--timeout", "0", "SELECT 1"], "argument --timeout: must be a positive number"),
    (["sql", "--timeout", "-1", "SELECT 1"], "argument --timeout: must be a positive number"),
    (["sql", "--timeout", "nan", "SELECT 1"], "argument --timeout: not a finite number"),
    (["sql", "--timeout", "inf", "SELECT 1"], "argument --timeout: not a finite number"),
    (["sql", "--timeout", "3600", "SELECT 1"], "--timeout 3600 is over the maximum 60 (LSTMVIS_SQL_MAX_SECONDS)"),
    (["sql", "--max-rows", "-1", "SELECT 1"], "argument --max-rows: must be an integer >= 1"),
    (["sql", "--max-rows", "0", "SELECT 1"], "argument --max-rows: must be an integer >= 1"),
    (["sql", "--memory-mb", "0", "SELECT 1"], "argument --memory-mb: must be a positive number"),
    (["sql", "--memory-mb", "99999999", "SELECT 1"], "over the maximum 512 (LSTMVIS_SQL_MAX_MB)"),
    (["info", "--db", "FOLDER"], "not a file"),
]


@pytest.mark.parametrize("args, needle", CLI_CASES)
def test_cli_bad_input_is_one_line_naming_the_flag(tiny_project, tmp_path, capsys, args, needle):
    args = [str(tmp_path) if a == "FOLDER" else str(ROOT) if a == "DIR" else a for a in args]
    argv = [args[0], *([] if "--db" in args else ["--db", str(tiny_project)]), *args[1:]]
    if args[0] == "import-lstmvis" and "--db" not in args:
        argv = [args[0], args[1], "--db", str(tmp_path / "out.duckdb"), *args[2:]]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err, err


def test_cli_errors_have_no_traceback_in_a_subprocess(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lstmvis_db", "import-lstmvis", str(ROOT), "--db", str(tmp_path),
                        "--doc-starts", "a,b"], capture_output=True, text=True, check=False,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "--db" in r.stderr or "--doc-starts" in r.stderr


API_CASES = [
    ("match", {"cells": [1.5], "threshold": 0.3}, "cells must be integers, got 1.5"),
    ("match", {"cells": [True], "threshold": 0.3}, "cells must be integers, got True"),
    ("match", {"cells": ["1"], "threshold": 0.3}, "cells must be integers, got '1'"),
    ("match", {"cells": "12", "threshold": 0.3}, "cells must be a list of integers"),
    ("match", {"cells": 5, "threshold": 0.3}, "cells must be a list of integers"),
    ("match", {"cells": [-1], "threshold": 0.3}, "unknown cell -1"),
    ("match", {"cells": [12], "threshold": 0.3}, "unknown cell 12"),
    ("match", {"cells": [1], "threshold": "0.3"}, "threshold must be a number"),
    ("match", {"cells": [1], "threshold": float("nan")}, "threshold must be a finite number"),
    ("match", {"cells": [1], "threshold": 0.3, "length": -1}, "length must be an integer >= 0"),
    ("match", {"cells": [1], "threshold": 0.3, "length": 2.5}, "length must be an integer"),
    ("match", {"cells": [1], "threshold": 0.3, "limit": 0}, "limit must be an integer >= 1"),
    ("match", {"cells": [1], "threshold": 0.3, "limit": 10**9}, "limit must be an integer <= 100000"),
    ("match", {"cells": [1], "threshold": 0.3, "limit": True}, "limit must be an integer"),
    ("match", {"cells": [1], "threshold": 0.3, "pool": 0}, "pool must be an integer >= 1"),
    ("match", {"cells": [1], "threshold": 0.3, "constrain_left": 1}, "constrain_left must be True or False"),
    ("match", {"cells": [1], "threshold": 0.3, "constrain_right": "no"}, "constrain_right must be True or False"),
    ("select", {"start": 1.5, "end": 3, "threshold": 0.3}, "start must be an integer"),
    ("select", {"start": "1", "end": 3, "threshold": 0.3}, "start must be an integer"),
    ("select", {"start": -1, "end": 3, "threshold": 0.3}, "outside the corpus"),
    ("select", {"start": 1, "end": 3, "threshold": 0.3, "left_off": -1}, "left_off must be an integer >= 0"),
    ("select", {"start": 1, "end": 3, "threshold": 0.3, "right_off": 0.5}, "right_off must be an integer"),
    ("search", {"phrase": "the", "limit": 0}, "limit must be an integer >= 1"),
    ("search", {"phrase": 3}, "must be text"),
    ("window", {"lo": "0", "hi": 5}, "lo must be an integer, got '0'"),
    ("window", {"lo": 0, "hi": 2.5}, "hi must be an integer"),
    ("tokens", {"lo": None, "hi": 5}, "lo must be an integer"),
    ("predictions", {"track": "next", "lo": 0, "hi": "9"}, "hi must be an integer"),
    ("match_details", {"cells": [1], "threshold": 0.3, "matches": [{"start": -1, "length": 2}]}, "match start"),
    ("match_details", {"cells": [1], "threshold": 0.3, "matches": [{"start": 2, "length": 2}], "left": -1},
     "left must"),
]


@pytest.mark.parametrize("method, kw, needle", API_CASES)
def test_api_arguments_are_validated_not_coerced(tiny_api, method, kw, needle):
    with pytest.raises(QueryError) as e:
        src = {"source": SRC} if method not in ("search", "tokens", "predictions") else {}
        getattr(tiny_api, method)(**src, **kw)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_valid_numpy_arguments_still_work(tiny_api):
    a = tiny_api.match(SRC, [np.int64(1), 2.0], np.float32(0.3), limit=np.int32(3))
    assert a == tiny_api.match(SRC, [1, 2], 0.3, limit=3)


def _data(values, n=20) -> ProjectData:
    return ProjectData(name="x", tokens=["t"] * n, sources=[Source("s", values, transform="tanh")])


@pytest.mark.parametrize("values, needle", [
    (np.array([["a", "b"]] * 20, dtype=object), "states must be numbers (float or int), got dtype object"),
    (np.array([["0.5", "1"]] * 20), "states must be numbers"),
    (np.full((20, 2), True), "got dtype bool"),
    (np.r_[np.zeros((19, 2)), [[np.inf, 0]]], "non-finite value inf at position 19, cell 0"),
    (np.r_[np.zeros((19, 2)), [[0, -np.inf]]], "non-finite value -inf at position 19, cell 1"),
])
def test_bad_states_are_refused_whatever_the_transform(tmp_path, values, needle):
    with pytest.raises(InputError) as e:
        lstmvis_db.write_project(tmp_path / "x.duckdb", _data(values))
    assert needle in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_write_project_to_a_folder_or_unwritable_place(tmp_path):
    good = _data(np.zeros((20, 2), np.float32))
    with pytest.raises(InputError, match="is a folder"):
        lstmvis_db.write_project(tmp_path, good)
    with pytest.raises(InputError, match="cannot write in folder '/proc'"):
        lstmvis_db.write_project("/proc/x.duckdb", good)


# --------------------------------------------------------------------------- bounded work

MEASURE = textwrap.dedent("""
    import json, resource, sys
    import lstmvis_db
    from lstmvis_db.matching import kernels
    kernels.warm_up()
    p = lstmvis_db.open(sys.argv[1]); p.info(); p.window("s", 0, 10)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {}
    try:
        r = p.match("s", list(range(int(sys.argv[3]))), float(sys.argv[2]), limit=5)
        out["matches"] = r["matches"][:1]
    except lstmvis_db.LstmvisError as e:
        out["refused"] = str(e)
    out["grew_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def always_on(tmp_path_factory) -> Path:
    """300k positions x 64 cells, every value in [0.5, 1]: every cell is on at every position."""
    n, d = 300_000, 64
    vals = np.random.default_rng(0).uniform(0.5, 1.0, size=(n, d)).astype(np.float32)
    path = tmp_path_factory.mktemp("always_on") / "on.duckdb"
    lstmvis_db.write_project(path, ProjectData(name="always on", tokens=["a", "b"] * (n // 2),
                                               documents=[Document("all", 0, n - 1)], sources=[Source("s", vals)]))
    return path


def _measure(path: Path, threshold: float, cells: int, match_mb: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LSTMVIS_MEMORY_LIMIT": "64MB", "LSTMVIS_MAX_MATCH_MB": str(match_mb)}
    r = subprocess.run([sys.executable, "-c", MEASURE, str(path), str(threshold), str(cells)], capture_output=True,
                       text=True, check=True, env=env)
    return json.loads(r.stdout)


@pytest.mark.parametrize("threshold", [-1.0, 0.1])
def test_all_cells_always_on_stay_within_the_bound(always_on, threshold):
    """The one candidate is the whole corpus: its rescoring reads 77 MB of rows a batch at a time.
    Bound: the match's limit plus DuckDB's own memory limit."""
    got = _measure(always_on, threshold, 64, 64)
    assert got["matches"] == [{"start": 0, "length": 300_000, "intersection": 64, "union": 64, "jaccard": 1.0,
                               "missing": 0}]
    assert got["grew_mb"] < 64 + 64, got


def test_a_match_over_its_budget_is_refused_with_the_estimate(always_on):
    got = _measure(always_on, 0.75, 64, 40)  # mid threshold: a candidate run at almost every position
    assert "refused" in got and "LSTMVIS_MAX_MATCH_MB" in got["refused"] and "more than the limit of 40 MB" \
        in got["refused"], got
    assert got["grew_mb"] < 64 + 40, got


def test_a_bad_budget_setting_is_one_line(tiny_api, monkeypatch):
    monkeypatch.setenv("LSTMVIS_MAX_MATCH_MB", "-1")
    with pytest.raises(LstmvisError, match="LSTMVIS_MAX_MATCH_MB must be a positive number"):
        tiny_api.match(SRC, [1], 0.3)


def test_a_window_over_the_budget_is_refused(always_on, monkeypatch):
    monkeypatch.setenv("LSTMVIS_MAX_MATCH_MB", "40")
    with lstmvis_db.open(always_on) as p:
        assert p.window("s", 0, 99_999).shape == (100_000, 64)  # 25 MB: within
        with pytest.raises(QueryError, match=r"300,000 positions x 64 cells would need 73 MB, more than the limit"):
            p.window("s", 0, 299_999)


@pytest.mark.parametrize("cl, cr", [(True, False), (False, False), (True, True), (False, True)])
def test_long_runs_rescored_in_batches_give_the_same_answers(tmp_path, monkeypatch, cl, cr):
    """Runs longer than a rescoring batch are ANDed a batch at a time: the oracle's answers."""
    from lstmvis_db.matching import algorithm
    from tests.support.oracle import oracle_match

    rng = np.random.default_rng(11)
    n, d = 300, 70
    vals = rng.uniform(-1, 1, size=(n, d)).astype(np.float32)
    cells = sorted(rng.choice(d, 66, replace=False).tolist())
    vals[40:90, cells] = 0.9  # long planted runs, some cut at a document end
    vals[140:150, cells[:30]] = 0.9
    docs = [(0, 149), (150, 299)]
    path = tmp_path / "long.duckdb"
    lstmvis_db.write_project(path, ProjectData(
        name="long", tokens=["t"] * n, documents=[Document(f"d{i}", a, b) for i, (a, b) in enumerate(docs)],
        sources=[Source("s", vals)]))
    monkeypatch.setattr(algorithm, "RESCORE_BATCH_ROWS", 4)
    with lstmvis_db.open(path) as p:
        for t in (0.0, 0.5, -2.0):
            got = p.match("s", cells, t, cl, cr, limit=25)
            want = oracle_match(vals, docs, cells, t, cl, cr, 0, 25)
            assert [(g["start"], g["length"], g["intersection"], g["union"]) for g in got["matches"]] == \
                   [(w["start"], w["length"], w["intersection"], w["union"]) for w in want["matches"]], t
