"""Crash hygiene of writes and handles: SIGKILL/SIGTERM at several moments of a write leave the
old file byte for byte, SIGTERM cleans up at once, the next write removes dead writers' leftovers
(only its own kind of file, only when their process is gone), a file replaced on disk gets a new
app handle while the old one keeps working."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db import hygiene, store
from lstmvis_db.types import ProjectData, Source, Track
from tests.support import ROOT
from tests.support.app_fixtures import build_app_project

CHILD = r"""
import sys, time
import numpy as np
import lstmvis_db
from lstmvis_db.types import ProjectData, Source
target, at = sys.argv[1], float(sys.argv[2])
vals = np.random.default_rng(0).standard_normal((150_000, 48), dtype=np.float32)
data = ProjectData(name="new", tokens=[f"t{i % 97}" for i in range(len(vals))],
                   sources=[Source(source="s", values=vals, transform="tanh")])
said = []
def progress(label, fraction):
    if fraction >= at and not said:
        said.append(1)
        print("at", fraction, flush=True)  # the parent kills now; stay inside the write a moment
        time.sleep(0.3)
lstmvis_db.write_project(target, data, progress=progress)
print("done", flush=True)
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def small(name: str = "small") -> ProjectData:
    vals = np.random.default_rng(1).standard_normal((20, 3)).astype(np.float32)
    return ProjectData(name=name, tokens=[f"w{i}" for i in range(20)], sources=[Source(source="s", values=vals)])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if hygiene.TEMP_RE.match(p.name))


def kill_during_write(target: Path, at: float, sig: signal.Signals) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target), str(at)], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.startswith("at "), (line, child.stderr.read() if child.stderr else "")
    child.send_signal(sig)
    out, err = child.communicate(timeout=60)
    assert "done" not in out
    if sig == signal.SIGTERM:
        assert "Traceback" not in err, err
    return child.returncode


@pytest.mark.parametrize("at", [0.0, 0.3, 0.7], ids=["rows-start", "rows-middle", "quantized"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_write_keeps_the_old_file(sig, at, tmp_path) -> None:
    target = tmp_path / "p.duckdb"
    lstmvis_db.write_project(target, small("old"))
    before = sha(target)
    code = kill_during_write(target, at, sig)
    assert sha(target) == before
    if sig == signal.SIGTERM:
        assert code == hygiene.SIGTERM_EXIT
        assert leftovers(tmp_path) == []  # cleaned up like Ctrl-C
    else:
        assert code == -signal.SIGKILL
        assert leftovers(tmp_path)  # the dead writer's temp file (and WAL)
        lstmvis_db.write_project(tmp_path / "other.duckdb", small())  # the next write in the folder
        assert leftovers(tmp_path) == []
    with lstmvis_db.open(target) as p:
        assert p.info()["name"] == "old"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_dead_writers_files_are_removed(tmp_path) -> None:
    dead, alive = _dead_pid(), os.getppid()
    names = {
        f".a.duckdb.tmp-{dead}": False, f".a.duckdb.tmp-{dead}.wal": False,  # removed
        f".a.duckdb.tmp-{alive}": True, f".a.duckdb.tmp-{alive}.wal": True,  # a live writer: kept
        f".a.duckdb.tmp-{os.getpid()}x": True, ".a.duckdb.tmp-abc": True,  # not our pattern
        f"a.duckdb.tmp-{dead}": True, f".a.parquet.tmp-{dead}": True, f"notes-{dead}.txt": True,
    }
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    (tmp_path / f".b.duckdb.tmp-{dead}").mkdir()  # a folder of that name is not ours either
    removed = hygiene.remove_dead_temps(tmp_path)
    assert sorted(p.name for p in removed) == sorted(n for n, keep in names.items() if not keep)
    for n, keep in names.items():
        assert (tmp_path / n).exists() == keep, n
    assert (tmp_path / f".b.duckdb.tmp-{dead}").is_dir()


def test_sigterm_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with hygiene.sigterm_exits():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_inside_the_block_exits_143() -> None:
    with pytest.raises(SystemExit) as e, hygiene.sigterm_exits():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10_000_000):  # the handler runs at the next bytecode
                pass
        except SystemExit as inner:  # a library that turns it into its own error
            raise RuntimeError("Query interrupted") from inner
    assert e.value.code == hygiene.SIGTERM_EXIT


def test_replaced_file_gets_a_new_app_handle_and_the_old_one_still_works(tmp_path) -> None:
    from lstmvis_ui import resources

    path = str(build_app_project(tmp_path))
    first = resources.open_project(path)
    assert resources.open_project(path) is first  # shared while the file is unchanged
    store.write_track(path, Track(track="extra", kind="scalar", values=np.arange(first.n_positions, dtype=float)))
    second = resources.open_project(path)
    assert second is not first
    assert "extra" in set(second.tracks()["track"])
    assert "extra" not in set(first.tracks()["track"])  # not closed under its users: still the old file
