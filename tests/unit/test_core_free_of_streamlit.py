"""The core package never imports Streamlit (docs/architecture.md §Import rules): checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT

SCRIPT = """
import importlib, pkgutil, sys
import lstmvis_db
failed = []
for m in pkgutil.walk_packages(lstmvis_db.__path__, "lstmvis_db."):
    if m.name.rsplit(".", 1)[-1] == "__main__":
        continue
    try:
        importlib.import_module(m.name)
    except ModuleNotFoundError as e:  # an optional dependency (torch, ...) is not installed
        if e.name and e.name.split(".")[0] == "streamlit":
            raise
        failed.append(m.name)
print(sorted(k for k in sys.modules if k == "streamlit" or k.startswith("streamlit.")))
print(len([k for k in sys.modules if k.startswith("lstmvis_db")]))
"""


def test_core_and_every_submodule_are_streamlit_free() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120).stdout.splitlines()
    assert out[0] == "[]", f"streamlit imported by the core: {out[0]}"
    assert int(out[1]) >= 5  # views, charts and the rest were really imported
