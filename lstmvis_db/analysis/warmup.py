"""Loading the statistics' compiled loops before a user asks for them.

The first compiled call in a process makes numba load (on a fresh machine: compile) every
kernel it reaches, several hundred ms even from numba's cache; in the app that was the first
visitor's first cell ranking, profile or align.  :func:`warm_up` runs each statistic once on a
tiny seeded project written to a temporary folder, so the kernels are loaded for the argument
types real projects use (float32 values, 14-bit codes, packed on-bits).  The app calls it once
per server process in a background thread (``lstmvis_ui.resources``); it reads and writes
nothing else.

May import the core (``store``, ``types``, ``api``) and this package; never Streamlit.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

__all__ = ["warm_up"]

N, D = 600, 8


def _tiny_project(path: Path) -> None:
    from lstmvis_db.store import write_project
    from lstmvis_db.types import Document, ProjectData, Source, Track

    rng = np.random.default_rng(0)
    values = np.tanh(rng.normal(0.0, 1.5, size=(N, D))).astype(np.float32)
    words = [f"w{int(i)}" for i in rng.integers(0, 20, size=N)]
    labels = [("A", "B", "C")[int(i)] for i in rng.integers(0, 3, size=N)]
    docs = [Document("one", 0, N // 2 - 1), Document("two", N // 2, N - 1)]
    write_project(path, ProjectData(
        name="warm-up", tokens=words, sources=[Source("h", values)], documents=docs,
        tracks=[Track("t", "categorical", labels=labels), Track("u", "categorical", labels=labels[::-1])]))
    _keep(path)


def _keep(path: Path) -> None:
    """Keep the tiny project's cell statistics, as ingest does for large ones (loads the kernels
    of ``kept_counts``)."""
    import duckdb

    from lstmvis_db.analysis import kept
    from lstmvis_db.sqltext import sql_literal

    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH {sql_literal(str(path))} AS project")
        con.execute("USE project")
        kept.keep(con, min_values=0)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def warm_up() -> None:
    """Rank, profile, co-activate (plain and lagged), explain and align once on a tiny project."""
    from lstmvis_db.api import open as open_project

    with tempfile.TemporaryDirectory(prefix="lstmvis-warm-up-") as tmp:
        path = Path(tmp) / "warm.duckdb"
        _tiny_project(path)
        with open_project(path) as p:
            p.cells("h", "t", "A", threshold=0.3)  # inside a bucket: through the codes
            p.cells("h", "t", "C")  # no threshold: from the kept counts
            p.cells("h", "u", "A", threshold=0.3, control_seed=1)  # a seed not kept: the whole first call
            p.cells("h", "t", "B", quantile=0.9)
            p.profile("h", 0, threshold=0.3, range=(0, N // 2))
            p.coactivation("h", [0, 1, 2], threshold=0.3)
            p.coactivation("h", [0, 1], threshold=0.3, lag=2)
            p.explain("h", [0, 1], threshold=0.3, tracks=["t", "u"])
            p.align("h", [0, 1], threshold=0.3)
