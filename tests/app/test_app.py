"""AppTest: every page runs, and the main interactions give the core's answers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import lstmvis_db
from lstmvis_db import views
from tests.support.app_fixtures import SOURCES, build_app_project
from tests.support.app_fixtures import run_app as app

SRC = SOURCES[0]


@pytest.fixture(scope="module")
def project_path(tmp_path_factory) -> Path:
    return build_app_project(tmp_path_factory.mktemp("app_data"))


@pytest.fixture(autouse=True)
def _env(project_path, monkeypatch) -> None:
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(project_path.parent))
    monkeypatch.delenv("LSTMVIS_DB", raising=False)


@pytest.fixture(scope="module")
def project(project_path) -> lstmvis_db.Project:
    p = lstmvis_db.open(project_path)
    yield p
    p.close()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def qp(at: AppTest, key: str) -> str:
    v = at.query_params[key]
    return v[-1] if isinstance(v, list) else v


def lv(at: AppTest) -> views.ViewState:
    return at.session_state["lv"]


def test_landing_lists_project_and_opens_select(project) -> None:
    at = app("streamlit_app.py")
    ok(at)
    assert any("tiny" in s.value for s in at.subheader)
    assert [m.value for m in at.metric][:3] == [f"{project.n_positions:,}", "2", "2"]
    at.button(key="open_tiny").click().run()
    ok(at)
    assert lv(at).project == "tiny" and lv(at).source == SRC


def test_landing_bad_path_is_a_message() -> None:
    at = app("streamlit_app.py")
    at.text_input(key="w_open_path").input("/nowhere/x.duckdb").run()
    assert not at.exception
    assert "no such project file" in at.error[0].value


def test_first_screen_shows_the_suggested_hypothesis(project) -> None:
    at = app("pages/1_Select.py")
    ok(at)
    meta = project.meta()
    a, b = int(meta["suggest_start"]), int(meta["suggest_end"])
    assert lv(at).brush == (a, b)
    assert lv(at).cells == project.select(SRC, a, b, 0.3) != []
    assert qp(at, "brush") == f"{a},{b}"


def test_position_threshold_and_brush_select_the_core_cells(project) -> None:
    at = app("pages/1_Select.py")
    at.number_input(key="w_pos").set_value(130).run()
    assert lv(at).pos == 130
    at.slider(key="w_threshold_shown").set_value(0.2).run()
    assert at.number_input(key="w_threshold_raw").value == pytest.approx(0.2)
    at.number_input(key="w_range_a").set_value(138).run()
    at.number_input(key="w_range_b").set_value(141).run()
    at.number_input(key="w_pad_right").set_value(1).run()
    ok(at)
    s = lv(at)
    assert s.brush == (138, 141)
    assert s.cells == project.select(SRC, 138, 141, 0.2, 1, 1)
    at.number_input(key="w_threshold_raw").set_value(0.5).run()
    assert lv(at).cells == project.select(SRC, 138, 141, 0.5, 1, 1)
    assert qp(at, "threshold") == "0.5" and qp(at, "padding") == "1,1"


def test_navigation_and_search() -> None:
    at = app("pages/1_Select.py", pos="100")
    at.button(key="nav_p5").click().run()
    assert lv(at).pos == 105
    at.button(key="nav_m50").click().run()
    assert lv(at).pos == 55
    at.text_input(key="w_search").input("white rabbit").run()
    ok(at)
    hits = [b for b in at.button if b.key and b.key.startswith("hit_")]
    assert len(hits) == 1
    hits[0].click().run()
    assert lv(at).pos == int(hits[0].key.rsplit("_", 1)[1]) - 3
    at.selectbox(key="w_search_mode").set_value("regex").run()
    at.text_input(key="w_search").input("(").run()  # a broken regex is a message
    assert not at.exception and "invalid regex" in at.error[0].value


def test_exclusion_and_length_filter(project) -> None:
    at = app("pages/1_Select.py", brush="23,26")
    cells = lv(at).cells
    assert len(cells) >= 2
    at.pills[0].set_value(cells[1:]).run()
    assert lv(at).excluded == [cells[0]] and lv(at).query_cells() == cells[1:]
    assert qp(at, "ex_cell") == str(cells[0])
    at.slider(key="w_low_pass").set_value(3).run()
    ok(at)
    lo, hi = 0, project.documents["last_pos"].iloc[0]
    vals = views.low_pass(project.window(SRC, lo, hi), 0.3, 3)
    assert lv(at).cells == views.select_in_window(vals, lo, 23, 26, 0.3, 1, 0, lo, hi)


def test_brush_across_documents_is_a_warning(project) -> None:
    end_a = int(project.documents["last_pos"].iloc[0])
    at = app("pages/1_Select.py", brush=f"{end_a - 1},{end_a + 2}")
    assert not at.exception
    assert "document boundary" in at.warning[0].value


def test_source_switch_keeps_the_brush(project) -> None:
    at = app("pages/1_Select.py", brush="23,26")
    at.selectbox(key="w_source").set_value(SOURCES[1]).run()
    ok(at)
    assert lv(at).brush == (23, 26) and lv(at).source == SOURCES[1]
    assert lv(at).cells == project.select(SOURCES[1], 23, 26, 0.3)


def test_tracks_render() -> None:
    ok(app("pages/1_Select.py", meta="pos_tag,surprise,next", mask="0", width="60", cw="12"))


def test_run_match_gives_the_core_rows(project) -> None:
    at = app("pages/2_Match.py", brush="23,26")
    ok(at)
    assert not at.dataframe  # nothing until Run
    at.button(key="run_match").click().run()
    ok(at)
    cells = project.select(SRC, 23, 26, 0.3)
    want = project.match(SRC, cells, 0.3)
    table = at.dataframe[0].value
    starts = list(zip(table["start"], table["length"], strict=True))
    assert starts == [(m["start"], m["length"]) for m in want["matches"]]
    assert table["open"].iloc[0].startswith("./Select?") and "brush=" in table["open"].iloc[0]
    assert qp(at, "queried") == "1"
    # constraints, phrase length and the bounded pool go to the core unchanged
    at.checkbox(key="w_constrain_right").check().run()
    at.number_input(key="w_length").set_value(9).run()
    ok(at)
    want = project.match(SRC, cells, 0.3, True, True, 9)
    got = at.dataframe[0].value
    assert list(got["start"]) == [m["start"] for m in want["matches"]]
    at.radio(key="w_mode").set_value("bounded pool").run()
    ok(at)
    assert lv(at).pool == 10_000


def test_match_heatmaps_and_pins() -> None:
    at = app("pages/2_Match.py", brush="23,26", queried="1", hm="count,pos_tag,surprise", map="pos_tag")
    ok(at)
    q = lv(at).query_cells()
    pins = next(p for p in at.pills if p.key and p.key.startswith("w_pinned_"))
    pins.set_value(q[:1]).run()
    ok(at)
    assert lv(at).pinned == q[:1]
    assert qp(at, "pinned") == str(q[0])


def test_match_without_cells_says_so() -> None:
    at = app("pages/2_Match.py", brush="0,0", threshold="0.99")
    ok(at)
    assert any("No query cells" in i.value for i in at.info)


def test_url_params_round_trip() -> None:
    params = {"project": "tiny", "source": SOURCES[1], "pos": "40", "threshold": "0.45", "brush": "45,47",
              "padding": "2,1", "ex_cell": "3", "meta": "pos_tag,next", "low_pass": "2", "width": "50", "cw": "20",
              "mask": "0", "cl": "0", "cr": "1", "length": "4", "pool": "500", "hm": "count,surprise",
              "map": "surprise"}
    at = app("pages/1_Select.py", **params)
    ok(at)
    s = lv(at)
    assert (s.source, s.pos, s.threshold, s.brush, s.pad_left, s.pad_right) == (SOURCES[1], 40, 0.45, (45, 47), 2, 1)
    assert (s.tracks, s.low_pass, s.width, s.cw, s.mask) == (["pos_tag", "next"], 2, 50, 20, False)
    assert (s.constrain_left, s.constrain_right, s.length, s.pool) == (False, True, 4, 500)
    got = {k: qp(at, k) for k in at.query_params}
    for k, v in params.items():
        if k == "ex_cell" and "3" not in got.get("cells", "").split(","):
            continue  # an exclusion of a cell that is not selected is dropped
        assert views.decode_state({k: got.get(k, "")}) == views.decode_state({k: v}), k


def test_sql_console(project) -> None:
    at = app("pages/3_SQL.py", brush="23,26")
    ok(at)
    assert any("states" in e.label for e in at.expander)
    at.button(key="run_sql").click().run()
    ok(at)
    got = at.dataframe[-1].value
    assert {"label", "mean_value", "n"} <= set(got.columns)
    # the selection rule written as SQL gives the Select view's cells
    at.selectbox(key="w_example").set_value("The selection rule as SQL").run()
    at.button(key="run_sql").click().run()
    ok(at)
    assert sorted(at.dataframe[-1].value["cell"].tolist()) == project.select(SRC, 23, 26, 0.3)
    at.text_area(key="w_sql").input("DROP TABLE tokens").run()
    assert not at.exception and "only SELECT" in at.error[0].value
    at.text_area(key="w_sql").input("SELECT * FROM read_csv('/etc/passwd')").run()
    assert not at.exception and at.error


def test_missing_demos_are_built_on_first_start(tmp_path, monkeypatch, project_path) -> None:
    import shutil
    import types

    calls = []

    def build_demo(name, out_dir, progress=None):
        calls.append(name)
        progress(f"{name}: writing", 0.5)
        if name == "broken":
            raise lstmvis_db.InputError("data file missing")
        out = Path(out_dir) / f"{name}.duckdb"
        shutil.copy(project_path, out)
        return out

    fake = types.SimpleNamespace(DEMOS={"demo_a": None, "broken": None, "stale": None}, DEFAULT_DEMO="demo_a",
                                 build_demo=build_demo)
    (tmp_path / "stale.duckdb").write_bytes(b"an old file format")  # rebuilt, not shown as broken
    import lstmvis_db.demos

    monkeypatch.setattr(lstmvis_db.demos, "registry", fake, raising=False)
    monkeypatch.setitem(sys.modules, "lstmvis_db.demos.registry", fake)
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LSTMVIS_BUILD_DEMOS", "1")
    at = app("streamlit_app.py")
    assert not at.exception
    assert (tmp_path / "demo_a.duckdb").exists()
    assert calls == ["demo_a", "broken", "stale"]
    assert lstmvis_db.open(tmp_path / "stale.duckdb").info()["name"] == "tiny"
    assert any("data file missing" in w.value for w in at.sidebar.warning)
    assert lv(at).project == "demo_a"


def test_landing_puts_the_suggested_matches_one_click_away(project) -> None:
    at = app("streamlit_app.py")
    ok(at)
    at.button(key="start_match").click().run()
    ok(at)
    s = lv(at)
    meta = project.meta()
    assert s.queried and s.brush == (int(meta["suggest_start"]), int(meta["suggest_end"]))


def test_a_broken_project_file_is_a_message(tmp_path, monkeypatch, project_path) -> None:
    import shutil

    (tmp_path / "aaa_broken.duckdb").write_bytes(b"not a database")
    shutil.copy(project_path, tmp_path / "tiny.duckdb")
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(tmp_path))
    at = app("streamlit_app.py")
    assert not at.exception
    assert at.error  # the broken card says why
    assert lv(at).project == "tiny"  # the default is the first project that opens
    at = app("pages/1_Select.py", project="aaa_broken")
    assert not at.exception and "Cannot open project" in at.error[0].value


def test_a_wide_window_of_many_cells_renders(tmp_path, monkeypatch) -> None:
    build_app_project(tmp_path, "wide", n_cells=130)  # 130 cells x 60 steps > Altair's 5,000-row default
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(tmp_path))
    ok(app("pages/1_Select.py", width="60"))


def test_chart_frames_become_named_datasets() -> None:
    """ui.chart hands Streamlit the charts' DataFrames by name instead of inline values."""
    import altair as alt
    import pandas as pd

    from lstmvis_ui.widgets import _name_data

    shared = pd.DataFrame({"pos": [0, 1, 2], "v": [0.1, 0.5, 0.9]})
    other = pd.DataFrame({"pos": [1], "v": [0.3]})
    chart = alt.vconcat(
        alt.layer(alt.Chart(shared).mark_line().encode(x="pos:Q", y="v:Q"),
                  alt.Chart(shared).mark_point().encode(x="pos:Q", y="v:Q")),
        alt.Chart(other).mark_rule().encode(x="pos:Q"),
    )
    datasets: dict = {}
    _name_data(chart, datasets, {})
    spec = chart.to_dict(validate=False)
    refs = []

    def collect(node):
        if isinstance(node, dict):
            if isinstance(node.get("data"), dict):
                refs.append(node["data"])
            for v in node.values():
                collect(v)
        elif isinstance(node, list):
            for v in node:
                collect(v)

    collect(spec)
    assert all(set(r) == {"name"} for r in refs)  # references only, no inline values
    assert sorted(r["name"] for r in refs) == sorted(datasets) and len(datasets) == 2  # one per distinct frame
    assert {id(f) for f in datasets.values()} == {id(shared), id(other)}


