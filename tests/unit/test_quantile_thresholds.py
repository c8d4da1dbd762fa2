"""Selection and matching at each cell's own q-quantile (docs/analysis.md §A cell's profile) equal the plain
docs/semantics.md §Matching oracle run on the values shifted by each cell's DuckDB quantile_cont."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.cli import main
from lstmvis_db.errors import QueryError
from tests.support.cells_oracle import duckdb_quantiles, random_corpus
from tests.support.oracle import oracle_match, oracle_select


@pytest.fixture(scope="module", params=[8, 9])
def corpus(request, tmp_path_factory):
    return random_corpus(tmp_path_factory.mktemp("qt"), seed=request.param, n=200, d=8)


def _shifted(corpus, q):
    t = np.array([duckdb_quantiles([float(x) for x in corpus.values[:, c]], [q])[0]
                  for c in range(corpus.values.shape[1])])
    return corpus.values.astype(np.float64) - t[None, :], t


@pytest.mark.parametrize("q", [0.3, 0.5, 0.9])
def test_select_and_match_equal_the_oracle(corpus, q):
    shifted, t = _shifted(corpus, q)
    with lstmvis_db.open(corpus.path) as p:
        assert p.quantile_thresholds("s", q) == {c: t[c] for c in range(len(t))}
        for a in range(0, 150, 37):
            doc = next(d for d in corpus.docs if d[0] <= a <= d[1])
            b = min(a + 2, doc[1])
            assert p.select("s", a, b, quantile=q) == oracle_select(shifted, corpus.docs, a, b, 0.0, 1, 0)
        for cells in ([0, 1], [2, 3, 5], [7]):
            got = p.match("s", cells, quantile=q, limit=10)
            want = oracle_match(shifted, corpus.docs, cells, 0.0, limit=10)
            assert got["candidates"] == want["candidates"] and got["histogram"] == want["histogram"]
            assert [(m["start"], m["length"], m["intersection"], m["union"]) for m in got["matches"]] == \
                   [(m["start"], m["length"], m["intersection"], m["union"]) for m in want["matches"]]
            assert got["thresholds"] == {str(c): t[c] for c in cells}


def test_bad_input_and_cli(corpus, capsys):
    with lstmvis_db.open(corpus.path) as p:
        with pytest.raises(QueryError, match="quantile"):
            p.select("s", 0, 1, quantile=1.0)
        with pytest.raises(QueryError, match="exactly one"):
            p.match("s", [0], threshold=0.3, quantile=0.5)
    rc = main(["select", "--db", str(corpus.path), "--source", "s", "--start", "3", "--end", "4", "--quantile",
               "0.5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and set(out["thresholds"]) == {str(c) for c in out["cells"]}
    rc = main(["match", "--db", str(corpus.path), "--source", "s", "--cells", "0", "--quantile", "-0.1", "--json"])
    assert rc == 2 and "quantile" in capsys.readouterr().err
