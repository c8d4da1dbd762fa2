"""Crash hygiene of the atomic writes: temporary files, leftovers of dead writers, SIGTERM.

A write builds ``.<name>.duckdb.tmp-<pid>`` (and DuckDB's ``.wal`` beside it) next to the target
and renames it into place when complete.  A writer killed with SIGKILL leaves those behind; the
next write in the same folder removes them (:func:`remove_dead_temps`: only files of exactly
that pattern, only when the process that made them is gone).  SIGTERM during a write is turned
into ``SystemExit`` in the main thread (:func:`sigterm_exits`), so the writer's cleanup runs as
it does for Ctrl-C.

Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

TEMP_RE = re.compile(r"^\.(?P<target>.+\.duckdb)\.tmp-(?P<pid>[1-9]\d{0,9})(?P<wal>\.wal)?$")
SIGTERM_EXIT = 128 + signal.SIGTERM


def temp_path(path: Path) -> Path:
    """This process's temporary file for building ``path``."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def remove_db(path: Path) -> None:
    """Remove a DuckDB file and its WAL, if present."""
    for p in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def pid_alive(pid: int) -> bool:
    """True if a process ``pid`` exists (also when it belongs to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def remove_dead_temps(folder: Path) -> list[Path]:
    """Remove the temporary files of writers that died in ``folder``; returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = TEMP_RE.match(p.name)
        if m is None or not p.is_file() or p.is_symlink():
            continue
        pid = int(m["pid"])
        if pid == os.getpid() or pid_alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError, PermissionError):
            p.unlink()
            removed.append(p)
    return removed


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """While inside, SIGTERM raises ``SystemExit(143)`` in the main thread, so the writer's own
    cleanup runs as for Ctrl-C; whatever the exception is turned into on its way out (DuckDB
    reports an interrupted query as its own error), the block ends in ``SystemExit(143)``.  Other
    threads: no change (signals are only delivered to the main thread).  The previous handler is
    restored afterwards."""
    fired: list[int] = []

    def handler(signum: int, frame: object) -> None:
        fired.append(signum)
        raise SystemExit(SIGTERM_EXIT)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    except BaseException:
        if fired:
            raise SystemExit(SIGTERM_EXIT) from None
        raise
    else:
        if fired:  # raised inside and swallowed by a library: the write completed; still exit
            raise SystemExit(SIGTERM_EXIT)
    finally:
        signal.signal(signal.SIGTERM, old)
