"""No module of the package, the app glue, the pages or the scripts grows past 400 lines (the size
at which the project splits a module by concern; docs/architecture.md), and every page stays a
thin script."""

from __future__ import annotations

import pytest

from tests.support import ROOT

MAX_LINES = 400
MAX_PAGE_LINES = 80


def _modules() -> list:
    out = []
    for folder in ("lstmvis_db", "lstmvis_ui", "scripts"):
        out += sorted((ROOT / folder).rglob("*.py"))
    return out + [ROOT / "streamlit_app.py"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_at_most_400_lines(path) -> None:
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines: split it by concern"


@pytest.mark.parametrize("path", sorted((ROOT / "pages").glob("*.py")), ids=lambda p: p.name)
def test_page_is_a_thin_script(path) -> None:
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_PAGE_LINES, f"pages/{path.name} has {n} lines: move the work into lstmvis_ui"
