"""Formula explanations (Mu and Andreas): the best <= 2-term formula equals a brute-force
search over every formula; reported IoU / precision / recall re-evaluate from the terms; the
parens demo's depth cell is explained by depth labels; bad input."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.cli import main
from lstmvis_db.errors import QueryError
from tests.support.cells_oracle import combine, iou_pr, primitive, random_corpus


@pytest.fixture(scope="module", params=[12, 13])
def corpus(request, tmp_path_factory):
    return random_corpus(tmp_path_factory.mktemp("fx"), seed=request.param, n=160, d=4)


def _prims(corpus):
    out = {}
    for track, labels in (("tag", corpus.labels), ("kind", corpus.labels2)):
        for lab in sorted({x for x in labels if x is not None}):
            for s in (-1, 0, 1):
                out[(track, lab, s)] = primitive(labels, corpus.docs, lab, s)
    return out


def _evaluate(terms, prims):
    f = prims[(terms[0]["track"], terms[0]["label"], terms[0]["shift"])]
    for t in terms[1:]:
        f = combine(f, prims[(t["track"], t["label"], t["shift"])], t["op"])
    return f


@pytest.mark.parametrize("cells", [[0], [1], [0, 1]])
def test_two_terms_equal_brute_force(corpus, cells):
    prims = _prims(corpus)
    target = list((corpus.values[:, cells] >= np.float32(0.3)).all(axis=1))
    best = max(iou_pr(f, target)[0] for f in prims.values())
    for (_, f), (_, g) in itertools.permutations(prims.items(), 2):
        for op in ("AND", "OR", "AND NOT", "OR NOT"):
            best = max(best, iou_pr(combine(f, g, op), target)[0])
    with lstmvis_db.open(corpus.path) as p:
        res = p.explain("s", cells, threshold=0.3, max_terms=2, beam=len(prims))
    assert res["primitives"] == len(prims) and res["target"] == sum(target)
    assert res["best"]["iou"] == pytest.approx(best, abs=1e-15)
    for e in [res["best"], *res["alternatives"]]:
        want = iou_pr(_evaluate(e["terms"], prims), target)
        assert (e["iou"], e["precision"], e["recall"]) == pytest.approx(want, abs=1e-15)


def test_three_terms_never_worse(corpus):
    with lstmvis_db.open(corpus.path) as p:
        two = p.explain("s", [0, 1], threshold=0.3, max_terms=2, beam=3)
        three = p.explain("s", [0, 1], threshold=0.3, max_terms=3, beam=3, tracks=["tag", "kind"])
        one = p.explain("s", [0, 1], threshold=0.3, max_terms=1, shifts=False)
    assert three["best"]["iou"] >= two["best"]["iou"] >= one["best"]["iou"]
    assert len(one["best"]["terms"]) == 1 and one["best"]["terms"][0]["shift"] == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"source": "x"}, "unknown source"), ({"cells": [44]}, "unknown cell"), ({"tracks": ["score"]}, "is scalar"),
    ({"tracks": ["nope"]}, "unknown track"), ({"max_terms": 4}, "1 to 3"), ({"beam": 0}, "beam"),
    ({"threshold": None, "quantile": 1.2}, "quantile"), ({"cells": []}, "at least one"),
])
def test_bad_input(corpus, kwargs, message):
    args = {"source": "s", "cells": [0], "threshold": 0.3, **kwargs}
    with lstmvis_db.open(corpus.path) as p, pytest.raises(QueryError, match=message):
        p.explain(**args)


def test_cli(corpus, capsys):
    rc = main(["explain", "--db", str(corpus.path), "--source", "s", "--cells", "0", "--threshold", "0.3",
               "--tracks", "tag", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and {"formula", "iou", "precision", "recall"} <= set(out["best"])
    rc = main(["explain", "--db", str(corpus.path), "--source", "s", "--cells", "0", "--threshold", "0.3",
               "--terms", "5"])
    assert rc == 2 and "terms" in capsys.readouterr().err


def test_parens_depth_cell_is_explained_by_depth(built_demo):
    path = built_demo("parens")
    with lstmvis_db.open(path) as p:
        top = p.cells("all", "depth", "2", threshold=0.3, limit=1)["cells"][0]
        res = p.explain(top["source"], [top["cell"]], threshold=0.3, tracks=["depth", "token_type"])
    assert res["best"]["iou"] > 0.9 and all(t["track"] == "depth" for t in res["best"]["terms"][:2])