def test_layers_side_by_side_and_their_joint_match(project) -> None:
    at = app("pages/1_Select.py", brush="23,26")
    ok(at)
    other = SOURCES[1]
    at.multiselect(key="lv_layers_pick").set_value([other]).run()
    ok(at)
    t_other = at.number_input(key=f"lv_layer_t_{other}")
    assert t_other.value == pytest.approx(0.3)
    t_other.set_value(0.5).run()
    ok(at)
    want_other = project.select(other, 23, 26, 0.5, 1, 0)
    assert any(f"{other}: {len(want_other)} cells" in c.value for c in at.caption)
    at.toggle(key="lv_layers_match").set_value(True).run()
    ok(at)
    parts = [(SRC, lv(at).query_cells(), 0.3), (other, want_other, 0.5)]
    want = project.match_sources(parts, True, False, 0, 20)
    assert want["matches"] and len(want_other) > 0  # the joint set is not trivial here
    got = at.dataframe[-1].value
    assert got["start"].tolist() == [m["start"] for m in want["matches"]]
    assert any(f"{want['candidates']:,} candidates" in c.value for c in at.caption)


def _chart_event(at: AppTest, **selection) -> None:
    """What the browser sends when a gesture on the Select chart ends (its widget state)."""
    at.session_state[f"select_chart_{at.session_state['lv_chart_gen']}"] = {"selection": selection}
    at.run()
    ok(at)


