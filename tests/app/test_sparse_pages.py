"""AppTest: a sparse source (SAE latents) in the Select, Match and Cell pages: the Select chart
says which units it draws and a brush selects what the core selects; Match and Cell pages render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.store import add_source
from lstmvis_db.types import Source, SparseValues
from tests.support.app_fixtures import build_app_project
from tests.support.app_fixtures import run_app as app

SPARSE = "sae::latents"
WIDTH = 5000


@pytest.fixture(scope="module")
def project_path(tmp_path_factory) -> Path:
    path = build_app_project(tmp_path_factory.mktemp("sparse_app"))
    with lstmvis_db.open(path) as p:
        n = p.n_positions
    rng = np.random.default_rng(4)
    pos = np.repeat(np.arange(n), 3)
    unit = rng.integers(0, WIDTH, size=len(pos))
    unit[::3] = 17  # one unit on everywhere, so a brush selects it
    keep = np.unique(pos * WIDTH + unit, return_index=True)[1]
    add_source(path, Source(SPARSE, SparseValues(n, WIDTH, pos[keep], unit[keep],
                                                 rng.uniform(0.5, 2.0, size=len(keep))),
                            kind="sae", unsigned=True, layout="sparse"))
    return path


@pytest.fixture(autouse=True)
def _env(project_path, monkeypatch) -> None:
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(project_path.parent))
    monkeypatch.delenv("LSTMVIS_DB", raising=False)


def ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_select_page_renders_a_sparse_source_and_selects_the_core_cells(project_path):
    at = app("pages/1_Select.py", project=project_path.stem, source=SPARSE, threshold="0.4", brush="20,22",
             padding="0,0")
    ok(at)
    captions = " ".join(c.value for c in at.caption)
    assert "Sparse source (5,000 units)" in captions and "non-zero in this window" in captions
    with lstmvis_db.open(project_path) as p:
        want = p.select(SPARSE, 20, 22, 0.4, 0, 0)
    assert 17 in want
    assert at.session_state["lv"].cells == want


def test_match_and_cell_pages_render_a_sparse_source(project_path):
    ok(app("pages/2_Match.py", project=project_path.stem, source=SPARSE, threshold="0.4", cells="17"))
    ok(app("pages/5_Cell.py", project=project_path.stem, source=SPARSE, cell="17", threshold="0.4"))


def test_a_sparse_source_is_drawn_over_its_entries_quantile_and_per_unit_on_request(project_path):
    """SAE latents are large and mostly zero: by default ÷ the entries' quantile (tanh would put
    every active unit at the top); per-cell scaling divides each unit by its own quantile over its
    non-zero entries, and the caption says so."""
    at = app("pages/1_Select.py", project=project_path.stem, source=SPARSE, threshold="0.4", brush="20,22",
             padding="0,0")
    ok(at)
    assert at.selectbox(key="w_scaling").value == "source"
    at.selectbox(key="w_scaling").set_value("cell").run()
    ok(at)
    assert at.session_state["lv"].scaling.get(SPARSE) == "cell"
    assert any("over its non-zero entries" in c.value for c in at.caption), [c.value for c in at.caption]
