"""Each demo's stated finding, recomputed by the tool's own statistics on a fresh default build.

The numbers in ``lstmvis_db.demos.findings.STATED`` are what the descriptions and the README
say; here they are computed again (select, match, align with the span null and BH q, cells'
AUROC, the random-cell-set null) and must agree.
"""

from __future__ import annotations

import math
from functools import partial

import pytest

import lstmvis_db
from lstmvis_db.demos import findings, nesting_findings


@pytest.fixture(scope="module")
def built(built_demo):
    opened = {}

    def get(name: str):
        if name not in opened:
            opened[name] = lstmvis_db.open(built_demo(name))
        return opened[name]

    get.path = built_demo  # type: ignore[attr-defined]
    yield get
    for project in opened.values():
        project.close()


def _same(got: dict, stated: dict) -> None:
    for key, value in stated.items():
        if isinstance(value, float):
            assert math.isclose(got[key], value, rel_tol=1e-6, abs_tol=1e-12), (key, got[key], value)
        else:
            assert got[key] == value, (key, got[key], value)


def test_phrase_finding_is_what_the_description_states(built) -> None:
    project = built("phrases")
    got = findings.phrase_finding(project)
    _same(dict(got), findings.STATED["phrases"])
    assert got["instances"] >= 50  # over every DT JJ NN instance, not one picked example
    assert findings.TEMPLATES["phrases"].format(**got) in project.meta()["description"]


def test_character_finding_is_what_the_description_states(built) -> None:
    project = built("shakespeare")
    got = findings.stage_finding(project)
    _same(got, findings.STATED["shakespeare"])
    assert findings.TEMPLATES["shakespeare"].format(**got) in project.meta()["description"]


def test_parens_finding_and_its_null(built) -> None:
    project = built("parens")
    got = findings.parens_finding(project)
    _same(got, findings.STATED["parens"])
    assert 0 < got["null_p"] <= 1 and got["best_q"] <= 1e-6
    assert findings.TEMPLATES["parens"].format(**got) in project.meta()["description"]


def test_the_landing_suggestion_is_one_of_the_counted_instances(built) -> None:
    project = built("phrases")
    meta = project.meta()
    start = int(meta["suggest_start"])
    assert start in findings.dt_jj_nn_instances(project)
    assert int(meta["suggest_end"]) == start + 2
    source, threshold = meta["suggest_source"], float(meta["suggest_threshold"])
    cells = project.select(source, start, start + 2, threshold)
    assert cells and start in findings.STATED["phrases"]["enriched_starts"]
    # what the README says of it: the matches start where noun chunks begin
    rows = project.align(source, cells, threshold, tracks=["noun_chunk", "chunk_iob"])["tests"]
    begin = next(r for r in rows if r["label"] == "begin" and r["condition"] == "starts")
    assert begin["q"] <= 1e-6 and begin["lift"] > 2


def test_demo_finding_command(built, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    import json

    from lstmvis_db.demos import cli as demo_cli

    built("shakespeare")
    parser = argparse.ArgumentParser()
    demo_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["demo-finding", "shakespeare", "--db", str(built.path("shakespeare")), "--json"])
    args.handler(args)
    got = json.loads(capsys.readouterr().out)
    stated = findings.STATED["shakespeare"]
    assert got["cells"] == stated["cells"] and got["hits"] == stated["hits"]


def test_chorale_finding_is_what_the_description_states(built) -> None:
    """The cadence hypothesis: its enrichment, its spread over every authentic cadence of the
    held-out chorales, and over their transposed copies, as the description states."""
    project = built("chorales")
    got = findings.chorale_finding(project)
    stated = findings.STATED["chorales"]
    for key in ("source", "cells", "condition", "hits", "spans", "cadences"):
        assert got[key] == stated[key], key
    for key in ("lift", "q", "threshold"):
        assert math.isclose(got[key], stated[key], rel_tol=1e-6, abs_tol=1e-300), key
    assert got["by_key"].keys() == stated["by_key"].keys()
    for label, row in stated["by_key"].items():
        _same(got["by_key"][label], row)
    for label, row in stated["transposed"].items():
        _same(got["transposed"][label], row)
    assert got["by_key"]["original"]["instances"] == got["cadences"] >= 50  # every instance, not one example
    assert set(got["by_key"]) == {"original", "up 2", "up 5", "up 6"}
    assert findings.TEMPLATES["chorales"].format(**findings.chorale_numbers(got)) in project.meta()["description"]


def test_full_builds_state_their_own_measured_numbers() -> None:
    from lstmvis_db.demos.full_findings import FULL_STATED, MEASURED

    assert set(FULL_STATED) == set(MEASURED)
    for name, numbers in FULL_STATED.items():
        # the full entry carries every number the default entry's template uses
        default = nesting_findings.STATED if name == "python" else findings.STATED[name]
        assert set(default) - {"enriched_starts"} <= set(numbers), name
        stated = nesting_findings.stated_python_finding if name == "python" else partial(findings.stated_finding, name)
        text = stated("full")
        assert MEASURED[name] in text and not text.startswith("On the default build")
        assert text != stated("default")
    unmeasured = set(findings.STATED) - set(FULL_STATED)
    for name in unmeasured:
        assert findings.stated_finding(name, "full").startswith("On the default build: ")