def test_chart_gestures_set_brush_threshold_padding_and_clear(project) -> None:
    at = app("pages/1_Select.py", pos="23")
    lo = 20  # window start: pos - 3
    _chart_event(at, brush={"x": [2.6, 6.4]})
    assert lv(at).brush == (23, 26) and lv(at).cells == project.select(SRC, 23, 26, 0.3, 1, 0)
    _chart_event(at, thr=[{"level": 0.5}])
    assert lv(at).threshold == pytest.approx(0.5) and qp(at, "threshold") == "0.5"
    _chart_event(at, pad=[{"x": 23 - lo - 2}])  # a press two steps before the range: off-padding 2 on the left
    assert (lv(at).pad_left, lv(at).pad_right) == (2, 0) and qp(at, "padding") == "2,0"
    assert lv(at).cells == project.select(SRC, 23, 26, 0.5, 2, 0)
    _chart_event(at, word_click=[{"x": 9}])  # a plain click on the words
    assert lv(at).brush is None


def test_brush_navigate_away_and_brush_again(project) -> None:
    """Issue 11 item 1: a range left behind by 50 », a jump or a search hit never breaks the view,
    and the same gesture in the new window is taken (a fresh chart after each move)."""
    at = app("pages/1_Select.py", pos="23")
    _chart_event(at, brush={"x": [2.6, 6.4]})
    assert lv(at).brush == (23, 26)
    moves = (lambda: at.button(key="nav_p50").click().run(), lambda: at.number_input(key="w_pos").set_value(300).run())
    for move in moves:
        move()
        ok(at)
        _chart_event(at, brush={"x": [2.6, 6.4]})
        lo = lv(at).pos - 3
        assert lv(at).brush == (lo + 3, lo + 6), "the same drag in the new window is a new range"


