"""AppTest of the Cell page: a cell's profile, the cells that track a label (opened by a label
link), the formula of the query cells, and the links and co-activation view on Select; each
gives the core's answers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import lstmvis_db
from tests.support import ROOT
from tests.support.app_fixtures import CATEGORIES, SOURCES, build_app_project

SRC = SOURCES[0]


@pytest.fixture(scope="module")
def project_path(tmp_path_factory) -> Path:
    return build_app_project(tmp_path_factory.mktemp("cell_app"))


@pytest.fixture(autouse=True)
def _env(project_path, monkeypatch) -> None:
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(project_path.parent))
    monkeypatch.delenv("LSTMVIS_DB", raising=False)


def app(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    t0 = time.perf_counter()
    at.run()
    at.elapsed_s = time.perf_counter() - t0  # reported by -s runs, never asserted
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _qp(at: AppTest, key: str) -> str:
    v = at.query_params[key]
    return v[-1] if isinstance(v, list) else v


def test_profile_view_shows_the_core_profile(project_path):
    at = app("pages/5_Cell.py", project=project_path.stem, source=SRC, cell="3", threshold="0.3")
    with lstmvis_db.open(project_path) as p:
        want = p.profile(SRC, 3, threshold=0.3, top=8)
    metrics = [m.value for m in at.metric]
    assert metrics[0] == f"{want['count']:,}" and metrics[1] == f"{want['mean']:.4f}"
    assert metrics[3] == f"{want['on_rate']:.2%}"
    top = at.dataframe[1].value
    assert top["pos"].tolist() == [c["pos"] for c in want["top"]]
    assert _qp(at, "cell") == "3" and _qp(at, "view") == "profile"
    at.number_input(key="w_cell").set_value(5).run()
    assert _qp(at, "cell") == "5"
    with lstmvis_db.open(project_path) as p:
        assert at.metric[1].value == f"{p.profile(SRC, 5)['mean']:.4f}"


def test_filter_by_label_and_empty_filter(project_path):
    at = app("pages/5_Cell.py", project=project_path.stem, source=SRC, cell="2")
    at.selectbox(key="w_cell_ftrack").set_value("pos_tag").run()
    label = at.selectbox(key="w_cell_flabel").value
    with lstmvis_db.open(project_path) as p:
        want = p.profile(SRC, 2, threshold=0.3, track="pos_tag", label=label)
    assert at.metric[0].value == f"{want['count']:,}"
    with lstmvis_db.open(project_path) as p:
        ann = p.annotations("pos_tag", range(p.n_positions))
    q = int(ann[ann["label"] != label]["pos"].iloc[0])  # a position without the label
    at.text_input(key="w_cell_range").set_value(f"{q}:{q}").run()
    assert "no position" in at.error[0].value


def test_label_link_opens_the_ranking(project_path):
    label = CATEGORIES[0]
    at = app("pages/5_Cell.py", project=project_path.stem, source=SRC, view="ranking", rtrack="pos_tag",
             rlabel=label)
    with lstmvis_db.open(project_path) as p:
        want = p.cells(SRC, "pos_tag", label, threshold=0.3)
    df = at.dataframe[0].value
    assert df["cell"].tolist() == [r["cell"] for r in want["cells"]]
    assert df["profile"].iloc[0].startswith("./Cell?") and f"cell={want['cells'][0]['cell']}" in df["profile"].iloc[0]
    at.toggle(key="w_rank_useq").set_value(True).run()
    with lstmvis_db.open(project_path) as p:
        want_q = p.cells(SRC, "pos_tag", label, quantile=0.9)
    assert at.dataframe[0].value["threshold"].tolist() == [r["threshold"] for r in want_q["cells"]]


def test_formula_of_the_query_cells(project_path):
    at = app("pages/5_Cell.py", project=project_path.stem, source=SRC, view="formula", formula="query",
             cells="1,4", threshold="0.3")
    with lstmvis_db.open(project_path) as p:
        want = p.explain(SRC, [1, 4], threshold=0.3)
    if want["best"] is None:
        assert any("No position" in i.value for i in at.info)
        return
    assert any(m.value == f"**{want['best']['formula']}**" for m in at.markdown)
    assert at.metric[0].value == f"{want['best']['iou']:.3f}"


def test_select_links_and_coactivation(project_path):
    with lstmvis_db.open(project_path) as p:
        meta = p.meta()
    a, b = int(meta["suggest_start"]), int(meta["suggest_end"])
    at = app("pages/1_Select.py", project=project_path.stem, source=SRC, brush=f"{a},{b}", threshold="0.3",
             meta="pos_tag")
    with lstmvis_db.open(project_path) as p:
        cells = p.select(SRC, a, b, 0.3)
    text = " ".join(m.value for m in at.markdown)
    for c in cells:
        assert f"cell={c})" in text
    assert "view=ranking" in text and "rtrack=pos_tag" in text
    if not cells:
        return
    at.toggle(key="w_select_co").set_value(True).run()
    assert not at.exception
    with lstmvis_db.open(project_path) as p:
        want = p.coactivation(SRC, cells[:20], threshold=0.3, limit=200)
    got = next(df.value for df in at.dataframe if "lift" in df.value.columns)
    assert got[["a", "b"]].values.tolist()[:5] == [[r["a"], r["b"]] for r in want["pairs"][:5]]


def test_threshold_guidance_on_select(project_path):
    with lstmvis_db.open(project_path) as p:
        meta = p.meta()
        a, b = int(meta["suggest_start"]), int(meta["suggest_end"])
        cells = p.select(SRC, a, b, 0.3)
        want = p.value_distribution(SRC, cells, 0.9) if cells else None
    at = app("pages/1_Select.py", project=project_path.stem, source=SRC, brush=f"{a},{b}", threshold="0.3")
    if not cells:
        return
    table = next(df.value for df in at.dataframe if "Q(q)" in df.value.columns)
    assert table["Q(q)"].tolist() == [want["thresholds"][str(c)] for c in cells]


@pytest.mark.parametrize(("rtrack", "rlabel", "says"), [("nope", "NOUN", "a track that is not"),
                                                        ("pos_tag", "zzz", "a label that track 'pos"),
                                                        ("[x](http://a.b)", "NOUN", "a track that is not")])
def test_a_link_to_an_unknown_track_or_label_says_so(project_path, rtrack, rlabel, says):
    at = app("pages/5_Cell.py", project=project_path.stem, source=SRC, view="ranking", rtrack=rtrack,
             rlabel=rlabel, threshold="0.3")
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and says in warnings[0]
    assert "http" not in warnings[0] and "zzz" not in warnings[0]  # the link's text is not echoed
    assert at.dataframe  # the ranking of the first label shown below, as chosen in the lists
