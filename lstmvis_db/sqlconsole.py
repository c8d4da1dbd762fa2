"""Read-only user SQL over a project file: each query in a worker process of its own limits.

``run`` (and ``SqlConsole.run``) checks the limits (``sqlguard.Limits``: positive, finite, at
most the operator's maxima), hands the query to an idle worker process (``sqlworker``) from a
small pool of pre-started ones, and waits at most the query's wall time; then the worker is
killed and replaced.  The worker parses the statement (``sqlguard.check_sql``: one SELECT or
EXPLAIN of one), runs it on a fresh in-memory DuckDB that attaches the project read-only with
its own memory limit, thread count and temp folder (created here, removed here afterwards),
under an OS cap of its address space, and sends back at most ``max_rows`` rows as Arrow.  So
no query shares a lock, a connection or a temp folder with another; one that runs long or
large fails alone, with one line.

Hooks for other features: ``tables`` registers visitor-owned data frames (read-only, for this
query only) and ``attach`` attaches further project files read-only under an alias.
"""

from __future__ import annotations

import atexit
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa

from lstmvis_db.errors import QueryError, SqlRejected
from lstmvis_db.sqlguard import Limits, check_alias, operator_max
from lstmvis_db.sqlworker import _HEAD, from_ipc, to_ipc

IDLE_WORKERS = 1  # started ahead of need, so a query does not wait for a worker's imports
RECYCLE_MB = 256  # a worker whose peak resident memory passed this is replaced, not reused
STARTUP_SECONDS = 60.0  # a worker's imports on a loaded machine
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


class _Stopped(Exception):
    """The worker gave no answer: killed at the time limit, or it died."""


