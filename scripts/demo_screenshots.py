"""The README's screenshots of the default demo: Select with its suggested hypothesis and Match with
that hypothesis run, in Debian's Chromium at 1600 x 1100 (Match 1600 x 2200), written to
``docs/img/demo_select.png`` and ``docs/img/demo_match.png``.

    python -m lstmvis_db demo --out /tmp/demos && PYTHONPATH=$PWD python scripts/demo_screenshots.py --data /tmp/demos

Needs the dev requirements (Playwright) and ``/usr/bin/chromium``; it starts and stops its own
``streamlit run``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.support import ROOT
from tests.support.browser import ARGS, CHROMIUM, sync_playwright
from tests.support.server import streamlit_server


def settle(page, charts: bool = True) -> None:
    """The rerun is over and (``charts``) its charts are drawn."""
    page.wait_for_selector('[data-testid="stMarkdown"]', timeout=60_000)
    page.wait_for_timeout(500)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
    if charts:
        page.wait_for_selector(".vega-embed svg, .vega-embed canvas", timeout=60_000)
    page.wait_for_timeout(1500)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder of demo projects (lstmvis-db demo --out)")
    ap.add_argument("--project", default="phrases", help="the demo to show (default: phrases, the default demo)")
    ap.add_argument("--tracks", default="pos,chunk_iob", help="tracks shown under the words on Select")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args(argv)
    if sync_playwright is None or not CHROMIUM.exists():
        print("needs playwright and /usr/bin/chromium", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with streamlit_server(args.data.resolve()) as (base, _proc), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        page.goto(f"{base}/Select?project={args.project}&meta={args.tracks}")
        settle(page)
        page.screenshot(path=str(args.out / "demo_select.png"), full_page=False)
        page.get_by_role("link", name="Match these").first.click()
        settle(page, charts=False)
        page.goto(page.url + "&limit=20")  # 20 results: what they have in common fits below them
        settle(page, charts=False)
        page.get_by_role("button", name="Run match").click()
        settle(page)
        page.set_viewport_size({"width": 1600, "height": 2200})  # the results and what they have in common
        settle(page)
        page.screenshot(path=str(args.out / "demo_match.png"), full_page=True)
        browser.close()
    print(f"wrote {args.out / 'demo_select.png'} and {args.out / 'demo_match.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
