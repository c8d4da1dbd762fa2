"""AppTest of the Match page's align section, saved hypotheses and the SQL tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import lstmvis_db
from lstmvis_db.analysis import findings
from tests.support import ROOT
from tests.support.app_fixtures import SOURCES, build_app_project

SRC = SOURCES[0]


@pytest.fixture(scope="module")
def project_path(tmp_path_factory) -> Path:
    return build_app_project(tmp_path_factory.mktemp("align_app"))


@pytest.fixture(autouse=True)
def _env(project_path, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(project_path.parent))
    monkeypatch.setenv("LSTMVIS_WORKSPACE", str(tmp_path / "ws.duckdb"))
    monkeypatch.delenv("LSTMVIS_DB", raising=False)
    monkeypatch.delenv("LSTMVIS_PUBLIC", raising=False)


def _match(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages/2_Match.py"), default_timeout=120)
    for k, v in {"brush": "23,26", "queried": "1", **params}.items():
        at.query_params[k] = v
    return at.run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _tests_frame(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "condition" in d.value.columns)


def test_findings_and_tests_equal_the_core(project_path) -> None:
    at = _match()
    ok(at)
    s = at.session_state["lv"]
    with lstmvis_db.open(project_path) as p:
        want = p.align(SRC, s.query_cells(), s.threshold)
    got = _tests_frame(at)
    assert list(zip(got["track"], got["label"], got["condition"], got["hits"], strict=True)) == \
        [(r["track"], r["label"], r["condition"], r["hits"]) for r in want["tests"]]
    sentences = [findings.sentence(r, want["spans"]) for r in findings.strongest(want["tests"])]
    shown = [m.value.strip("*") for m in at.markdown]
    assert all(x in shown for x in sentences)
    if sentences:  # one click paints that track onto the words
        at.button(key="paint_0").click().run()
        ok(at)
        assert at.session_state["lv"].map_to == findings.strongest(want["tests"])[0]["track"]
    at.radio(key="w_align_set").set_value("all").run()
    ok(at)
    with lstmvis_db.open(project_path) as p:
        want = p.align(SRC, s.query_cells(), s.threshold, set="all")
    assert int(_tests_frame(at)["hits"].sum()) == sum(r["hits"] for r in want["tests"])
    assert at.query_params["aset"] in ("all", ["all"])


def test_tests_over_chosen_tracks_and_conditions_equal_the_core(project_path) -> None:
    """The family of tests (and so each q) narrowed to the tracks and conditions a user picks, as
    align --tracks/--conditions: the numbers a project's description states for one track."""
    at = _match()
    at.multiselect(key="w_align_tracks").set_value(["pos_tag"]).run()
    at.multiselect(key="w_align_conds").set_value(["covers", "starts"]).run()
    ok(at)
    s = at.session_state["lv"]
    with lstmvis_db.open(project_path) as p:
        want = p.align(SRC, s.query_cells(), s.threshold, tracks=["pos_tag"], conditions=["covers", "starts"])
        every = p.align(SRC, s.query_cells(), s.threshold)
    got = _tests_frame(at)
    assert (at.query_params["atracks"], at.query_params["aconds"]) in (("pos_tag", "covers,starts"),
                                                                       (["pos_tag"], ["covers,starts"]))
    assert set(got["track"]) == {"pos_tag"} and set(got["condition"]) == {"covers", "starts"}
    assert list(zip(got["label"], got["condition"], got["q"], strict=True)) == \
        [(r["label"], r["condition"], r["q"]) for r in want["tests"]]
    assert len(want["tests"]) < len(every["tests"])
    at.multiselect(key="w_align_tracks").set_value([]).run()
    at.multiselect(key="w_align_conds").set_value([]).run()
    assert len(_tests_frame(at)) == len(every["tests"])
    link = _match(atracks="pos_tag,a_track_of_another_project", aconds="covers,starts,nonsense")  # a shared link
    ok(link)
    assert link.multiselect(key="w_align_tracks").value == ["pos_tag"]
    assert link.multiselect(key="w_align_conds").value == ["covers", "starts"]
    assert list(_tests_frame(link)["q"]) == [r["q"] for r in want["tests"]]


def test_cell_null_states_its_time_first() -> None:
    at = _match()
    at.number_input(key="w_null_k").set_value(3).run()
    at.toggle(key="w_null_prep").set_value(True).run()
    ok(at)
    run = at.button(key="run_null")
    assert "about" in run.label and " s)" in run.label
    run.click().run()
    ok(at)
    assert any("empirical p" in m.value for m in at.markdown)


def test_save_and_reopen_hypothesis(tmp_path, project_path) -> None:
    at = _match()
    at.text_input(key="w_hyp_name").set_value("parens").run()
    at.button(key="save_hyp").click().run()
    ok(at)
    assert (tmp_path / "ws.duckdb").exists()
    with lstmvis_db.open(project_path) as p:
        saved = p.hypothesis_list(workspace=tmp_path / "ws.duckdb")["hypotheses"]
        assert [h["name"] for h in saved] == ["parens"]
        assert p.hypothesis_run("parens", workspace=tmp_path / "ws.duckdb")["same"]
    fresh = _match(brush="0,1", queried="0")
    fresh.session_state["lv"].queried = True
    fresh.run()
    fresh.button(key="open_hyp_0").click().run()
    ok(fresh)
    s = fresh.session_state["lv"]
    assert s.hypothesis == "parens" and s.brush == (23, 26) and s.query_cells() == saved[0]["cells"]
    assert fresh.query_params["hyp"] in ("parens", ["parens"])  # the shared URL names it


def test_public_mode_keeps_hypotheses_in_the_session(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LSTMVIS_PUBLIC", "1")
    at = _match()
    at.text_input(key="w_hyp_name").set_value("mine").run()
    at.button(key="save_hyp").click().run()
    ok(at)
    assert not (tmp_path / "ws.duckdb").exists()
    assert at.session_state["lv_workspace"].saved()[0]["name"] == "mine"
    assert any(b.key == "open_hyp_0" for b in at.button)


def test_sql_page_reads_current_matches() -> None:
    at = AppTest.from_file(str(ROOT / "pages/3_SQL.py"), default_timeout=60)
    at.session_state["lv_current_matches"] = pd.DataFrame({"rank": [1, 2], "start": [23, 40], "length": [4, 2]})
    at.run()
    at.text_area(key="w_sql").set_value(
        "SELECT m.rank, count(*) AS n FROM current_matches m JOIN tokens t "
        "ON t.pos BETWEEN m.start AND m.start + m.length - 1 GROUP BY m.rank ORDER BY m.rank")
    at.button(key="run_sql").click().run()
    ok(at)
    df = at.dataframe[-1].value
    assert list(df["n"]) == [4, 2]


def test_align_at_per_cell_quantiles(project_path) -> None:
    at = _match()
    at.toggle(key="w_align_useq").set_value(True).run()
    at.slider(key="w_align_q").set_value(0.95).run()
    ok(at)
    s = at.session_state["lv"]
    with lstmvis_db.open(project_path) as p:
        want = p.align(SRC, s.query_cells(), quantile=0.95)
    assert int(_tests_frame(at)["hits"].sum()) == sum(r["hits"] for r in want["tests"])
    assert any("own quantile" in c.value for c in at.caption)
