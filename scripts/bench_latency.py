"""Latency as the user feels it: ``streamlit run`` on the default demo, Chromium driven by Playwright,
and for each action the time from the action in the browser to the last WebSocket message of the
rerun it caused (what the user waits for).  Prints a markdown table of medians.

    PYTHONPATH=$PWD python scripts/bench_latency.py [--data FOLDER] [--repeats 9] [--port 8526]

``--data`` is a folder holding the demos (``python -m lstmvis_db demo --out FOLDER`` builds them;
``--project`` picks one, default ``phrases``); without it the app's own data folder is used (the
demos are built on first start).
Every page's WebSocket is hooked by an init script that stamps each received message with
``performance.now()``; an action's time is (last message stamp - stamp of the action), the rerun
counted as over once the server's status message says the script is no longer running, the
status widget is gone and no message came for ``--quiet`` ms.  The action
is the user's last input event, stamped by a capture-phase listener on ``window`` before any of the
page's own handlers see it: the Enter that commits a typed value, the press on a list's option or
on a tag's remove button, the press on Run match.  What comes before it (typing the value, opening
a select list, scrolling the sidebar to it) is preparation with its own immediate feedback and is
not timed; everything after it, the browser's handling of the event included, is.
Each repeat uses new inputs (another threshold, range, padding or result count), so a cache only
helps where a user would be helped too (a track or source shown before).  Needs /usr/bin/chromium
and playwright (requirements-dev.txt); not part of the package.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
HOOK = """
(() => {
  window.__ws = [];
  window.__act = null;  // stamp of the first pointerdown / keydown after arm()
  window.__armed = false;
  const stamp = () => { if (window.__armed) { window.__act = performance.now(); window.__armed = false; } };
  window.addEventListener('pointerdown', stamp, true);
  window.addEventListener('keydown', stamp, true);
  const Native = window.WebSocket;
  window.WebSocket = function (...a) {
    const ws = new Native(...a);
    ws.addEventListener('message', (e) => {
      window.__ws.push(performance.now());
      // a bare session-status message (ForwardMsg field 9): [0x4a, 0] says the script is not running
      const d = e.data;
      if (d instanceof ArrayBuffer && d.byteLength <= 4) {
        const b = new Uint8Array(d);
        if (b[0] === 0x4a) window.__running = !(b.byteLength === 2 && b[1] === 0);
      }
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""
TARGETS = {"run match": 500}


def start_server(data: Path | None, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if data is not None:
        env["LSTMVIS_DATA_DIR"] = str(data)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.runOnSave",
                             "false", "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.time() + 300  # a first start may build the demos
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("streamlit did not start")


def settle(page, quiet_ms: int) -> None:
    """Until the script run is over (the server said so: a status message with the script not
    running) and no message arrived for ``quiet_ms``.  Quiet alone is not enough under load: a
    computation that sends nothing for ``quiet_ms`` (align, on Match) ended the clock mid-run."""
    page.wait_for_timeout(100)
    page.wait_for_function("() => window.__running === false", timeout=120_000)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
    while True:
        idle = page.evaluate("() => performance.now() - (window.__ws.length ? window.__ws.at(-1) : 0)")
        if idle >= quiet_ms:
            return
        page.wait_for_timeout(max(int(quiet_ms - idle), 20))


#: an action in two steps: the preparation (not timed) and the act, whose first input event starts the clock
Action = tuple[Callable[[], None], Callable[[], None]]


def timed(page, action: Action, quiet_ms: int) -> float:
    """Milliseconds from the act's first input event (stamped in the page) to the last message of the
    rerun it causes; the preparation runs first, untimed."""
    prepare, act = action
    settle(page, quiet_ms)
    prepare()
    t_call = page.evaluate("() => { window.__act = null; window.__armed = true; return performance.now(); }")
    act()
    page.wait_for_function("t => window.__ws.length && window.__ws.at(-1) > t", arg=t_call, timeout=30_000)
    settle(page, quiet_ms)
    t0 = page.evaluate("() => window.__act")
    if t0 is None:  # (the act made no input event of its own: from the call, which is earlier, so longer)
        t0 = t_call
    return float(page.evaluate("t => window.__ws.at(-1) - t", t0))


def type_into(page, key: str, value: object) -> Action:
    """Type ``value`` into a number input (not timed), then press Enter (timed)."""
    box = page.locator(f".st-key-{key} input").first
    return (lambda: box.fill(str(value))), (lambda: box.press("Enter"))


def set_value(page, key: str, value: object) -> None:
    """Type ``value`` into a number input and commit it, untimed."""
    for step in type_into(page, key, value):
        step()


def pick(page, key: str, option: str) -> Action:
    """Open a select box's or multiselect's list (not timed), then click ``option`` (the start of its
    label; timed).  The list of a multiselect stays open after a click and is closed after it."""
    def open_list() -> None:
        page.locator(f".st-key-{key} [role=combobox]").first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)  # (the sidebar scrolls smoothly; a click during it misses the button)
        page.locator(f".st-key-{key} button[aria-label=Open]").first.click()
        page.locator("[role=option]").first.wait_for(state="visible")

    def click() -> None:
        page.locator("[role=option]").filter(has_text=re.compile("^" + re.escape(option))).first.click()
        page.keyboard.press("Escape")  # (after the click: its keydown is not the stamped event)

    return open_list, click


def toggle(page, key: str, option: str) -> Action:
    """Show or hide ``option`` in a multiselect: the press on its tag's remove button when it is shown."""
    remove = page.locator(f".st-key-{key} button[aria-label='Remove {option}']")
    if not remove.count():
        return pick(page, key, option)
    return (lambda: remove.first.scroll_into_view_if_needed()), (lambda: remove.first.click(force=True))


def select_actions(page, base: str, n: int, quiet: int, project: str, track: str) -> dict[str, list[float]]:
    """Threshold, range (brush), padding, track toggle and source switch on Select."""
    page.goto(f"{base}/Select?project={project}&source=layer1_h")
    settle(page, quiet)
    a = int(page.locator(".st-key-w_range_a input").first.input_value())
    out: dict[str, list[float]] = {k: [] for k in ("threshold change", "brush", "padding", "track toggle",
                                                   "source switch")}
    for i in range(n):
        level = 0.30 + 0.01 * (i + 1)
        out["threshold change"].append(timed(page, type_into(page, "w_threshold_raw", level), quiet))
    set_value(page, "w_threshold_raw", 0.3)
    for i in range(n):
        out["brush"].append(timed(page, type_into(page, "w_range_b", a + 1 + i % 6), quiet))
    for i in range(n):
        out["padding"].append(timed(page, type_into(page, "w_pad_left", (i + 2) % 6), quiet))
    set_value(page, "w_pad_left", 1)
    for _ in range(n):
        settle(page, quiet)  # (the tag to remove is looked up now: after the last rerun)
        out["track toggle"].append(timed(page, toggle(page, "w_tracks", track), quiet))
    for i in range(n):
        src = "layer2_h" if i % 2 == 0 else "layer1_h"
        out["source switch"].append(timed(page, pick(page, "w_source", src), quiet))
    return out


def match_runs(browser, base: str, n: int, quiet: int, project: str) -> list[float]:
    """Run match on a query the app has not matched before: a fresh session each time (Streamlit
    keeps a reloaded tab's session), the suggested range, another result count each time."""
    times = []
    for i in range(n):
        ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
        page = ctx.new_page()
        page.add_init_script(HOOK)
        page.goto(f"{base}/Match?project={project}&limit={40 + i}")
        settle(page, quiet)
        run = page.get_by_role("button", name="Run match")
        times.append(timed(page, (run.scroll_into_view_if_needed, run.click), quiet))
        ctx.close()
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, help="folder with the demo projects (default: the app's data folder)")
    ap.add_argument("--project", default="phrases", help="the project (default: phrases, the default demo)")
    ap.add_argument("--track", default="pos", help="the track toggled under the words (default: pos)")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--port", type=int, default=8526)
    ap.add_argument("--quiet", type=int, default=400, help="ms without a message that ends a rerun")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    proc = start_server(args.data, args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.add_init_script(HOOK)
            page.goto(f"{base}/Match?project={args.project}")  # warm-up: caches, kernels, first draw
            settle(page, args.quiet)
            results = select_actions(page, base, args.repeats, args.quiet, args.project, args.track)
            results["run match"] = match_runs(browser, base, args.repeats, args.quiet, args.project)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    print(f"| action ({args.repeats} repeats) | median ms | min ms | max ms | target ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, ts in results.items():
        target = TARGETS.get(name, 300)
        print(f"| {name} | {statistics.median(ts):.0f} | {min(ts):.0f} | {max(ts):.0f} | {target} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