def test_cell_state_source_is_plotted_in_displayed_units(tmp_path, monkeypatch) -> None:
    """Issue 11 item 3: an unbounded cell-state source (values ±30 here) is drawn divided by its
    own quantile, the threshold control is in displayed units with the raw value beside it, and
    its range comes from the source's quantiles; the stored value is what selects."""
    from dataclasses import replace

    import numpy as np

    from lstmvis_db.views import scaling
    from tests.support.app_fixtures import project_data

    data = project_data()
    values = np.asarray(data.sources[0].values, dtype=np.float32) * 30
    values[0, 0] = 300.0  # one outlier: it must set neither the scale nor the threshold range
    raw = replace(data.sources[0], source="lstm::cells", values=values, transform="none")
    lstmvis_db.write_project(tmp_path / "cs.duckdb", replace(data, sources=[raw], extra={}))
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(tmp_path))
    at = app("pages/1_Select.py", source="lstm::cells", brush="23,26", threshold="3", scale="lstm::cells:source")
    ok(at)
    sc = scaling.display_scale(raw.values, mode="source")
    assert sc.scaled
    shown = at.slider(key="w_threshold_shown")
    assert shown.label.endswith("(shown units)") and shown.value == pytest.approx(3 / sc.factor, abs=2e-3)
    assert shown.max < float(raw.values.max()) / sc.factor, "range from quantiles, not the extreme"
    assert at.number_input(key="w_threshold_raw").value == pytest.approx(3.0)
    assert any("Plotted ÷" in c.value for c in at.caption)
    shown.set_value(0.5).run()
    ok(at)
    assert lv(at).threshold == pytest.approx(0.5 * sc.factor, rel=1e-3)
    with lstmvis_db.open(tmp_path / "cs.duckdb") as p:
        assert lv(at).cells == p.select("lstm::cells", 23, 26, lv(at).threshold, 1, 0)


