"""The align part of the benchmark (the align targets): four categorical tracks of 10-40 labels
on the synthetic project, then align over the top 50 of the first hypothesis (after its match),
over all its candidates (the median of the calls after the first, which is reported on its
own), and the cell-set null with K = 99, as ms and as ratios to the match
time and to one numpy pass over the states."""

from __future__ import annotations

import statistics
import time

import numpy as np

from lstmvis_db.api import open as open_project
from lstmvis_db.types import Track

LABELS = (10, 20, 30, 40)
NULL_K = 99


def tracks(n: int, seed: int = 0) -> list[Track]:
    """Tracks ``cat10`` .. ``cat40``: runs of mean length 5 with a random label, 15% unlabelled."""
    rng = np.random.default_rng(seed + 12)
    out = []
    for k in LABELS:
        names = np.array([f"L{j}" for j in range(k)] + [None], dtype=object)
        runs = rng.geometric(0.2, size=n // 4 + 16)
        lab = rng.integers(0, k, size=len(runs))
        lab[rng.random(len(runs)) < 0.15] = k
        per_pos = np.repeat(lab, runs)[:n]
        out.append(Track(f"cat{k}", "categorical", f"synthetic, {k} labels", labels=names[per_pos].tolist(),
                         categories=[str(x) for x in names[:-1]]))
    return out


def _ms(fn, repeat: int) -> float:
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def run(db, query: dict, res: dict, repeat: int = 5, seed: int = 0, log=print) -> dict:
    """Time align for ``query`` (a hypothesis of the runner) on the project ``db``."""
    from lstmvis_db import queries

    src = "states::states1"
    names = [f"cat{k}" for k in LABELS]
    cells, t, cl, cr = query["cells"], query["t"], query["cl"], query["cr"]
    out: dict = {"hypothesis": query["name"], "tracks": len(names), "labels": list(LABELS)}
    with open_project(db) as p:
        log("align: loading tracks ...")
        t0 = time.perf_counter()
        top = p.match(src, cells, t, cl, cr)["matches"]
        first = p.align(spans=([m["start"] for m in top], [m["length"] for m in top]), tracks=names)
        out["first_call_ms"] = 1000 * (time.perf_counter() - t0)
        out["tests"] = len(first["tests"])
        spans_top = ([m["start"] for m in top], [m["length"] for m in top])
        out["top_spans"] = len(top)
        out["top_ms"] = _ms(lambda: p.align(spans=spans_top, tracks=names), repeat)
        log("align: all candidates ...")
        t0 = time.perf_counter()
        cand = queries.match_candidates(p.catalog, src, cells, t, cl, cr)
        out["candidates_ms"] = 1000 * (time.perf_counter() - t0)
        out["all_spans"] = len(cand.start)
        # its first call loads what the top 50 did not need (in a fresh environment, numba compiles
        # those kernels): reported on its own, and the median is of the calls after it
        out["all_first_ms"] = _ms(lambda: p.align(spans=(cand.start, cand.length), tracks=names), 1)
        out["all_ms"] = _ms(lambda: p.align(spans=(cand.start, cand.length), tracks=names), max(1, repeat // 2))
        log(f"align: cell-set null, K = {NULL_K} ...")
        t0 = time.perf_counter()
        null = p.align(src, cells, t, cl, cr, tracks=names, null_cells=NULL_K, seed=seed)["cell_null"]
        out["null_ms"] = 1000 * (time.perf_counter() - t0)
        out["null_estimated_s"] = null["estimated_seconds"]
        out["null_prepare_ms"] = 1000 * null["prepare_seconds"]  # every cell's bits, read once
        out["null_sets_ms"] = 1000 * null["seconds"]  # the K random sets
    match_ms = res["matches"][0]["ours_ms"] if res.get("matches") else None
    yard = res.get("numpy_pass_ms") or res.get("numpy_read_and_pass_ms")
    for key in ("top_ms", "all_ms", "null_ms", "null_prepare_ms", "null_sets_ms"):
        out[key.replace("_ms", "_x_match")] = out[key] / match_ms if match_ms else None
        out[key.replace("_ms", "_x_numpy")] = out[key] / yard if yard else None
    return out


def markdown(res: dict) -> list[str]:
    a = res.get("align")
    if not a:
        return []

    def row(label: str, key: str) -> str:
        xm, xn = a[f"{key}_x_match"], a[f"{key}_x_numpy"]
        return (f"| {label} | {a[f'{key}_ms']:,.1f} ms | {'-' if xm is None else f'{xm:.2f}x'} | "
                f"{'-' if xn is None else f'{xn:.3f}x'} |")

    head = (f"align ({a['hypothesis']}; {a['tracks']} categorical tracks of {', '.join(map(str, a['labels']))} "
            f"labels, {a['tests']} tests):")
    return ["", head, "",
            "| align | time | / match | / numpy pass |", "|---|---|---|---|",
            row(f"top {a['top_spans']} (after the match)", "top"),
            row(f"all {a['all_spans']:,} candidates (after scoring them, {a['candidates_ms']:,.0f} ms; "
                f"its first call {a.get('all_first_ms', float('nan')):,.0f} ms)", "all"),
            row(f"cell-set null, K = {NULL_K}, in all (the K sets estimated at {a['null_estimated_s']:.1f} s)",
                "null"),
            *([row("... of it reading every cell's bits once", "null_prepare"),
               row(f"... of it matching and aligning the {NULL_K} random sets", "null_sets")]
              if "null_prepare_ms" in a else [])]
