"""Fixtures of the security tests (SQL console, bad input, the SQL page): the tiny app project,
open through the API, and the environment that points the app at it.  Import the ones a test
module uses into it (pytest then finds them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import lstmvis_db
from tests.support.app_fixtures import build_app_project


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory) -> Path:
    return build_app_project(tmp_path_factory.mktemp("security"))


@pytest.fixture(scope="module")
def tiny_api(tiny_project) -> Iterator[lstmvis_db.Project]:
    with lstmvis_db.open(tiny_project) as p:
        yield p


@pytest.fixture
def app_on_tiny(tiny_project, monkeypatch) -> Path:
    """The app's data folder is the tiny project's; no LSTMVIS_DB."""
    monkeypatch.setenv("LSTMVIS_DATA_DIR", str(tiny_project.parent))
    monkeypatch.delenv("LSTMVIS_DB", raising=False)
    return tiny_project