def test_display_scaling_is_chosen_per_source(tmp_path, monkeypatch) -> None:
    """The Scaling control: a cell-state source opens in its default (tanh), per-cell scaling
    drops the threshold line and puts the control in stored units, the choice is per source and in
    the URL, and whatever is drawn the stored values select the cells."""
    from dataclasses import replace

    import numpy as np

    from tests.support.app_fixtures import project_data

    data = project_data()
    values = np.asarray(data.sources[0].values, dtype=np.float32) * 30
    cs = replace(data.sources[0], source="lstm::cells", values=values, transform="none")
    lstmvis_db.write_project(tmp_path / "cs.duckdb", replace(data, sources=[data.sources[0], cs], extra={}))
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(tmp_path))
    at = app("pages/1_Select.py", project="cs", source="lstm::cells", brush="23,26", threshold="3")
    ok(at)
    with lstmvis_db.open(tmp_path / "cs.duckdb") as p:
        want = p.select("lstm::cells", 23, 26, 3.0, 1, 0)
    assert at.selectbox(key="w_scaling").value == "tanh"
    assert at.slider(key="w_threshold_shown").value == pytest.approx(np.tanh(3.0), abs=2e-3)
    assert any("tanh(value)" in c.value for c in at.caption) and lv(at).cells == want
    at.selectbox(key="w_scaling").set_value("cell").run()
    ok(at)
    assert lv(at).scaling == {"lstm::cells": "cell"} and qp(at, "scale") == "lstm%3A%3Acells:cell"
    shown = at.slider(key="w_threshold_shown")
    assert "shown units" not in shown.label and shown.value == pytest.approx(3.0)
    assert any("tooltip shows it on that cell's scale" in c.value for c in at.caption)
    assert lv(at).threshold == pytest.approx(3.0) and lv(at).cells == want
    # another source keeps its own default: a [-1, 1] source is drawn as stored
    at.selectbox(key="w_source").set_value(data.sources[0].source).run()
    ok(at)
    assert at.selectbox(key="w_scaling").value == "none"
    assert lv(at).scaling == {"lstm::cells": "cell"}


