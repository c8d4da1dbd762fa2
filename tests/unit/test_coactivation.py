"""Co-activation (docs/analysis.md §Co-activation) against the oracle: lift, PMI, phi, lagged windows cut at
document ends, ordering, per-cell quantile thresholds, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.cli import main
from lstmvis_db.errors import QueryError
from tests.support.cells_oracle import coactivation, lagged, quantile_cont, random_corpus


@pytest.fixture(scope="module", params=[6, 7])
def corpus(request, tmp_path_factory):
    return random_corpus(tmp_path_factory.mktemp("co"), seed=request.param)


def _check(res, want_of):
    keys = [(-(r["lift"] if r["lift"] is not None else -np.inf), r["a"], r["b"]) for r in res["pairs"]]
    assert keys == sorted(keys)
    for r in res["pairs"]:
        for got, want in zip((r["lift"], r["pmi"], r["phi"]), want_of(r["a"], r["b"])):
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("cells", [[0], [1, 3], [0, 2, 5]])
def test_unlagged(corpus, cells):
    with lstmvis_db.open(corpus.path) as p:
        res = p.coactivation("s", cells, threshold=0.3)
    on = corpus.values >= np.float32(0.3)
    keep = list(range(len(corpus.tokens)))
    d = corpus.values.shape[1]
    want_pairs = {(a, b) for a in cells for b in range(d) if b != a and not (b in cells and b < a)}
    assert {(r["a"], r["b"]) for r in res["pairs"]} == want_pairs
    _check(res, lambda a, b: coactivation(on, a, b, keep))


@pytest.mark.parametrize("lag", [1, 3, 40, 63, 64, 65, 130, 500])  # within a word, at and past word edges
def test_lagged(corpus, lag):
    with lstmvis_db.open(corpus.path) as p:
        res = p.coactivation("s", [1, 2], threshold=0.3, lag=lag)
    on = corpus.values >= np.float32(0.3)
    d = corpus.values.shape[1]
    assert {(r["a"], r["b"]) for r in res["pairs"]} == {(a, b) for a in (1, 2) for b in range(d) if b != a}
    assert res["positions"] == len(corpus.tokens) - len(corpus.docs)
    _check(res, lambda a, b: lagged(on, corpus.docs, a, b, lag))


def test_filter_quantile_and_limit(corpus):
    with lstmvis_db.open(corpus.path) as p:
        res = p.coactivation("s", [0], quantile=0.7, docs=[1, 2], limit=3, lag=2)
    cols = [[float(x) for x in corpus.values[:, c]] for c in range(corpus.values.shape[1])]
    t = np.array([quantile_cont(col, 0.7) for col in cols])
    on = corpus.values.astype(np.float64) >= t[None, :]
    keep = {q for d in (1, 2) for q in range(corpus.docs[d][0], corpus.docs[d][1] + 1)}
    assert res["thresholds"] == {"0": t[0]} and len(res["pairs"]) == 3
    _check(res, lambda a, b: lagged(on, corpus.docs, a, b, 2, keep))


@pytest.mark.parametrize("kwargs, message", [
    ({"source": "x"}, "unknown source"), ({"cells": [99]}, "unknown cell"), ({"cells": []}, "at least one"),
    ({"lag": 0}, "lag"), ({"threshold": None}, "threshold or a quantile"), ({"quantile": 2, "threshold": None},
                                                                             "quantile"),
    ({"range": (3, 3), "lag": 1, "docs": None}, None), ({"limit": -1}, "limit"),
])
def test_bad_input(corpus, kwargs, message):
    args = {"source": "s", "cells": [0], "threshold": 0.3, **kwargs}
    if message is None:  # a one-position range keeps its window unless it is a document's end
        last = corpus.docs[0][1]
        args["range"] = (last, last)
        message = "no position"
    with lstmvis_db.open(corpus.path) as p, pytest.raises(QueryError, match=message):
        p.coactivation(**args)


def test_cli(corpus, capsys):
    rc = main(["coactivation", "--db", str(corpus.path), "--source", "s", "--cells", "0,1", "--threshold", "0.3",
               "--lag", "2", "--limit", "4", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(out["pairs"]) == 4 and set(out["pairs"][0]) >= {"a", "b", "lift", "pmi", "phi"}
    rc = main(["coactivation", "--db", str(corpus.path), "--source", "s", "--cells", "0", "--threshold", "0.3",
               "--lag", "0", "--json"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "lag" in err
