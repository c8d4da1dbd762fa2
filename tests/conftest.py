from __future__ import annotations

import os

# in CI, a skip for a missing dependency fails (see the module)
from tests.support.ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401

os.environ.setdefault("HF_HUB_OFFLINE", "1")
