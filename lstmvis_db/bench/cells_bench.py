"""Benchmark of the cell statistics (docs/analysis.md) on the bench project: ranking every cell
for one label, one cell's profile under a filter, co-activation of 10 query cells with every
cell, and (where built) the formula search; each also as a ratio to one numpy pass.

The label tracks are synthetic: ``planted`` marks the positions inside the runs of the first
planted pattern (so its cells should rank first), and ``t1..t3`` are random tracks of 40 labels.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from lstmvis_db.api import open as open_project
from lstmvis_db.errors import LstmvisError
from lstmvis_db.store import write_track
from lstmvis_db.types import Track


def _time_ms(fn, repeat: int) -> float:
    fn()  # warm-up (caches of labels and tokens)
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def add_tracks(db: Path, patterns, n: int, seed: int = 0) -> list[int]:
    """Write the synthetic label tracks; returns the cells of the planted pattern."""
    p0 = patterns[0]
    inside = np.zeros(n, dtype=bool)
    for s in p0.starts:
        inside[int(s):int(s) + p0.length] = True
    write_track(db, Track("planted", "categorical", labels=np.where(inside, "in", "out").tolist()))
    rng = np.random.default_rng(seed)
    for i in range(1, 4):
        labels = np.char.mod("L%d", rng.integers(0, 40, n))
        write_track(db, Track(f"t{i}", "categorical", labels=labels.tolist()))
    return [int(c) for c in p0.cells]


def run(db: Path, patterns, n: int, repeat: int = 3, log=print) -> dict:
    cells = add_tracks(db, patterns, n)
    return measure(db, "planted", "in", cells, ["planted", "t1", "t2", "t3"], repeat, log)


def _cold_ms(db: Path, fn) -> float:
    """fn(project) on a freshly opened project (nothing it keeps is there yet)."""
    with open_project(db) as p:
        t0 = time.perf_counter()
        fn(p)
        return 1000 * (time.perf_counter() - t0)


def measure(db: Path, track: str, label: str, cells: list[int], tracks: list[str], repeat: int = 3,
            log=print) -> dict:
    """Cold (first call on a freshly opened project: nothing kept yet) and warm timings of the
    cell statistics for ``label`` of ``track``; ``cells`` the ones expected to rank first."""
    out: dict = {}
    with open_project(db) as p:
        src, n = p.sources[0], n_of(p)
    query = cells[:10] if len(cells) >= 10 else list(range(10))
    log("cells: cold calls ...")
    out["rank_cold_ms"] = _cold_ms(db, lambda p: p.cells(src, track, label, threshold=0.3))
    out["coactivation_cold_ms"] = _cold_ms(db, lambda p: p.coactivation(src, query, threshold=0.3))
    out["profile_cold_ms"] = _cold_ms(db, lambda p: p.profile(src, cells[0], threshold=0.3, range=(0, n // 2)))
    with open_project(db) as p:
        log("cells: ranking every cell for one label ...")
        res = p.cells(src, track, label, threshold=0.3)
        top = {r["cell"] for r in res["cells"][:len(cells)]}
        out["rank_planted_found"] = len(top & set(cells))
        out["rank_planted_cells"] = len(cells)
        out["rank_ms"] = _time_ms(lambda: p.cells(src, track, label, threshold=0.3), repeat)
        others = [x for x in _labels_of(p, track) if x != label][:max(1, repeat)]
        t0 = time.perf_counter()
        for lab in others:
            p.cells(src, track, lab, threshold=0.3)
        out["rank_other_label_ms"] = 1000 * (time.perf_counter() - t0) / max(1, len(others))
        out["rank_quantile_ms"] = _time_ms(lambda: p.cells(src, track, label, quantile=0.9), 1)
        log("cells: profile ...")
        out["profile_ms"] = _time_ms(lambda: p.profile(src, cells[0], threshold=0.3, range=(0, n // 2)), repeat)
        log("cells: co-activation ...")
        out["coactivation_ms"] = _time_ms(lambda: p.coactivation(src, query, threshold=0.3), repeat)
        out["coactivation_lag_ms"] = _time_ms(lambda: p.coactivation(src, query, threshold=0.3, lag=3), 1)
        log("cells: formula ...")
        out["formula_ms"] = _time_ms(lambda: p.explain(src, cells[:5], threshold=0.3, tracks=tracks), 1)
    return out


def n_of(p) -> int:
    return int(p.catalog.n_positions)


def _labels_of(p, track: str) -> list[str]:
    from lstmvis_db.analysis import _labels

    return list(_labels.categorical(p.catalog, track).labels)


def markdown(res: dict) -> str:
    """Rows for the bench table (ratios to the in-memory numpy pass where it was measured)."""
    c = res.get("cell_stats")
    if not c:
        return ""
    yard = res.get("numpy_pass_ms")

    def row(name: str, key: str) -> str:
        if key not in c:
            return ""
        ratio = f" ({c[key] / yard:.1f}x one numpy pass)" if yard else ""
        return f"| {name} | {c[key]:,.0f} ms{ratio} |\n"

    return ("\n\n| cell statistics | time |\n|---|---|\n"
            + row(f"rank all {res['cells']} cells for one label, first call on a fresh project", "rank_cold_ms")
            + row(f"rank all {res['cells']} cells for one label (AUROC, control, IoU at t)", "rank_ms")
            + row("the same for another label of the track", "rank_other_label_ms")
            + row("the same at each cell's own 0.9-quantile", "rank_quantile_ms")
            + row("one cell's profile under a range filter, first call", "profile_cold_ms")
            + row("one cell's profile under a range filter", "profile_ms")
            + row(f"co-activation of 10 query cells with all {res['cells']}, first call", "coactivation_cold_ms")
            + row(f"co-activation of 10 query cells with all {res['cells']}", "coactivation_ms")
            + row("the same, lagged (k = 3)", "coactivation_lag_ms")
            + row("formula search over 4 tracks of <= 40 labels", "formula_ms")
            + f"\nPlanted pattern cells ranked first: {c['rank_planted_found']} of {c['rank_planted_cells']}.")


def build(path: Path, n: int, d: int = 650, seed: int = 0) -> None:
    """A synthetic project for ``main``: tanh of normal states with a per-cell gain (many cells
    saturate), tokens w0..w9999 and the align benchmark's tracks cat10..cat40."""
    from lstmvis_db import ProjectData, Source, write_project
    from lstmvis_db.bench import align_bench

    rng = np.random.default_rng(seed)
    gain = rng.uniform(0.3, 3, d).astype(np.float32)
    vals = np.tanh(rng.normal(0, 1, (n, d)).astype(np.float32) * gain)
    write_project(path, ProjectData(name=f"cells bench {n}", tokens=np.char.mod("w%d", np.arange(n) % 10000).tolist(),
                                    sources=[Source("s", vals)], tracks=align_bench.tracks(n, seed)))


