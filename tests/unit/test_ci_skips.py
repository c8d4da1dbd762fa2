"""The CI rule for skips (tests/support/ci_skips.py), run on a small suite in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.support import ROOT

SUITE = '''
import pytest

def test_missing_module():
    pytest.importorskip("no_such_module_for_ci_skips")

@pytest.mark.skipif(True, reason="needs Debian's Chromium: apt-get install -y chromium")
def test_browser():
    pass

def test_other_reason():
    pytest.skip("demo parens not registered")

def test_gpu():
    pytest.skip("needs a GPU (torch.cuda)")

@pytest.mark.xfail(reason="torch is flaky here")
def test_xfail():
    assert False

def test_passes():
    pass
'''

MODULE_SKIP = 'import pytest\npytest.importorskip("no_such_module_for_ci_skips")\n\ndef test_x():\n    pass\n'


def _run(tmp_path: Path, ci: str | None) -> dict[str, str]:
    (tmp_path / "test_suite.py").write_text(SUITE)
    (tmp_path / "test_module_skip.py").write_text(MODULE_SKIP)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    xml = tmp_path / "report.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.support.ci_skips", "-q", "-p", "no:cacheprovider",
                    "--rootdir", str(tmp_path), f"--junitxml={xml}", "--continue-on-collection-errors", str(tmp_path)],
                   cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    out: dict[str, str] = {}
    for case in ElementTree.parse(xml).iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        out[case.get("name", "").removesuffix(".py")] = kinds[0] if kinds else "passed"
    return out


@pytest.mark.parametrize("ci", [None, "false"])
def test_outside_ci_a_skip_is_a_skip(tmp_path: Path, ci: str | None) -> None:
    res = _run(tmp_path, ci)
    assert res["test_missing_module"] == res["test_browser"] == res["test_other_reason"] == "skipped"
    assert res["test_xfail"] == "skipped" and res["test_passes"] == "passed"  # junit writes xfail as skipped


def test_in_ci_a_dependency_skip_fails(tmp_path: Path) -> None:
    res = _run(tmp_path, "true")
    assert res["test_missing_module"] == "failure"
    assert res["test_browser"] == "error"  # a skipif mark is decided in setup: a setup failure
    assert res["test_other_reason"] == "skipped"  # not a dependency: stays a skip
    assert res["test_gpu"] == "skipped"  # in the allow-list
    assert res["test_xfail"] == "skipped" and res["test_passes"] == "passed"  # an xfail is not a skip
    assert res["test_module_skip"] == "error"  # a module-level importorskip: a collection error