def test_clicking_a_selected_line_opens_the_cell_page(project) -> None:
    at = app("pages/1_Select.py", brush="23,26")
    cell = lv(at).cells[0]
    _chart_event(at, cell_pick=[{"cell": cell}])
    # in the app: st.switch_page to the Cell page; run on its own: the link to it
    assert any(f"profile of cell {cell}](./Cell?" in m.value and f"cell={cell}" in m.value for m in at.markdown)


def test_the_status_widget_is_not_configured_away() -> None:
    """Issue 11 item 2: toolbarMode "minimal" removes Streamlit's "Running…" status widget, so no
    action gave feedback; the app's configuration must keep it."""
    import tomllib

    from tests.support import ROOT

    conf = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert conf.get("client", {}).get("toolbarMode", "auto") != "minimal"


def test_no_full_garbage_collection_after_each_run() -> None:
    """Streamlit's default full collection after every script run held the GIL for about 150 ms in
    this app's server, delaying each rerun's last messages (README, Latency in the browser)."""
    import tomllib

    from streamlit import config

    from tests.support import ROOT

    conf = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert conf.get("runner", {}).get("postScriptGC") is False
    assert "runner.postScriptGC" in config._config_options_template  # an option this Streamlit still reads


def test_select_chart_downloads_as_svg(project, project_path) -> None:
    import html
    import re

    from lstmvis_db.views import select_chart
    from lstmvis_ui import select_page, select_view
    from lstmvis_ui.chart_export import chart_svg

    at = app("pages/1_Select.py")
    ok(at)
    buttons = at.get("download_button")
    assert len(buttons) == 1 and buttons[0].proto.label == "Download SVG"
    s = lv(at)
    lo, hi = select_page.window_bounds(str(project_path), s)
    parts, _ = select_view.build(str(project_path), s, s.cells, lo, hi)
    svg = chart_svg(select_chart.spec(parts))  # what the button draws
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert svg.lstrip().startswith("<svg") and "selected cells on" in texts
    word = project.tokens(s.brush[0], s.brush[0]).token.iloc[0]
    assert html.escape(word) in texts  # the brushed word is drawn, as text


def test_each_card_opens_on_its_suggested_source(tmp_path, monkeypatch, project_path) -> None:
    """Every project's card, not only the first one's "Start here", leads to its suggested
    hypothesis: the card's source list starts on the suggested source (here the second one)."""
    import shutil

    import duckdb

    shutil.copy(project_path, tmp_path / "tiny.duckdb")
    other = tmp_path / "zz_other.duckdb"
    shutil.copy(project_path, other)
    with duckdb.connect(str(other)) as con:
        con.execute("UPDATE project SET value = ? WHERE key = 'suggest_source'", [SOURCES[1]])
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(tmp_path))
    at = app("streamlit_app.py")
    ok(at)
    assert at.selectbox(key="w_src_zz_other").value == SOURCES[1]
    assert at.selectbox(key="w_src_tiny").value == SOURCES[0]
    at.button(key="open_zz_other").click().run()
    ok(at)
    with lstmvis_db.open(other) as p:
        meta = p.meta()
    s = lv(at)
    assert (s.project, s.source) == ("zz_other", SOURCES[1])
    assert s.brush == (int(meta["suggest_start"]), int(meta["suggest_end"]))


def test_titles_name_a_copy_by_its_file_too(tmp_path, monkeypatch, project_path) -> None:
    """A full build keeps its demo's stored name; the page titles add the name the sidebar lists."""
    import shutil

    shutil.copy(project_path, tmp_path / "tiny.duckdb")
    shutil.copy(project_path, tmp_path / "tiny-full.duckdb")
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(tmp_path))
    for page in ("pages/1_Select.py", "pages/2_Match.py", "pages/3_SQL.py"):
        at = app(page, project="tiny-full")
        ok(at)
        shown = [m.value.replace("\\", "") for m in at.markdown]  # as rendered: escapes gone
        assert any("· tiny (tiny-full) ·" in x or x.endswith("· tiny (tiny-full)") for x in shown), shown[:2]
        at = app(page, project="tiny")
        assert any(m.value.startswith("#### ") and "· tiny" in m.value and "(tiny" not in m.value
                   for m in at.markdown)
