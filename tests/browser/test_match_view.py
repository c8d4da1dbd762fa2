"""Real browser on the Match view: the length histogram toggles its filter, a source switch keeps the
brushed query (its cells re-derived for the new source), and no heatmap is cut at the page edge."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

import lstmvis_db
from tests.browser import test_browser
from tests.browser.test_browser import (
    ARGS,
    CHROMIUM,
    no_exception,
    params,
    pytestmark,  # noqa: F401 (the same marks: browser, Chromium, playwright)
    settle,
    sync_playwright,
    wait_for,
)
from tests.support.app_fixtures import SOURCES

server = test_browser.server  # the same module fixture: streamlit run on the tiny test project


@pytest.fixture()
def page():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        yield pg
        browser.close()


def _open_match(page, base: str, path, **extra: str) -> dict:
    with lstmvis_db.open(path) as project:
        meta = project.meta()
    a, b = int(meta["suggest_start"]), int(meta["suggest_end"])
    q = {"project": "tiny", "source": SOURCES[0], "brush": f"{a},{b}", "pos": str(max(a - 5, 0)), "queried": "1",
         **extra}
    page.goto(f"{base}/Match?{urlencode(q)}")
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)
    settle(page)
    no_exception(page)
    return {"a": a, "b": b}


def test_histogram_bar_click_toggles_the_length_filter(server, page) -> None:
    base, path = server
    _open_match(page, base, path)
    bars = page.locator(".vega-embed").first.locator("g.mark-rect path")
    bars.first.click(force=True)
    wait_for(page, lambda p: "length" in p)
    chosen = params(page)["length"]
    settle(page)
    no_exception(page)
    # the same bar again: the filter is cleared (it used to stay)
    page.locator(".vega-embed").first.locator("g.mark-rect path").first.click(force=True)
    wait_for(page, lambda p: "length" not in p)
    settle(page)
    # and once more: filtered by that length again
    page.locator(".vega-embed").first.locator("g.mark-rect path").first.click(force=True)
    wait_for(page, lambda p: p.get("length") == chosen)


def test_source_switch_keeps_the_brushed_query(server, page) -> None:
    base, path = server
    where = _open_match(page, base, path)
    with lstmvis_db.open(path) as project:
        cells = project.select(SOURCES[1], where["a"], where["b"], 0.3, 1, 0)
    box = page.locator(".st-key-w_source [role=combobox]").first
    box.scroll_into_view_if_needed()
    page.locator(".st-key-w_source button[aria-label=Open]").first.click()
    page.locator("[role=option]").filter(has_text=SOURCES[1]).first.click()
    wait_for(page, lambda p: p.get("source") == SOURCES[1])
    settle(page, charts=False)
    no_exception(page)
    body = page.locator("section.main, [data-testid='stMain']").first.inner_text()
    assert "No query cells yet" not in body
    assert "Source switched" in body and f"range {where['a']}–{where['b']}" in body  # the note says what happened
    assert params(page).get("brush") == f"{where['a']},{where['b']}"
    if cells:  # re-derived for the new source and matched again without another press of Run match
        page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)
        wait_for(page, lambda p: p.get("cells") == ",".join(map(str, cells)))
        assert params(page).get("queried") == "1"


def test_no_heatmap_is_cut_at_the_page_edge(server, page) -> None:
    base, path = server
    _open_match(page, base, path, hm="count,pos_tag,surprise", map="pos_tag")
    el = page.locator(".st-key-lv_match_view [data-testid='stVegaLiteChart']").first
    el.wait_for(timeout=30_000)
    geo = el.evaluate("""e => { const svg = e.querySelector('svg'); const r = e.getBoundingClientRect();
        return {left: r.left, right: r.right, scroll: e.scrollWidth, client: e.clientWidth,
                overflow: getComputedStyle(e).overflowX, svg: svg.getBoundingClientRect().width,
                titles: [...svg.querySelectorAll('.role-title-text')].map(t => t.textContent)}; }""")
    assert geo["right"] <= page.viewport_size["width"]  # the box itself stays on the page
    assert {"match count", "pos_tag", "surprise"} <= set(geo["titles"])  # every heatmap named
    if geo["scroll"] > geo["client"]:  # wider than the page: the box scrolls instead of cutting
        assert geo["overflow"] in ("auto", "scroll")
    el.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    page.wait_for_timeout(200)
    last = el.evaluate("""e => { const r = e.getBoundingClientRect();
        const ts = [...e.querySelectorAll('svg .role-title-text')].filter(t => t.textContent === 'surprise');
        const t = ts[ts.length - 1].getBoundingClientRect(); return {box: r.right, title: t.right, left: t.left}; }""")
    assert last["left"] >= 0 and last["title"] <= last["box"] + 1  # the last heatmap can be scrolled into view
    legends = el.evaluate("e => e.querySelectorAll('svg .role-legend').length")
    assert legends >= 3  # a colour legend under the matrix and each heatmap


def test_circle_mapping_hover_grows_every_dot_of_that_value(server, page) -> None:
    """V1 circle mapping: with pos_tag drawn as dots on the words, hovering one dot enlarges every
    dot with the same label, and only those (the page raised no Vega error on the way)."""
    base, path = server
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _open_match(page, base, path, hm="count,pos_tag", circle="pos_tag", mask="0")
    dots = page.locator(".st-key-lv_match_view svg.marks g.mark-symbol path")
    page.wait_for_function("s => document.querySelectorAll(s).length > 0",
                           arg=".st-key-lv_match_view svg.marks g.mark-symbol path", timeout=30_000)
    n = dots.count()
    before = [dots.nth(i).get_attribute("d") for i in range(n)]
    target = n // 2
    dots.nth(target).scroll_into_view_if_needed()
    box = dots.nth(target).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(600)
    after = [dots.nth(i).get_attribute("d") for i in range(n)]
    grown = [i for i in range(n) if after[i] != before[i]]
    assert target in grown and 0 < len(grown) < n, (len(grown), n)
    assert not errors, errors
