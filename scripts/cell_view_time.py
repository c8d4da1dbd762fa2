"""Server time of the cell views on a demo (issue 13: each view <= 300 ms in the app), with
Streamlit's AppTest: the time of one rerun of the page script, which is what the server spends
before the browser has the answer.

Usage: ``python scripts/cell_view_time.py --data FOLDER`` (``FOLDER`` as built by
``python -m lstmvis_db demo --out FOLDER``; ``--project`` picks another demo, default the
default demo ``phrases``).  Opens the Cell page in each view and changes one input per rerun, so
every timed rerun computes a new answer (the app caches answers by their inputs; a repeat would
time the cache): the ranking for each label of a track of few labels and of one of many labels,
the profile of other cells, the formula of other cells, and the co-activation of the suggested
hypothesis's cells on Select at other thresholds.  The very first rerun of each page (imports,
opening the project) is printed apart.  Prints medians and maxima in ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(run) -> float:
    t0 = time.perf_counter()
    run()
    return 1000 * (time.perf_counter() - t0)


def _page(name: str, params: dict[str, str]):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=120)
    at.query_params.update(params)
    first = timed(at.run)
    if at.exception:
        raise SystemExit(f"{name}: {at.exception}")
    for thread in threading.enumerate():  # steady state: the app's numba warm-up has finished
        if thread.name == "lstmvis-warm-up":
            thread.join()
    return at, first


def _check(at, what: str) -> None:
    if at.exception:
        raise SystemExit(f"{what}: {at.exception}")
    errors = [e.value for e in at.error]
    if errors:
        raise SystemExit(f"{what}: {errors[0]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder of built demos")
    ap.add_argument("--project", default="phrases")
    args = ap.parse_args(argv)
    os.environ["LSTMVIS_DATA_DIR"] = str(Path(args.data).resolve())
    sys.path.insert(0, str(ROOT))
    import lstmvis_db
    from lstmvis_db.analysis import _labels, kept_counts

    with lstmvis_db.open(Path(args.data) / f"{args.project}.duckdb") as p:
        meta = p.meta()
        source = meta.get("suggest_source") or p.sources[0]
        names = _labels.categorical_names(p.catalog)
        labels = {t: list(_labels.categorical(p.catalog, t).labels) for t in names}
    few = [t for t in names if 1 < len(labels[t]) <= kept_counts.MAX_LABELS]
    many = sorted((t for t in names if len(labels[t]) > kept_counts.MAX_LABELS), key=lambda t: len(labels[t]))
    base = {"project": args.project, "source": source, "threshold": meta.get("suggest_threshold", "0.3")}
    out: dict[str, list[float]] = {}
    firsts: dict[str, float] = {}

    for track in [t for t in (few[:1] + many[:1])]:
        at, firsts[f"ranking ({track})"] = _page("5_Cell.py", {**base, "view": "ranking", "rtrack": track,
                                                               "rlabel": labels[track][0]})
        _check(at, "ranking")
        key = f"ranking, another label of `{track}` ({len(labels[track])} labels)"
        out[key] = []
        for lab in labels[track][1:9]:
            out[key].append(timed(lambda lab=lab, at=at: at.selectbox(key="w_rank_label").set_value(lab).run()))
            _check(at, key)

    at, firsts["profile"] = _page("5_Cell.py", {**base, "view": "profile", "cell": "0"})
    _check(at, "profile")
    out["profile, another cell"] = []
    for c in (5, 17, 33, 64, 90, 101, 120):
        out["profile, another cell"].append(timed(lambda c=c: at.number_input(key="w_cell").set_value(c).run()))
        _check(at, "profile")

    at, firsts["formula"] = _page("5_Cell.py", {**base, "view": "formula", "cell": "0"})
    _check(at, "formula")
    out["formula, other cells"] = []
    for cells in ([3], [9], [3, 9], [21], [40, 41], [77]):
        out["formula, other cells"].append(
            timed(lambda cells=cells: at.multiselect(key="w_formula_cells").set_value(cells).run()))
        _check(at, "formula")

    start, end = int(meta.get("suggest_start", 0)), int(meta.get("suggest_end", 2))
    at, firsts["Select"] = _page("1_Select.py", {**base, "pos": str(max(start - 5, 0)), "brush": f"{start},{end}"})
    _check(at, "Select")
    at.toggle(key="w_select_co").set_value(True)
    firsts["co-activation (toggled on)"] = timed(at.run)
    _check(at, "co-activation")
    out["co-activation, threshold moved"] = []
    for t in (0.35, 0.4, 0.25, 0.45, 0.2):
        out["co-activation, threshold moved"].append(
            timed(lambda t=t: at.number_input(key="w_threshold_raw").set_value(t).run()))
        _check(at, "co-activation")

    print(f"{args.project}, source {source}; one rerun of the page script each (AppTest), ms")
    print("| view | reruns | median | max |")
    print("|---|---:|---:|---:|")
    for key, xs in out.items():
        print(f"| {key} | {len(xs)} | {statistics.median(xs):.0f} | {max(xs):.0f} |")
    print("first rerun of each page (imports, project opened, first answer): "
          + ", ".join(f"{k} {v:.0f}" for k, v in firsts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
