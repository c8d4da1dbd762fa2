"""The Match page's logic under AppTest: a source switch keeps the brushed range and re-derives the
query for the new source (or says why there is none), the histogram filter toggles, and only the
shown tracks' columns are sent to the browser."""

from __future__ import annotations

from pathlib import Path

import pytest

import lstmvis_db
from tests.support.app_fixtures import SOURCES, build_app_project
from tests.support.app_fixtures import run_app as app


@pytest.fixture(scope="module")
def project_path(tmp_path_factory) -> Path:
    return build_app_project(tmp_path_factory.mktemp("match_data"))


@pytest.fixture(autouse=True)
def _env(project_path, monkeypatch) -> None:
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(project_path.parent))
    monkeypatch.delenv("LSTMVIS_DB", raising=False)


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_source_switch_keeps_the_brush_and_rederives_the_query(project_path) -> None:
    threshold = "0.3"
    at = app("pages/2_Match.py", brush="23,26", queried="1", threshold=threshold)
    _ok(at)
    with lstmvis_db.open(project_path) as p:
        first = p.select(SOURCES[0], 23, 26, float(threshold), 1, 0)
        other = p.select(SOURCES[1], 23, 26, float(threshold), 1, 0)
    assert first and at.dataframe  # matched
    at.selectbox(key="w_source").set_value(SOURCES[1]).run()
    _ok(at)
    s = at.session_state["lv"]
    assert s.source == SOURCES[1] and s.brush == (23, 26)
    notes = [m.value for m in [*at.info, *at.warning]]
    assert not any("No query cells yet" in n for n in notes)
    assert any("Source switched" in n and "23–26" in n for n in notes)
    if other:  # re-derived and matched again, no second press of Run match
        assert s.query_cells() == other and s.queried and at.dataframe
        with lstmvis_db.open(project_path) as p:
            want = p.match(SOURCES[1], other, float(threshold), True, False, 0, 50)
        got = at.dataframe[0].value
        assert got["start"].tolist() == [m["start"] for m in want["matches"]]
    else:
        assert any(f"no cell of {SOURCES[1]}" in n for n in notes)


def test_histogram_filter_toggles_through_the_callback() -> None:
    from lstmvis_ui import match_page

    at = app("pages/2_Match.py", brush="23,26", queried="1")
    _ok(at)
    s = at.session_state["lv"]
    lengths = sorted({int(m) for m in at.dataframe[0].value["length"]})
    # what the chart's on_select reports after a click on a bar, then on the same bar again
    at.session_state["lv"].length = match_page.mc.chosen_length(s.length, [lengths[0]])
    at.run()
    _ok(at)
    assert set(at.dataframe[0].value["length"]) == {lengths[0]}
    at.session_state["lv"].length = match_page.mc.chosen_length(at.session_state["lv"].length, [lengths[0]])
    at.run()
    assert at.session_state["lv"].length == 0 and len(set(at.dataframe[0].value["length"])) == len(lengths)


def test_only_the_shown_tracks_are_sent() -> None:
    at = app("pages/2_Match.py", brush="23,26", queried="1", hm="count,pos_tag")
    _ok(at)
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    matrix = next(sp for sp in specs if "words coloured by" in sp)
    assert "pos_tag" in matrix and "surprise" not in matrix


def test_match_details_reads_only_the_tracks_asked_for(project_path) -> None:
    with lstmvis_db.open(project_path) as p:
        cells = p.select(SOURCES[0], 23, 26, 0.3, 1, 0)
        ms = [{"start": m["start"], "length": m["length"]} for m in p.match(SOURCES[0], cells, 0.3)["matches"]]
        full = p.match_details(SOURCES[0], cells, 0.3, ms)
        some = p.match_details(SOURCES[0], cells, 0.3, ms, only=["pos_tag"])
    assert "surprise" in full.columns and "surprise" not in some.columns
    assert some.equals(full.drop(columns=["surprise"]))


def test_svg_export_of_the_match_charts() -> None:
    from lstmvis_db import views
    from lstmvis_db.views import match_charts as mc
    from lstmvis_ui.chart_export import _file_name, chart_svg

    hist = views.histogram_frame({"fuzzy": {"2": 5, "4": 1}, "strict": {"2": 3}})
    svg = chart_svg(mc.length_histogram(hist, selected=4))  # width "container" drawn at a fixed width
    assert svg.lstrip().startswith("<svg") and "match length (tokens)" in svg
    assert _file_name("match tiny/lstm::states") == "match-tiny-lstm-states.svg"


def test_rect_and_circle_mapping_buttons_per_heatmap() -> None:
    """Each heatmap has the V1 mapping buttons rect | circle: rect paints the words' backgrounds,
    circle draws dots on the words; pressing one on another heatmap moves the role; both are in
    the URL and a link restores them."""
    import json

    def matrix(at) -> dict:
        spec = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart") if "words coloured by" in c.proto.spec)
        return next(h for h in spec["hconcat"] if "layer" in h and any(la["mark"]["type"] == "rect" if isinstance(
            la["mark"], dict) else la["mark"] == "rect" for la in h["layer"]))

    def marks(m: dict) -> list[str]:
        return [la["mark"]["type"] if isinstance(la["mark"], dict) else la["mark"] for la in m["layer"]]

    at = app("pages/2_Match.py", brush="23,26", queried="1", hm="count,pos_tag")
    _ok(at)
    assert at.session_state["w_hm_map_count"] == ["rect"] and at.session_state["w_hm_map_pos_tag"] == []
    assert "circle" not in marks(matrix(at))
    at.segmented_control(key="w_hm_map_pos_tag").set_value(["circle"]).run()
    _ok(at)
    s = at.session_state["lv"]
    assert (s.map_to, s.circle) == ("count", "pos_tag") and at.query_params["circle"] in ("pos_tag", ["pos_tag"])
    m = matrix(at)
    dots = m["layer"][marks(m).index("circle")]
    assert dots["encoding"]["color"]["legend"]["title"] == "dots: pos_tag"
    assert "dots by pos_tag" in m["title"]["text"]
    # rect on pos_tag: the words' backgrounds by pos_tag; the count heatmap loses its rect
    at.segmented_control(key="w_hm_map_pos_tag").set_value(["circle", "rect"]).run()
    _ok(at)
    assert (at.session_state["lv"].map_to, at.session_state["lv"].circle) == ("pos_tag", "pos_tag")
    assert at.session_state["w_hm_map_count"] == []
    # circle off again: no dots, and a link with circle= restores them
    at.segmented_control(key="w_hm_map_pos_tag").set_value(["rect"]).run()
    _ok(at)
    assert at.session_state["lv"].circle == "" and "circle" not in marks(matrix(at))
    again = app("pages/2_Match.py", brush="23,26", queried="1", hm="count,pos_tag", circle="count")
    _ok(again)
    assert again.session_state["w_hm_map_count"] == ["rect", "circle"]
    assert "circle" in marks(matrix(again))
