"""Time app reruns on the Shakespeare demo with Streamlit's AppTest (the README's figure).

Usage: ``python scripts/app_rerun_time.py`` (after the app has built ``data/shakespeare.duckdb``;
``LSTMVIS_DATA_DIR`` names another folder of demos).  Opens the demo's suggested hypothesis (from
the project's description) in Select and moves the threshold and the position; opens its matches
in Match and reruns.  Prints the median seconds of each kind of rerun.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def suggested_view(project: str = "shakespeare") -> dict[str, str]:
    """The URL state of the demo's suggested hypothesis (its ``suggest_*`` metadata)."""
    import os

    import lstmvis_db

    folder = Path(os.environ.get("LSTMVIS_DATA_DIR") or ROOT / "data")
    with lstmvis_db.open(folder / f"{project}.duckdb") as p:
        meta = p.meta()
    start, end = int(meta["suggest_start"]), int(meta["suggest_end"])
    return {"project": project, "source": meta["suggest_source"], "pos": str(max(start - 5, 0)),
            "threshold": meta["suggest_threshold"], "brush": f"{start},{end}"}


def timed(run) -> float:
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def main() -> int:
    sys.path.insert(0, str(ROOT))
    select = AppTest.from_file(str(ROOT / "pages" / "1_Select.py"), default_timeout=120)
    view = suggested_view()
    select.query_params.update(view)
    select.run()
    if select.exception:
        print(select.exception, file=sys.stderr)
        return 1
    for thread in threading.enumerate():  # steady state: the app's numba warm-up has finished
        if thread.name == "lstmvis-warm-up":
            thread.join()
    threshold = [timed(lambda v=v: select.number_input(key="w_threshold_raw").set_value(v).run())
                 for v in (0.35, 0.4, 0.25, 0.3)]
    at = int(view["pos"])
    position = [timed(lambda p=p: select.number_input(key="w_pos").set_value(p).run()) for p in (at + 9, at + 49, at)]
    match = AppTest.from_file(str(ROOT / "pages" / "2_Match.py"), default_timeout=120)
    match.query_params.update({**view, "queried": "1"})
    match.run()
    if match.exception or not match.get("vega_lite_chart"):
        print("the Match page drew no result chart", match.exception, file=sys.stderr)
        return 1
    rerun = [timed(match.run) for _ in range(4)]
    print(f"Select, threshold moved: {statistics.median(threshold):.2f} s")
    print(f"Select, position moved:  {statistics.median(position):.2f} s")
    print(f"Match, rerun:            {statistics.median(rerun):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
