"""The app's background warm-up loads the statistics' compiled loops (analysis/warmup.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT

PROBE = r"""
import json, tempfile, pathlib
from numba.core.registry import CPUDispatcher
from lstmvis_db.analysis import _cell_kernels, _kernels, warmup
def loaded():  # _plan, _plan_in, _filled and _from_hist: only called from compiled code
    return {n: len(getattr(m, n).signatures) for m in (_cell_kernels, _kernels) for n in dir(m)
            if isinstance(getattr(m, n), CPUDispatcher) and n not in ("_plan", "_plan_in", "_filled", "_from_hist")}
before = loaded()
warmup.warm_up()
left = [str(p) for p in pathlib.Path(tempfile.gettempdir()).glob("lstmvis-warm-up-*")]
print(json.dumps({"before": before, "after": loaded(), "left": left}))
"""


def test_warm_up_loads_every_statistics_kernel_and_leaves_nothing_behind(tmp_path) -> None:
    env = {"PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    assert not any(got["before"].values())  # a fresh process has loaded none of them
    assert got["after"] and all(got["after"].values()), got["after"]
    assert got["left"] == []


def test_the_apps_warm_up_thread_runs_the_statistics_warm_up(monkeypatch) -> None:
    from lstmvis_db.analysis import warmup
    from lstmvis_db.matching import kernels
    from lstmvis_ui import resources

    called = []
    monkeypatch.setattr(kernels, "warm_up", lambda: called.append("match"))
    monkeypatch.setattr(warmup, "warm_up", lambda: called.append("statistics"))
    resources._warm_up_kernels()
    assert called == ["match", "statistics"]
