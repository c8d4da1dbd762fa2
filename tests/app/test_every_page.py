"""Smoke: every page of the app (found by glob, so a new page is covered the day it is added)
runs on a tiny project without an exception or an error message, and shows something."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.support import ROOT
from tests.support.app_fixtures import build_app_project

PAGES = ["streamlit_app.py", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return build_app_project(tmp_path_factory.mktemp("pages")).parent


def test_glob_finds_the_pages() -> None:
    assert len(PAGES) >= 5 and all((ROOT / p).is_file() for p in PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_on_a_tiny_project(page: str, data_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(data_dir))
    monkeypatch.delenv("LSTMVIS_DB", raising=False)
    at = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    shown = [*at.title, *at.header, *at.subheader, *at.markdown, *at.metric, *at.button]
    assert shown, f"{page} rendered nothing"
