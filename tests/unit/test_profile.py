"""One cell's profile (docs/analysis.md §A cell's profile) against the oracle: quantiles vs DuckDB quantile_cont,
top/bottom contexts with gaps and ties, on-rates per label, filters, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.cli import main
from lstmvis_db.errors import QueryError
from tests.support.cells_oracle import doc_index, duckdb_quantiles, random_corpus, top_contexts

LEVELS = [0, 0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1]


@pytest.fixture(scope="module", params=[4, 5])
def corpus(request, tmp_path_factory):
    return random_corpus(tmp_path_factory.mktemp("prof"), seed=request.param)


@pytest.mark.parametrize("cell, flt", [(0, {}), (2, {"docs": [1, 3]}), (1, {"range": (20, 200)}),
                                       (3, {"track": "tag", "label": "B"}),
                                       (0, {"spans": [(5, 10), (12, 30), (250, 3)]}),
                                       (4, {"docs": [0, 1], "track": "kind", "label": "y"})])
@pytest.mark.parametrize("gap", [1, 5, 17])
def test_profile_equals_the_oracle(corpus, cell, flt, gap):
    with lstmvis_db.open(corpus.path) as p:
        r = p.profile("s", cell, threshold=0.3, top=6, gap=gap, **flt)
    n = len(corpus.tokens)
    keep = set(range(n))
    if "docs" in flt:
        keep &= {q for d in flt["docs"] for q in range(corpus.docs[d][0], corpus.docs[d][1] + 1)}
    if "range" in flt:
        keep &= set(range(flt["range"][0], flt["range"][1] + 1))
    if "track" in flt:
        labels = corpus.labels if flt["track"] == "tag" else corpus.labels2
        keep &= {q for q in range(n) if labels[q] == flt["label"]}
    if "spans" in flt:
        keep &= {q for s, ln in flt["spans"] for q in range(s, s + ln)}
    keep_l = sorted(keep)
    v = [float(corpus.values[q, cell]) for q in keep_l]
    assert r["count"] == len(v)
    assert r["mean"] == pytest.approx(np.mean(v), rel=1e-12, abs=1e-12)
    assert r["std"] == pytest.approx(np.std(v), rel=1e-9, abs=1e-12)
    assert [r["quantiles"][f"{q:g}"] for q in LEVELS] == duckdb_quantiles(v, LEVELS)
    assert sum(r["histogram"]["counts"]) == len(v) and len(r["histogram"]["edges"]) == 31
    assert r["on_rate"] == pytest.approx(np.mean([x >= 0.3 for x in v]))
    tag = [q for q in keep_l if corpus.labels[q] == "A"]
    if tag:
        want = np.mean([float(corpus.values[q, cell]) >= 0.3 for q in tag])
        assert r["by_label"]["tag"]["A"] == pytest.approx(want)
    docs = doc_index(corpus.docs)
    vals = {q: float(corpus.values[q, cell]) for q in keep_l}
    assert [c["pos"] for c in r["top"]] == top_contexts(vals, docs, 6, gap, largest=True)
    assert [c["pos"] for c in r["bottom"]] == top_contexts(vals, docs, 6, gap, largest=False)
    for c in r["top"]:
        assert c["token"] == corpus.tokens[c["pos"]] and c["value"] == vals[c["pos"]]
        assert f"[{c['token']}]" in c["text"]


def test_ties_go_to_the_smaller_position(tmp_path):
    vals = np.zeros((40, 1), np.float32)
    vals[[30, 10, 20, 11], 0] = 1.0
    path = tmp_path / "t.duckdb"
    lstmvis_db.write_project(path, lstmvis_db.ProjectData(name="t", tokens=["a"] * 40,
                                                          sources=[lstmvis_db.Source("s", vals)]))
    with lstmvis_db.open(path) as p:
        r = p.profile("s", 0, top=3, gap=5)
        assert [c["pos"] for c in r["top"]] == [10, 20, 30]
        assert [c["pos"] for c in r["bottom"]] == [0, 5, 12]
        assert r["on_rate"] is None and r["by_label"] == {}


@pytest.mark.parametrize("kwargs, message", [
    ({"source": "x"}, "unknown source"), ({"cell": 99}, "unknown cell"), ({"cell": "a"}, "cell must"),
    ({"track": "nope", "label": "A"}, "unknown track"), ({"track": "tag", "label": "Q"}, "unknown label"),
    ({"track": "tag"}, "needs both"), ({"docs": [9]}, "unknown document"), ({"range": (5, 2)}, "range"),
    ({"range": (0, 10), "docs": [3]}, "leaves no position"), ({"gap": -1}, "gap"), ({"top": 1.5}, "top"),
    ({"spans": [(0, 0)]}, "span"),
])
def test_bad_input(corpus, kwargs, message):
    args = {"source": "s", "cell": 0, **kwargs}
    with lstmvis_db.open(corpus.path) as p, pytest.raises(QueryError, match=message):
        p.profile(**args)


def test_cli(corpus, capsys, tmp_path):
    spans = tmp_path / "spans.csv"
    spans.write_text("start,length\n5,10\n40,3\n")
    rc = main(["profile", "--db", str(corpus.path), "--source", "s", "--cell", "2", "--threshold", "0.3",
               "--docs", "0,1", "--top", "3", "--gap", "4", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(out["top"]) == 3 and set(out) >= {"count", "mean", "std", "quantiles", "histogram",
                                                             "on_rate", "by_label", "top", "bottom"}
    rc = main(["profile", "--db", str(corpus.path), "--source", "s", "--cell", "2", "--spans", str(spans),
               "--json"])
    assert rc == 0 and json.loads(capsys.readouterr().out)["count"] == 13
    rc = main(["profile", "--db", str(corpus.path), "--source", "s", "--cell", "2", "--range", "9:3", "--json"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "range" in err


def test_value_distribution_for_threshold_guidance(corpus):
    with lstmvis_db.open(corpus.path) as p:
        d = p.value_distribution("s", [3, 1], quantile=0.75, bins=12)
        with pytest.raises(QueryError, match="quantile"):
            p.value_distribution("s", [1], quantile=1)
    assert d["cells"] == [1, 3] and sum(d["histogram"]["counts"]) == 2 * len(corpus.tokens)
    for c in (1, 3):
        assert d["thresholds"][str(c)] == duckdb_quantiles([float(x) for x in corpus.values[:, c]], [0.75])[0]


@pytest.mark.parametrize("chars", [True, False])
def test_context_tokens_and_joiner_agree_with_the_full_text(tmp_path, chars):
    """A first profile reads only its contexts' tokens; they and the joiner equal the whole text's."""
    from lstmvis_db import queries
    from lstmvis_db.store import write_project
    from lstmvis_db.types import ProjectData, Source

    rng = np.random.default_rng(3)
    toks = [str(c) for c in rng.choice(list("abc de"), 200)] if chars else [f"w{i % 7}x" for i in range(200)]
    write_project(tmp_path / "p.duckdb", ProjectData(
        name="p", tokens=toks, sources=[Source("s", rng.normal(size=(200, 3)).astype(np.float32))]))
    with lstmvis_db.open(tmp_path / "p.duckdb") as p:
        joiner, span = queries.token_joiner(p.catalog), queries.token_range(p.catalog, 17, 29)
        text = queries.token_text(p.catalog)
        assert joiner == text.joiner == ("" if chars else " ")
        assert span == text.tokens[17:30] == toks[17:30]
