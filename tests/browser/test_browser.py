"""Real browser: Debian's Chromium driven by Playwright against ``streamlit run``.

Brushes a range on the word strip, runs the match, opens a result link, runs a SQL query, and
saves screenshots to ``.screenshots/`` (git-ignored); with ``LSTMVIS_UPDATE_DOCS_IMG=1`` it also
copies them to ``docs/img/`` (select, match, sql) for the README, so a plain test run leaves the
checkout clean.  Skipped when /usr/bin/chromium or the playwright package is missing:
``apt-get install -y chromium`` and ``pip install "playwright==1.65.*"`` (never ``playwright install``).
"""

from __future__ import annotations

import os
import shutil
import time
from urllib.parse import parse_qs, urlparse

import pytest

import lstmvis_db
from tests.support import ROOT, select_gestures
from tests.support.app_fixtures import SOURCES, build_app_project
from tests.support.browser import ARGS, CHROMIUM, MARKS, sync_playwright
from tests.support.server import streamlit_server

SHOTS = ROOT / ".screenshots"
DOCS_IMG = ROOT / "docs" / "img"
pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("browser_data")
    path = build_app_project(data)
    with streamlit_server(data) as (base, _proc):
        yield base, path


def settle(page, charts: bool = True) -> None:
    """Wait until the script run is over and the charts are drawn."""
    page.wait_for_selector('[data-testid="stMarkdown"]', timeout=30_000)
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)
    page.wait_for_load_state("networkidle", timeout=30_000)
    if charts:
        page.wait_for_selector(".vega-embed svg, .vega-embed canvas", timeout=30_000)
    page.wait_for_timeout(500)


def no_exception(page) -> None:
    exc = page.query_selector_all('[data-testid="stException"]')
    assert not exc, exc[0].inner_text()[:2000]


def params(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def wait_for(page, cond, timeout: float = 20.0) -> None:
    """Wait until ``cond(url query params)`` holds (the app mirrors its state into the URL)."""
    deadline = time.time() + timeout
    while not cond(params(page)):
        assert time.time() < deadline, f"timed out; URL {page.url}"
        page.wait_for_timeout(200)  # (lets Playwright see the URL change; time.sleep would not)


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / ".gitignore").write_text("*\n")
    page.screenshot(path=str(SHOTS / name), full_page=True)
    if os.environ.get("LSTMVIS_UPDATE_DOCS_IMG") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHOTS / name, DOCS_IMG / name)


def test_brush_match_open_link_and_sql(server) -> None:
    base, path = server
    project = lstmvis_db.open(path)
    meta = project.meta()
    a, b = int(meta["suggest_start"]), int(meta["suggest_end"])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
        page = ctx.new_page()
        page.goto(f"{base}/Select?meta=pos_tag,surprise,next")
        settle(page)
        no_exception(page)
        p = params(page)
        assert p["brush"] == f"{a},{b}"  # the suggested hypothesis is on the first screen
        lo = max(int(p["pos"]) - 3, 0)
        select_gestures.brush(page, a - lo, a + 2 - lo)  # tokens a .. a+2 on the words of the Select chart
        wait_for(page, lambda p: p.get("brush") == f"{a},{a + 2}")
        settle(page)
        no_exception(page)
        cells = project.select(SOURCES[0], a, a + 2, 0.3)
        assert cells
        # the app writes the selected cells into the URL after it has drawn the brush
        wait_for(page, lambda p: p.get("cells") == ",".join(map(str, cells)))
        assert params(page)["brush"] == f"{a},{a + 2}"
        shot(page, "select.png")

        # match
        page.get_by_text("Match these").click()
        settle(page, charts=False)
        page.get_by_role("button", name="Run match").click()
        page.wait_for_selector('[data-testid="stDataFrame"]', timeout=30_000)
        settle(page)
        no_exception(page)
        want = project.match(SOURCES[0], cells, 0.3)
        assert want["matches"]
        assert params(page)["queried"] == "1"
        # a click on a bar of the length histogram filters by that length, a click on it again clears it
        lengths = sorted(int(k) for k in want["histogram"]["fuzzy"])
        page.locator(".vega-embed").first.locator("g.mark-rect path").first.click(force=True)
        wait_for(page, lambda p: p.get("length") == str(lengths[0]))
        settle(page)
        page.locator(".vega-embed").first.locator("g.mark-rect path").first.click(force=True)
        wait_for(page, lambda p: "length" not in p)
        settle(page)
        no_exception(page)
        # the heatmaps of the tracks beside the count one, the words coloured by part of speech
        page.goto(page.url + "&hm=count,pos_tag,surprise&map=pos_tag")
        settle(page)
        no_exception(page)
        shot(page, "match.png")

        # open the first result's link (the ↗ in front of each row of the result matrix)
        first = want["matches"][0]
        page.locator(".vega-embed svg text", has_text="↗").first.click()
        page.wait_for_url("**/Select?**", timeout=30_000)
        settle(page)
        no_exception(page)
        first_cells = project.select(SOURCES[0], first["start"], first["start"] + first["length"] - 1, 0.3)
        assert first_cells
        wait_for(page, lambda p: p.get("cells") == ",".join(map(str, first_cells)))
        assert params(page)["brush"] == f"{first['start']},{first['start'] + first['length'] - 1}"

        # SQL
        page.goto(f"{base}/SQL")
        settle(page, charts=False)
        page.get_by_role("button", name="Run query").click()
        page.get_by_text("row(s)").wait_for(timeout=30_000)
        settle(page)
        no_exception(page)
        assert not page.query_selector('[data-testid="stAlertContentError"]')
        shot(page, "sql.png")
        browser.close()
    project.close()
