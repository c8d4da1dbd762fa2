"""In CI (``CI=true``), a skip for a missing dependency is a failure: CI installs torch,
transformers, Playwright and Chromium, so such a skip would hide a broken install or a test that
no longer runs.  Skips for other reasons stay skips; ``ALLOWED`` lists dependency skips that are
legitimate even in CI.  ``tests/conftest.py`` installs these hooks; a pytest run can also load
this module as a plugin (``-p tests.support.ci_skips``).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Generator

import pytest

# What a dependency skip looks like: pytest.importorskip's message, or a reason naming a tool.
DEPENDENCY = re.compile(r"could not import|\b(torch|transformers|tokenizers|chromium|playwright|extras?)\b",
                        re.IGNORECASE)
# (node id pattern, reason substring) of dependency skips that are fine in CI, with why.
ALLOWED: tuple[tuple[str, str], ...] = (
    ("*", "needs a GPU"),  # CI machines are CPU-only; GPU-only checks run by hand
)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _hides_a_regression(report: pytest.CollectReport | pytest.TestReport) -> bool:
    if not (in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return False
    reason = _reason(report)
    if not DEPENDENCY.search(reason):
        return False
    return not any(fnmatch.fnmatch(report.nodeid, pat) and text in reason for pat, text in ALLOWED)


def _fail(report: pytest.CollectReport | pytest.TestReport) -> None:
    report.longrepr = f"CI=true: this skip would hide a regression ({_reason(report)}); install the dependency " \
                      "or add the skip to ALLOWED in tests/support/ci_skips.py with the reason"
    report.outcome = "failed"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                                           pytest.TestReport]:
    report = yield
    if _hides_a_regression(report):
        _fail(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, pytest.CollectReport,
                                                                          pytest.CollectReport]:
    report = yield
    if _hides_a_regression(report):
        _fail(report)
    return report
