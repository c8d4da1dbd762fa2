"""The SQL console's worker process: runs one visitor query at a time on a fresh connection.

Started by ``sqlconsole`` as ``python -m lstmvis_db.sqlworker``; reads jobs on stdin and writes
answers on stdout, each a frame: 8-byte big-endian header length, 8-byte payload length, the
JSON header, the payload (Arrow IPC streams).  Every job gets a new in-memory DuckDB that
attaches the project (and any extra databases) read-only, registers the visitor's tables,
then switches off file access and locks its configuration; the operating system caps the
process's address space at the job's memory limit (``RLIMIT_AS``), so whatever DuckDB or
Arrow allocate, the query fails instead of the server.  The parent kills the process at the
wall-time limit.

Imports duckdb, pyarrow and ``sqlguard``; no other part of the package.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import struct
import sys
import threading
from typing import BinaryIO

import duckdb
import pyarrow as pa

from lstmvis_db.errors import SqlRejected
from lstmvis_db.sqlguard import check_sql, first_line

_HEAD = struct.Struct(">QQ")


def write_frame(f: BinaryIO, header: dict, payload: bytes = b"") -> None:
    head = json.dumps(header).encode()
    f.write(_HEAD.pack(len(head), len(payload)) + head + payload)
    f.flush()


def read_frame(f: BinaryIO) -> tuple[dict, bytes] | None:
    raw = f.read(_HEAD.size)
    if len(raw) < _HEAD.size:
        return None
    nh, npay = _HEAD.unpack(raw)
    return json.loads(f.read(nh)), f.read(npay)


def to_ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue()


def from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def unique_names(names: list[str]) -> list[str]:
    """Column names made unique: a repeated ``range`` becomes ``range_1``, ``range_2``..."""
    seen = set(names)
    out: list[str] = []
    used: set[str] = set()
    for n in names:
        name, i = n, 0
        while name in used or (name != n and name in seen):
            i += 1
            name = f"{n}_{i}"
        used.add(name)
        out.append(name)
    return out


def _vm_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _identity(path: object) -> tuple:
    """The file as it is now: a project replaced on disk is another file."""
    try:
        st = os.stat(str(path))
    except OSError:
        return (path,)
    return (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _open(path: str) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB with the project attached read-only (nothing of the job yet).
    The worker opens the next one while it waits, so a query does not pay for it."""
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False, "threads": 1})
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("ATTACH ? AS project (READ_ONLY)", [path])
        con.execute("USE project")
    except duckdb.Error as e:
        con.close()
        raise SqlRejected(f"cannot open the project for SQL: {first_line(e)}") from None
    return con


def _prepare(con: duckdb.DuckDBPyConnection, job: dict, tables: dict[str, pa.Table]) -> None:
    """The job's own databases, tables and limits; then no file access and no more settings."""
    mb = int(job["memory_mb"])
    try:
        for alias, path in job.get("attach", {}).items():  # aliases checked by the parent
            con.execute(f'ATTACH ? AS "{alias}" (READ_ONLY)', [path])
        for name, table in tables.items():
            con.register(name, table)
        con.execute("SET temp_directory = ?", [job["temp_dir"]])
        con.execute("SET max_temp_directory_size = ?", [f"{int(job['temp_mb'])}MB"])
        con.execute("SET memory_limit = ?", [f"{max(16, mb // 2)}MB"])
        con.execute("SET threads = ?", [int(job["threads"])])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error as e:
        raise SqlRejected(f"cannot open the project for SQL: {first_line(e)}") from None


def _fetch(con: duckdb.DuckDBPyConnection, text: str, job: dict) -> tuple[pa.Table, bool]:
    max_rows, cap = int(job["max_rows"]), int(job["result_mb"]) * 2**20
    reader = con.sql(text).to_arrow_reader(min(max_rows + 1, 65536))
    batches, rows, size = [], 0, 0
    for b in reader:
        batches.append(b)
        rows += b.num_rows
        size += b.nbytes
        if size > cap:
            raise SqlRejected(f"the result is larger than {job['result_mb']} MB (result limit); "
                              "select fewer rows or columns")
        if rows > max_rows:
            break
    table = pa.Table.from_batches(batches, schema=reader.schema)
    truncated = table.num_rows > max_rows
    table = table.slice(0, max_rows)
    return table.rename_columns(unique_names(table.column_names)), truncated


def run_job(job: dict, payload: bytes, con: duckdb.DuckDBPyConnection) -> tuple[dict, bytes]:
    """One query on ``con`` (opened by ``_open`` for this project, used once); the answer
    header is {"ok": ...} or {"error": one line}."""
    tables, at = {}, 0
    for name, n in job.get("tables", []):
        tables[name] = from_ipc(payload[at:at + n])
        at += n
    _prepare(con, job, tables)
    text = check_sql(con, job["sql"])
    # the address space this process may use from here: what it holds now + the query's limit
    soft = _vm_bytes() + int(job["memory_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (soft, resource.RLIM_INFINITY))
    # a backstop should the parent be gone: it kills this process at the time limit itself
    backstop = threading.Timer(float(job.get("seconds", 60)) + 2.0, con.interrupt)
    backstop.start()
    try:
        table, truncated = _fetch(con, text, job)
        data = to_ipc(table)
    finally:
        backstop.cancel()
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    return {"ok": True, "truncated": truncated, "rss_mb": _rss_mb()}, data


def _answer(job: dict, payload: bytes, con: duckdb.DuckDBPyConnection) -> tuple[dict, bytes]:
    limit = f"query used more than {job.get('memory_mb')} MB (memory limit)"
    try:
        return run_job(job, payload, con)
    except SqlRejected as e:
        return {"error": str(e)}, b""
    except MemoryError:
        return {"error": limit}, b""
    except duckdb.Error as e:
        text = str(e)
        if "max_temp_directory_size" in text:
            return {"error": f"query used more than {job.get('temp_mb')} MB of temp space (temp limit)"}, b""
        if isinstance(e, duckdb.OutOfMemoryException) or "out of memory" in text.lower() or "bad alloc" in text.lower():
            return {"error": limit}, b""
        return {"error": f"query failed: {first_line(e)}"}, b""
    except pa.ArrowException as e:
        return {"error": f"query failed: {first_line(e)}"}, b""


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the answer stream
    write_frame(stdout, {"ready": True})
    ready: tuple[tuple, duckdb.DuckDBPyConnection] | None = None  # the next query's connection
    while True:
        frame = read_frame(stdin)
        if frame is None:
            return
        job, payload = frame
        # the prepared connection, unless the file was replaced on disk since it was opened
        con = ready[1] if ready is not None and ready[0] == _identity(job.get("path")) else None
        if ready is not None and con is None:
            ready[1].close()
        header: dict[str, object]
        try:
            con = con or _open(str(job.get("path")))
        except SqlRejected as e:
            header, data = {"error": str(e)}, b""
        else:
            header, data = _answer(job, payload, con)
        header.setdefault("rss_mb", _rss_mb())
        try:
            write_frame(stdout, header, data)
        except MemoryError:
            write_frame(stdout, {"error": f"query used more than {job.get('memory_mb')} MB (memory limit)"})
        del data
        if con is not None:
            con.close()
        ready = None
        with contextlib.suppress(SqlRejected):  # after the answer: the visitor does not wait for it
            ready = (_identity(job["path"]), _open(job["path"]))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
