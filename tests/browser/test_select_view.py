"""The Select view in Chromium (issue 11): the loop "brush, navigate away, brush again" after
50 », a jump and a search hit; the draggable threshold and padding handles; a click on the words
clearing the range; a cell-state source in displayed units; legends; the tracks (a second chart)
lined up under the words; the chart fitting the page width at any window size; the landing page's
name.  Each test
fails on the bug it covers.  Skipped without /usr/bin/chromium or playwright."""

from __future__ import annotations

import time
from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

import lstmvis_db
from tests.support import legibility
from tests.support import select_gestures as sg
from tests.support.app_fixtures import SOURCES, build_app_project, project_data
from tests.support.browser import ARGS, CHROMIUM, MARKS, sync_playwright
from tests.support.server import streamlit_server

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("select_view_data")
    build_app_project(data)
    d = project_data()
    values = np.asarray(d.sources[0].values, dtype=np.float32) * 30  # an unbounded "cell state" source
    cs = replace(d.sources[0], source="lstm::cells", values=values, transform="none")
    lstmvis_db.write_project(data / "cstate.duckdb", replace(d, name="cstate", sources=[cs], extra={}))
    with streamlit_server(data) as (base, _proc):
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def url_state(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def until(page, cond, what: str, timeout: float = 30.0) -> None:
    end = time.time() + timeout
    while not cond(url_state(page)):
        assert time.time() < end, f"{what}: URL {page.url}"
        page.wait_for_timeout(150)


def ready(page) -> None:
    """The run is over and the Select chart is drawn."""
    page.wait_for_selector(f"{sg.CHART} svg.marks", timeout=60_000)
    page.wait_for_timeout(250)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
    page.wait_for_timeout(400)
    assert not page.query_selector('[data-testid="stException"]')


def open_select(browser, base: str, query: str, width: int = 1400):
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.goto(f"{base}/Select?project=tiny&source={SOURCES[0]}&{query}")
    ready(page)
    return page


def _navigate(page, how: str) -> None:
    if how == "50 »":
        page.get_by_role("button", name="50 »").click()
    elif how == "jump":
        box = page.get_by_role("spinbutton", name="Position", exact=True)
        box.fill("200")
        box.press("Enter")
    else:  # a search hit
        page.get_by_placeholder("a phrase, or a regex").fill("rabbit")
        page.keyboard.press("Enter")
        page.get_by_role("button", name="rabbit").first.click()


@pytest.mark.parametrize("how", ["50 »", "jump", "search hit"])
def test_brush_navigate_away_and_brush_again(server, browser, how) -> None:
    page = open_select(browser, server, "pos=20")
    sg.brush(page, 3, 6)
    until(page, lambda p: p.get("brush") == "20,23", "first brush")
    ready(page)
    old_pos = url_state(page)["pos"]
    _navigate(page, how)
    until(page, lambda p: p.get("pos") != old_pos, "navigation")
    ready(page)
    g = sg.geometry(page)
    assert len(g.xs) == 30 and g.xs[0] > 0 and g.xs[-1] < g.chart_right, "the words are all on screen"
    lo = int(url_state(page)["pos"]) - 3
    sg.brush(page, 3, 6)  # the same gesture in the new window
    until(page, lambda p: p.get("brush") == f"{lo + 3},{lo + 6}", f"brush after {how}")
    ready(page)
    g2 = sg.geometry(page)
    assert len(g2.xs) == 30 and abs(g2.xs[0] - g.xs[0]) < 1, "nothing slid off-screen"
    page.close()


def test_threshold_handle_padding_handle_and_click_to_clear(server, browser) -> None:
    page = open_select(browser, server, "pos=20&brush=23,26")
    sg.drag_threshold(page, 0.3, 0.6)
    until(page, lambda p: abs(float(p.get("threshold", 0)) - 0.6) < 0.02, "threshold drag")
    ready(page)
    raw = page.get_by_role("spinbutton", name="raw value", exact=True).input_value()
    assert float(raw) == pytest.approx(float(url_state(page)["threshold"]))
    sg.press_padding(page, 4)  # slot 4 = position 21 (window from 17): two steps off before the range at 23
    until(page, lambda p: p.get("padding") == "2,0", "padding handle")
    ready(page)
    g = sg.geometry(page)
    page.mouse.click(g.xs[15], g.y)  # a plain click on the words
    until(page, lambda p: "brush" not in p, "click clears the range")
    page.close()


def test_cell_state_source_plotted_in_displayed_units(server, browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/Select?project=cstate&source=lstm::cells&brush=23,26&threshold=6")
    ready(page)
    titles = page.locator(f"{sg.CHART} svg.marks g.role-axis-title text").all_text_contents()
    assert "tanh(activation)" in titles, titles  # a cell-state source's default scaling
    assert page.get_by_text("Threshold (shown units)").count() == 1
    assert float(page.get_by_role("spinbutton", name="raw value", exact=True).input_value()) == pytest.approx(6.0)
    page.goto(f"{server}/Select?project=cstate&source=lstm::cells&brush=23,26&threshold=6&scale=lstm::cells:source")
    ready(page)
    titles = page.locator(f"{sg.CHART} svg.marks g.role-axis-title text").all_text_contents()
    assert any("÷" in t for t in titles), titles
    page.close()


def test_tracks_have_names_and_legends(server, browser) -> None:
    page = open_select(browser, server, "pos=20&brush=23,26&meta=pos_tag,surprise,next")
    legends = page.locator(f"{sg.CHART} svg.marks g.role-legend-title text").all_text_contents()
    assert {"selected cells on", "pos_tag", "surprise", "next score"} <= set(legends), legends
    texts = page.locator(f"{sg.CHART} svg.marks text").all_text_contents()
    assert {"pos_tag", "surprise", "next"} <= set(texts), "each track row is named"
    assert not [t for t in texts if t.strip() in ("…", "...")], "no bare ellipsis"
    page.close()


@pytest.mark.parametrize("width", [900, 1400])
def test_tracks_line_up_under_the_words(server, browser, width) -> None:
    """The tracks are a second chart under the plot's (a track toggle leaves the plot's as it is):
    every cell of a track row is centred under a word's slot of the first chart."""
    page = open_select(browser, server, "pos=20&brush=23,26&meta=pos_tag,surprise,next", width=width)
    g = sg.geometry(page)
    xs = page.evaluate("""() => {
      const box = document.querySelectorAll('[data-testid=stVegaLiteChart]')[1];
      const row = box.querySelector('svg.marks g.mark-rect.role-mark');
      return [...row.querySelectorAll('path')].map(p => {const r = p.getBoundingClientRect();
        return r.x + r.width / 2});
    }""")
    assert len(xs) >= 10
    off = [min(abs(x - w) for w in g.xs) for x in xs]
    assert max(off) < 1.5, f"a track cell is {max(off):.1f} px off its word (slot {g.slot:.1f} px)"
    page.close()


@pytest.mark.parametrize("width", [900, 1400, 2200])
def test_chart_fits_the_page_width(server, browser, width) -> None:
    page = open_select(browser, server, "pos=20&width=60", width=width)
    g = sg.geometry(page)
    box = page.locator(sg.CHART).first.bounding_box()
    svg = page.locator(f"{sg.CHART} svg.marks").first.bounding_box()
    assert svg["x"] + svg["width"] <= box["x"] + box["width"] + 1, "not clipped at the page edge"
    assert svg["width"] > 0.9 * box["width"], "no empty third"
    assert len(g.xs) == 60 and g.slot > 6
    page.close()


def test_the_landing_page_is_named_projects(server, browser) -> None:
    page = open_select(browser, server, "pos=20")
    side = page.locator('[data-testid="stSidebar"]').inner_text()
    links = page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]').all_inner_texts()
    assert [x.split("\n")[-1] for x in links[:2]] == ["Projects", "Select"], links
    assert "streamlit app" not in side
    page.close()


def test_every_control_label_reads_in_full(server, browser) -> None:
    """With the sidebar open, no label or button of the controls above the chart is cut or wrapped
    (at 1100 px the one-row layout showed "Off righ/t", "«.." and "5..") at 1100, 1400 or 1600 px
    (one page, resized: the controls reflow without a rerun)."""
    page = open_select(browser, server, "pos=20&brush=23,26&meta=pos_tag", width=1100)
    for width in (1100, 1400, 1600):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(600)
        seen = legibility.labels(page)
        assert {"« 50", "50 »", "Position", "Threshold", "raw value", "Off left", "Off right", "Scaling",
                "Tracks under the words", "Mask"} <= set(seen), seen
        assert legibility.unreadable_labels(page) == [], f"at {width} px"
    page.close()
