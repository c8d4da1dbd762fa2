"""Soak: 20 concurrent app sessions (20 pages of one headless Chromium) on one project under the
public rules, each opening the start page, then a match, then running a SQL query, with no error on any
page and the server's resident memory (VmRSS, sampled every 0.2 s throughout) under 1 GB.
Bounded in time by its waits, each with a timeout (a session that waits longer fails); the whole
run's duration is printed, not asserted: it depends on the machine's load (about 4 minutes on the
shared 2-core machine under a load of ~28, 8 minutes under ~13 with heavier jobs), and speed is
the benchmark's business, not a test's."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import lstmvis_db
from tests.browser.test_browser import CHROMIUM, sync_playwright
from tests.support.app_fixtures import SOURCES, build_app_project
from tests.support.server import streamlit_server

SESSIONS = 20
RSS_LIMIT = 2**30
LAUNCH = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install -y chromium"),
    pytest.mark.skipif(sync_playwright is None, reason='needs playwright: pip install "playwright==1.65.*"'),
]


def rss(pid: int) -> int:
    """Resident memory of a process in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Samples a process's VmRSS until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stop = pid, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(rss(self.pid))
            self.stop.wait(0.2)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("soak_data")
    path = build_app_project(data)
    with streamlit_server(data, LSTMVIS_PUBLIC="1", LSTMVIS_SESSION_DIR=str(data / "sessions")) as (base, proc):
        yield base, path, proc


def settled(page) -> None:
    page.wait_for_selector('[data-testid="stMarkdown"]', timeout=60_000)
    page.wait_for_timeout(200)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


def errors(page) -> list[str]:
    found = page.query_selector_all('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return [e.inner_text()[:300] for e in found]


def test_twenty_concurrent_sessions(server) -> None:
    base, path, proc = server
    with lstmvis_db.open(path) as p:
        meta = p.meta()
    brush = f"{meta['suggest_start']},{meta['suggest_end']}"
    rounds = [
        ("start page", "/", None),
        ("match", f"/Match?source={SOURCES[0]}&brush={brush}&queried=1", None),
        ("sql", "/SQL", "SELECT source, count(*) AS n FROM states GROUP BY source ORDER BY source"),
    ]
    sampler = Sampler(proc.pid)
    sampler.start()
    started = time.time()
    problems: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH)
            ctx = browser.new_context(viewport={"width": 1200, "height": 800})
            pages = [ctx.new_page() for _ in range(SESSIONS)]
            for name, url, sql in rounds:
                for page in pages:  # all sessions ask at once; then each is waited for
                    page.goto(base + url, wait_until="commit")
                for page in pages:
                    settled(page)
                    if sql:
                        page.get_by_role("textbox", name="SQL").fill(sql)
                        page.get_by_role("button", name="Run query").click()
                for i, page in enumerate(pages):
                    if sql:
                        page.wait_for_selector(r"text=/\d+ row\(s\)/", timeout=90_000)  # the result's caption
                        settled(page)
                    problems += [f"{name}, session {i}: {e}" for e in errors(page)]
                print(f"{name}: {time.time() - started:.1f} s, RSS {max(sampler.samples) / 2**20:.0f} MB", flush=True)
            browser.close()
    finally:
        sampler.stop.set()
        sampler.join()
    assert proc.poll() is None, "the server died"
    assert not problems, problems[:5]
    assert sampler.samples and max(sampler.samples) < RSS_LIMIT, f"peak RSS {max(sampler.samples) / 2**20:.0f} MB"
