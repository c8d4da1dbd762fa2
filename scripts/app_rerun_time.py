"""Time app reruns on the Shakespeare demo with Streamlit's AppTest (the README's figure).

Usage: ``python scripts/app_rerun_time.py`` (after the app has built ``data/shakespeare.duckdb``).
Opens the demo's suggested hypothesis in Select and moves the threshold and the position; opens
its matches in Match and reruns.  Prints the median seconds of each kind of rerun.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
VIEW = {"project": "shakespeare", "source": "layer1_h", "pos": "9751", "threshold": "0.3", "brush": "9756,9763"}


def timed(run) -> float:
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def main() -> int:
    sys.path.insert(0, str(ROOT))
    select = AppTest.from_file(str(ROOT / "pages" / "1_Select.py"), default_timeout=120)
    select.query_params.update(VIEW)
    select.run()
    if select.exception:
        print(select.exception, file=sys.stderr)
        return 1
    for thread in threading.enumerate():  # steady state: the app's numba warm-up has finished
        if thread.name == "lstmvis-warm-up":
            thread.join()
    threshold = [timed(lambda v=v: select.number_input(key="w_threshold_n").set_value(v).run())
                 for v in (0.35, 0.4, 0.25, 0.3)]
    position = [timed(lambda p=p: select.number_input(key="w_pos").set_value(p).run()) for p in (9760, 9800, 9751)]
    match = AppTest.from_file(str(ROOT / "pages" / "2_Match.py"), default_timeout=120)
    match.query_params.update({**VIEW, "cells": "8,14", "queried": "1"})
    match.run()
    rerun = [timed(match.run) for _ in range(4)]
    print(f"Select, threshold moved: {statistics.median(threshold):.2f} s")
    print(f"Select, position moved:  {statistics.median(position):.2f} s")
    print(f"Match, rerun:            {statistics.median(rerun):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
