"""The paper's proof of concept on the parens demo: the tool recovers depth-tracking cells.

A hypothesis selected over a run of opening brackets (entered from depth d) yields cells whose
matches all sit at the same or deeper nesting than the hypothesis (depth >= d + 1 throughout).
"""

from __future__ import annotations

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.demos.parens import generate_parens, parens_hypothesis_range


@pytest.fixture(scope="module")
def parens_project(built_demo):
    path = built_demo("parens")
    project = lstmvis_db.open(path)
    yield project
    project.close()


def _depth_and_tokens(p) -> tuple[np.ndarray, list[str]]:
    n = p.n_positions
    depth = p.annotations("depth_value", list(range(n)))["value"].to_numpy().astype(int)
    tokens = list(p.tokens(0, n - 1)["token"])
    return depth, tokens


@pytest.mark.parametrize("from_depth", [0, 1, 2])
@pytest.mark.parametrize("source", ["layer1_c", "layer1_h", "layer2_c"])
def test_opening_run_hypothesis_matches_same_or_deeper(parens_project, from_depth: int,
                                                      source: str) -> None:
    p = parens_project
    depth, tokens = _depth_and_tokens(p)
    start, end = parens_hypothesis_range(tokens, depth, from_depth=from_depth, run=2)
    assert tokens[start:end + 1] == ["(", "("] and depth[start - 1] == from_depth
    hyp_depth = int(depth[start:end + 1].min())
    assert hyp_depth == from_depth + 1
    cells = p.select(source, start, end, 0.3, left_off=1, right_off=0)
    assert cells, "no cell selected"
    result = p.match(source, cells, 0.3)
    matches = result["matches"]
    assert len(matches) >= 20
    for m in matches:
        seg = depth[m["start"]:m["start"] + m["length"]]
        assert seg.min() >= hyp_depth, (m, seg.tolist())


def test_suggested_hypothesis_is_depth_tracking(parens_project) -> None:
    p = parens_project
    meta = p.meta()
    depth, _ = _depth_and_tokens(p)
    start, end = int(meta["suggest_start"]), int(meta["suggest_end"])
    threshold = float(meta["suggest_threshold"])
    cells = p.select(meta["suggest_source"], start, end, threshold)
    assert cells
    matches = p.match(meta["suggest_source"], cells, threshold)["matches"]
    assert len(matches) == 50
    hyp_depth = int(depth[start:end + 1].min())
    assert all(depth[m["start"]:m["start"] + m["length"]].min() >= hyp_depth for m in matches)
    # not trivially true: a good part of the corpus is shallower than the hypothesis
    assert (depth < hyp_depth).mean() > 0.2


def test_parens_generator_follows_the_grammar() -> None:
    tokens, depth = generate_parens(5000, np.random.default_rng(0))
    d = 0
    for tok, after in zip(tokens, depth):
        allowed = {"(", "0"} if d == 0 else {")", "4"} if d == 4 else {"(", ")", str(d)}
        assert tok in allowed
        d += 1 if tok == "(" else -1 if tok == ")" else 0
        assert after == d
    assert set(depth.tolist()) == {0, 1, 2, 3, 4}