class _Worker:
    def __init__(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lstmvis_db.sqlworker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, start_new_session=True, bufsize=0,
        )
        self.ready = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()

    def _read(self, n: int, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        chunks, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise _Stopped("time")
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                raise _Stopped("died")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _frame(self, deadline: float, cap: int) -> tuple[dict, bytes]:
        import json

        nh, npay = _HEAD.unpack(self._read(_HEAD.size, deadline))
        if nh > 1 << 20 or npay > cap:
            raise _Stopped("died")
        return json.loads(self._read(nh, deadline)), self._read(npay, deadline)

    def ask(self, job: dict, payload: bytes, seconds: float, cap: int) -> tuple[dict, bytes]:
        if not self.ready:  # the worker says so once its imports are done
            try:
                self._frame(time.monotonic() + STARTUP_SECONDS, 0)
            except _Stopped:
                raise SqlRejected("the SQL console could not start its worker process; try again") from None
            self.ready = True
        from lstmvis_db.sqlworker import write_frame

        deadline = time.monotonic() + seconds
        try:
            write_frame(self.proc.stdin, job, payload)  # type: ignore[arg-type]
        except (BrokenPipeError, OSError):
            raise _Stopped("died") from None
        return self._frame(deadline, cap)


class _Pool:
    """Worker processes: at most ``LSTMVIS_SQL_WORKERS`` queries at once, one idle one kept ready."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.idle: list[_Worker] = []
        self.busy = 0

    def _top_up(self, most: int) -> None:
        while len(self.idle) < IDLE_WORKERS and self.busy + len(self.idle) < most + IDLE_WORKERS:
            self.idle.append(_Worker())

    def acquire(self, wait: float) -> _Worker:
        most = int(operator_max("LSTMVIS_SQL_WORKERS"))
        deadline = time.monotonic() + wait
        w: _Worker | None
        with self.cond:
            while True:
                while self.idle:
                    w = self.idle.pop()  # the one used last: it is ready
                    if w.alive():
                        break
                    w.kill()
                else:
                    w = _Worker() if self.busy < most else None
                if w is not None:
                    self.busy += 1
                    self._top_up(most)
                    return w
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SqlRejected(f"the SQL console is busy ({most} queries running); try again in a moment")
                self.cond.wait(left)

    def release(self, w: _Worker, reuse: bool) -> None:
        with self.cond:
            self.busy -= 1
            if reuse and w.alive() and len(self.idle) <= IDLE_WORKERS:
                self.idle.append(w)
                w = None  # type: ignore[assignment]
            self.cond.notify()
        if w is not None:
            w.kill()

    def close(self) -> None:
        with self.cond:
            idle, self.idle = self.idle, []
        for w in idle:
            w.kill()


_pools: dict[int, _Pool] = {}  # per process id: a forked child starts its own workers
_pools_lock = threading.Lock()


def _pool() -> _Pool:
    with _pools_lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            pool = _pools[os.getpid()] = _Pool()
        return pool


def warm_up() -> None:
    """Start the idle worker now (the app calls this at start; a first query does otherwise)."""
    pool = _pool()
    with pool.cond:
        pool._top_up(int(operator_max("LSTMVIS_SQL_WORKERS")))


@atexit.register
def _shutdown() -> None:
    pool = _pools.get(os.getpid())
    if pool is not None:
        pool.close()


def _job_inputs(tables: Mapping[str, pd.DataFrame] | None,
                attach: Mapping[str, str | Path] | None) -> tuple[dict, list, bytes]:
    att = {}
    for alias, path in (attach or {}).items():
        p = Path(path).resolve()
        if not p.is_file():
            raise QueryError(f"cannot attach {check_alias(alias, 'attached database')!r}: not a project file")
        att[check_alias(alias, "attached database")] = str(p)
    parts, names = [], []
    for name, df in (tables or {}).items():
        if not isinstance(df, pd.DataFrame):
            raise QueryError(f"table {name!r} must be a pandas DataFrame, got {type(df).__name__}")
        try:
            data = to_ipc(pa.Table.from_pandas(df, preserve_index=False))
        except (pa.ArrowException, TypeError, ValueError) as e:
            raise QueryError(f"table {name!r} cannot be given to SQL: {e}") from None
        names.append([check_alias(name, "table"), len(data)])
        parts.append(data)
    if set(att) & {n for n, _ in names}:
        raise QueryError("a table and an attached database share a name")
    return att, names, b"".join(parts)


def run(path: str | Path, sql: str, max_rows: object = 10_000, timeout: object = 30.0, *,
        tables: Mapping[str, pd.DataFrame] | None = None, attach: Mapping[str, str | Path] | None = None,
        memory_mb: object = None, temp_mb: object = None, result_mb: object = None, threads: object = None,
        names: dict[str, str] | None = None) -> pd.DataFrame:
    """Run one read-only statement over the project at ``path``; at most ``max_rows`` rows (a
    longer result is cut and ``df.attrs['truncated']`` is set).  Any limit passed is checked
    (positive, finite, at most the operator's maximum); ``names`` renames arguments in messages.
    Raises SqlRejected (one line) for a refused statement, a failure or a limit reached."""
    lim = Limits.make(timeout, max_rows, memory_mb, temp_mb, result_mb, threads, names)
    if not isinstance(sql, str):
        raise SqlRejected(f"SQL must be text, got {type(sql).__name__}")
    att, table_names, payload = _job_inputs(tables, attach)
    pool = _pool()
    started = time.monotonic()
    worker = pool.acquire(lim.seconds)
    temp_dir = tempfile.mkdtemp(prefix="lstmvis-sql-")
    job = {"sql": sql, "path": str(Path(path).resolve()), "attach": att, "tables": table_names,
           "temp_dir": temp_dir, "seconds": lim.seconds, "max_rows": lim.max_rows, "memory_mb": lim.memory_mb,
           "temp_mb": lim.temp_mb, "result_mb": lim.result_mb, "threads": lim.threads}
    reuse = False
    try:
        header, data = worker.ask(job, payload, max(0.05, lim.seconds - (time.monotonic() - started)),
                                  lim.result_mb * 2**20 + (1 << 20))
        reuse = header.get("rss_mb", 0) < RECYCLE_MB
    except _Stopped as e:
        if str(e) == "time":
            raise SqlRejected(f"query stopped after {lim.seconds:g} s (time limit)") from None
        raise SqlRejected(f"query used more than {lim.memory_mb} MB (memory limit)") from None
    finally:
        pool.release(worker, reuse)
        shutil.rmtree(temp_dir, ignore_errors=True)
    if "error" in header:  # no absolute paths of the server in a visitor's message
        msg = str(header["error"]).replace(temp_dir, "<temp>")
        for full in sorted([job["path"], *att.values()], key=len, reverse=True):
            msg = msg.replace(full, Path(full).name)
        raise SqlRejected(msg)
    try:
        df = from_ipc(data).to_pandas()
    except (pa.ArrowException, TypeError, ValueError, MemoryError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SqlRejected(f"the result cannot be shown: {why}") from None
    df.attrs["truncated"] = bool(header.get("truncated"))
    return df


class SqlConsole:
    """The SQL console of one project file.  Holds no connection and no lock: every ``run`` is
    a query of its own (see ``run``), so any number of threads may share one console."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(Path(path).resolve())

    def close(self) -> None:
        """Nothing to release (kept so that callers can close what they opened)."""

    def run(self, sql: str, max_rows: object = 10_000, timeout: object = 10.0, **kw) -> pd.DataFrame:
        return run(self.path, sql, max_rows, timeout, **kw)
