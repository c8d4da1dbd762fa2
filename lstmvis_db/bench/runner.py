"""Benchmark: our store against the original's matcher on the same synthetic states.

``python -m lstmvis_db.bench --size ptb`` (1,000,000 x 650, the PTB model's size),
``--size long`` (10,000,000 x 128) or ``--size xlong`` (30,000,000 x 128, stored as float16
unless ``--value-dtype float32``); ``--size tiny`` is the CI smoke size.  One run prints:
ingest time, file size against raw float32, peak memory, median selection and match latency
(complete mode, several hypotheses, with and without constraints), the baseline's precise and
fast match on the same data and the ratios, and one full numpy pass over the float32 states
as the machine's yardstick.  Above FULL_MAX_VALUES values the baseline, the cell statistics,
align and the in-memory pass are left out (each would take many minutes; the run says so).
Speed is always a ratio within the run, never an assertion.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from lstmvis_db.api import open as open_project
from lstmvis_db.bench import align_bench, baseline, sql_bench, synth
from lstmvis_db.bench.cli import SIZES
from lstmvis_db.errors import InputError, LstmvisError
from lstmvis_db.store import write_project
from lstmvis_db.types import Document, ProjectData, Source

FULL_MAX_VALUES = 2_000_000_000  # above this many values only ingest, size, selection and match run

def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def _one_pass(arr: np.ndarray, t: float) -> int:
    """One full pass over the float32 states (threshold and count), in cache-sized blocks."""
    buf = np.empty((65536, arr.shape[1]), dtype=bool)
    total = 0
    for a in range(0, len(arr), 65536):
        block = arr[a:a + 65536]
        np.greater_equal(block, np.float32(t), out=buf[:len(block)])
        total += int(np.count_nonzero(buf[:len(block)]))
    return total


def _hypotheses(patterns, n_cells: int, seed: int) -> list[dict]:
    """Match queries: planted sets with L, L+R, none; random cells (docs/performance.md §Synthetic states)."""
    by_size = {len(p.cells): p for p in patterns}
    rng = np.random.default_rng(seed)
    qs = []
    for size, t, cl, cr in ((5, 0.3, True, False), (12, 0.3, True, False), (8, 0.5, True, True),
                            (5, 0.3, False, False)):
        if size in by_size:
            name = f"planted {size}, t={t}, " + ("L+R" if cl and cr else "L" if cl else "no constraint")
            qs.append({"name": name, "cells": list(by_size[size].cells), "t": t, "cl": cl, "cr": cr})
    qs.append({"name": "random 10, t=0.3, L", "cells": sorted(rng.choice(n_cells, 10, replace=False).tolist()),
               "t": 0.3, "cl": True, "cr": False})
    return qs


def _selections(patterns, n: int, seed: int) -> list[tuple[int, int, float, int, int]]:
    rng = np.random.default_rng(seed + 1)
    out = []
    for p in patterns:
        s = int(p.starts[len(p.starts) // 2])
        out.append((s, s + p.length - 1, 0.3, 1, 0))
        out.append((s, s + p.length - 1, 0.5, 1, 1))
    for s in rng.integers(10, n - 10, 4):
        out.append((int(s), int(s) + 4, 0.3, 1, 0))
    return out


def _documents(n: int, count: int) -> list[Document] | None:
    """``count`` documents of (nearly) equal length over the ``n`` positions; None for one."""
    if not 1 <= count <= n // 10:
        raise InputError(f"--documents must be between 1 and {n // 10:,} for this size (got {count})")
    if count == 1:
        return None
    cuts = [n * i // count for i in range(count + 1)]
    return [Document(f"d{i}", cuts[i], cuts[i + 1] - 1) for i in range(count)]


_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KIB|MIB|GIB|TIB)$")


def run(size: str, workdir: Path, repeat: int = 5, seed: int = 0, log=print, spark: bool = False,
        value_dtype: str | None = None, documents: int = 1, sql_memory: str | None = None) -> dict:
    n, d = SIZES[size]
    docs = _documents(n, documents)
    if sql_memory is not None and not _MEMORY.match(sql_memory.strip().upper()):
        raise InputError(f"--sql-memory must be a size such as 4GB or 512MB (got {sql_memory!r})")
    value_dtype = value_dtype or ("float16" if size == "xlong" else "float32")
    full = n * d <= FULL_MAX_VALUES
    raw_mb = n * d * 4 / 1e6
    h5 = workdir / "states.h5"
    db = workdir / "bench.duckdb"
    log(f"generating {n:,} x {d} synthetic states ...")
    patterns = synth.write_hdf5_streaming(h5, n, d, seed=seed, dataset="states1")
    res: dict = {"size": size, "positions": n, "cells": d, "raw_float32_mb": raw_mb, "value_dtype": value_dtype,
                 "documents": documents, "sql_memory": sql_memory}

    log("ingest ...")
    t0 = time.perf_counter()
    with h5py.File(h5, "r") as f:
        data = ProjectData(name=f"bench {size}", tokens=np.char.mod("w%d", np.arange(n) % 10000).tolist(),
                           sources=[Source("states::states1", f["states1"], transform="none")], documents=docs,
                           tracks=align_bench.tracks(n, seed) if full else ())  # align: four categorical tracks
        write_project(db, data, progress=sys.stderr.isatty(), value_dtype=value_dtype)
    res["ingest_s"] = time.perf_counter() - t0
    res["file_mb"] = db.stat().st_size / 1e6
    res["file_ratio"] = res["file_mb"] / raw_mb

    with open_project(db) as p:
        sels = _selections(patterns, n, seed)
        src = "states::states1"
        res["select_ms"] = statistics.median(
            _median_ms(lambda s=s: p.select(src, s[0], s[1], s[2], s[3], s[4]), repeat) for s in sels)
        res["matches"] = []
        for q in _hypotheses(patterns, d, seed):
            log(f"match: {q['name']} ...")
            row = {"name": q["name"], "cells": len(q["cells"])}
            out = p.match(src, q["cells"], q["t"], q["cl"], q["cr"])
            row["candidates"] = out["candidates"]
            row["ours_ms"] = _median_ms(lambda q=q: p.match(src, q["cells"], q["t"], q["cl"], q["cr"]), repeat)
            for mode in ("precise", "fast") if full else ():
                try:
                    row[f"{mode}_ms"] = _median_ms(lambda q=q, mode=mode: baseline.original_match(
                        h5, "states1", q["cells"], q["t"], mode, q["cl"], q["cr"], transform="none"),
                        max(1, repeat // 2))
                except LstmvisError as e:
                    row[f"{mode}_ms"] = None
                    row[f"{mode}_error"] = str(e)
            res["matches"].append(row)
        res.update(sql_bench.run(p, db, workdir, _hypotheses(patterns, d, seed)[0], repeat, spark, log, sql_memory))
    from lstmvis_db.bench import cells_bench  # cell statistics (docs/analysis.md)

    if full:
        res["cell_stats"] = cells_bench.run(db, patterns, n, repeat, log)
    res["peak_rss_mb"] = _peak_mb()
    log("numpy yardstick ...")
    with h5py.File(h5, "r") as f:
        t0 = time.perf_counter()
        for a in range(0, n, 1_000_000):
            np.count_nonzero(f["states1"][a:a + 1_000_000] >= np.float32(0.3))
        res["numpy_read_and_pass_ms"] = 1000 * (time.perf_counter() - t0)
        if n * d * 4 <= 4e9:  # the in-memory pass only where the matrix fits comfortably
            arr = f["states1"][:]
            res["numpy_pass_ms"] = _median_ms(lambda: _one_pass(arr, 0.3), 3)
            del arr
    if full:
        res["align"] = align_bench.run(db, _hypotheses(patterns, d, seed)[0], res, repeat, seed, log)  # align
    return res


def markdown(res: dict) -> str:
    """The README table of one run."""
    def ms(x):
        return "fails" if x is None else f"{x:,.0f} ms" if x >= 10 else f"{x:.1f} ms"

    lines = [
        (f"**{res['positions']:,} positions x {res['cells']} cells** "
         f"(raw float32 {res['raw_float32_mb']:,.0f} MB"
         + (f"; {res['documents']:,} documents" if res.get("documents", 1) > 1 else "") + ")"),
        "",
        "| measure | value |",
        "|---|---|",
        f"| ingest | {res['ingest_s']:.1f} s |",
        f"| file size, values stored as {res.get('value_dtype', 'float32')} | {res['file_mb']:,.0f} MB "
        f"({res['file_ratio']:.2f}x raw float32) |",
        f"| peak memory of the process (ingest + queries) | {res['peak_rss_mb']:,.0f} MB |",
        f"| selection, median of {len(res.get('matches', []))}+ queries | {ms(res['select_ms'])} |",
    ]
    if "numpy_pass_ms" in res:
        lines.append(f"| one numpy pass over the float32 states in memory (yardstick) | {ms(res['numpy_pass_ms'])} |")
    lines.append(f"| reading the states from HDF5 and one pass (yardstick) | {ms(res['numpy_read_and_pass_ms'])} |")
    lines += _sql_lines(res, ms)
    lines += ["", "| hypothesis | candidates | ours (complete) | original precise | original fast | precise / ours |",
              "|---|---|---|---|---|---|"]
    for m in res["matches"]:
        ratio = f"{m['precise_ms'] / m['ours_ms']:.1f}x" if m.get("precise_ms") else "-"
        lines.append(f"| {m['name']} | {m['candidates']:,} | {ms(m['ours_ms'])} | {ms(m.get('precise_ms'))} | "
                     f"{ms(m.get('fast_ms'))} | {ratio} |")
    errors: dict[tuple[str, str], str] = {}
    for m in res["matches"]:
        for mode in ("precise", "fast"):
            if m.get(f"{mode}_error"):
                errors.setdefault((mode, m[f"{mode}_error"]), m["name"])
    for (mode, err), name in errors.items():
        lines.append(f"\nOriginal {mode} mode ('fails' above; first on '{name}'): {err}")
    if res["positions"] * res["cells"] > FULL_MAX_VALUES:
        lines.append(f"\nAbove {FULL_MAX_VALUES:,} values the original's matcher, the cell statistics, align and the "
                     "in-memory numpy pass are left out ('fails' above means not run).")
    lines += align_bench.markdown(res)  # align
    from lstmvis_db.bench import cells_bench

    return "\n".join(lines) + cells_bench.markdown(res)


def _sql_lines(res: dict, ms) -> list[str]:
    first = res["matches"][0]["ours_ms"] if res.get("matches") else None
    out = []
    if res.get("sql_match_ms") is not None:
        ratio = f" ({res['sql_match_ms'] / first:,.0f}x the compiled match)" if first else ""
        limit = f", DuckDB memory_limit {res['sql_memory']}" if res.get("sql_memory") else ""
        out.append(f"| plain-SQL match (`match --sql`, {res['sql_query']}{limit}) | {ms(res['sql_match_ms'])}{ratio} |")
    if res.get("sql_match_inside_ms") is not None:
        out.append(f"| plain-SQL match, same cells at t = {res['sql_inside_t']:.6g} (inside a 14-bit bucket: its "
                   f"values are looked up in the rows) | {ms(res['sql_match_inside_ms'])} |")
    if "export_s" in res:
        out.append(f"| export to Parquet | {res['export_s']:.1f} s |")
        out.append(f"| DuckDB engine over the Parquet dataset | {ms(res['parquet_duckdb_match_ms'])} |")
        for cores in (1, 2):
            key = f"spark_{cores}_match_ms"
            out.append(f"| Spark engine, local[{cores}] | {ms(res[key])} "
                       f"({res[key] / res['parquet_duckdb_match_ms']:.1f}x the DuckDB engine) |")
    return out


def command(args: argparse.Namespace) -> None:
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        res = run(args.size, workdir, args.repeat, log=lambda s: print(s, file=sys.stderr), spark=args.spark,
                  value_dtype=args.value_dtype, documents=args.documents, sql_memory=args.sql_memory)
    else:
        with tempfile.TemporaryDirectory(prefix="lstmvis-bench-") as tmp:
            res = run(args.size, Path(tmp), args.repeat, log=lambda s: print(s, file=sys.stderr), spark=args.spark,
                      value_dtype=args.value_dtype, documents=args.documents, sql_memory=args.sql_memory)
    if args.json:
        print(json.dumps(res))
    else:
        print(markdown(res))