def _yardstick(db: Path, repeat: int) -> float:
    """One numpy pass (threshold and count) over the first source's states, in ms: the states
    read a block at a time (the read is not timed), the passes over the blocks added up."""
    total = 0.0
    with open_project(db) as p:
        n = n_of(p)
        for a in range(0, n, 65536):
            block = p.window(p.sources[0], a, min(n, a + 65536) - 1)
            total += _time_ms(lambda b=block: np.count_nonzero(b >= np.float32(0.3)), repeat)
    return total


def main(argv: list[str] | None = None) -> int:
    """``python -m lstmvis_db.bench.cells_bench --db DB [--build N] [--track T --label L]``: the
    cell statistics on a project (its first source, cells 0..9 as the query, the formula over
    its first four categorical tracks), with one numpy pass over the source's states as the
    yardstick; JSON on stdout."""
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m lstmvis_db.bench.cells_bench")
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--build", type=int, help="first write a synthetic project of N positions x 650 cells")
    ap.add_argument("--track", default="cat40")
    ap.add_argument("--label", default="L0")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    if a.build and not a.db.exists():
        build(a.db, a.build)
    try:
        with open_project(a.db) as p:
            from lstmvis_db.analysis import _labels

            tracks = _labels.categorical_names(p.catalog)[:4]
            _labels.categorical(p.catalog, a.track).code(a.label)  # an unknown track or label: one line, exit 2
    except LstmvisError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    yard = _yardstick(a.db, a.repeat)
    res = measure(a.db, a.track, a.label, list(range(10)), tracks, a.repeat, log=lambda *x: None)
    res["numpy_pass_ms"] = yard
    res.update({k.replace("_ms", "_x_numpy"): v / yard for k, v in list(res.items()) if k.endswith("_ms") and yard})
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
