from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# in CI, a skip for a missing dependency fails (see the module)
from tests.support.ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``built_demo(name)``: the path of demo ``name`` built whole at its default size, once per
    test session (several test files read the same demo; none may write to it)."""
    from lstmvis_db.demos import registry

    out = tmp_path_factory.mktemp("built_demos")
    paths: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in paths:
            paths[name] = registry.build_demo(name, out)
        return paths[name]

    return get
