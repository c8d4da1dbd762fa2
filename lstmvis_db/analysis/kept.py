"""What the ranking keeps in the project file at ingest, so that its first call on a freshly
opened project need not compute it (docs/performance.md §Kept at ingest).

Ranking every cell for one label of a categorical track needs, besides the label's own pass,
three things that depend neither on the label nor on the threshold: the per-label sums of every
cell's exact values (the mean differences), the same sums over the token-type control task's
labels, and every cell's AUROC for every control label.  The first call computed them from every
cell's codes and a pass over every exact row (most of its time at 1M x 650).  Here they are
computed once when the project (or a track) is written, for every categorical track of a source
at once (:mod:`lstmvis_db.analysis._control`: the same numbers as a first call's, bit for bit,
one source at a time), for control seed 0, and stored in
``_idx.cell_stats`` (schema.sql): one row per (source, track, seed, part, code) holding one
DOUBLE per cell.  A few hundred KB per track, against GB of states.

Reading falls back to computing on demand when the table is absent (files written before it
existed), or holds nothing for this source, track and seed, or does not fit the track as it is.

Imports numpy, pyarrow, duckdb and the analysis modules; ``store`` calls :func:`keep` lazily.
"""

from __future__ import annotations

import functools

import duckdb
import numpy as np
import pyarrow as pa

from lstmvis_db.queries import Catalog, SourceInfo

SEED = 0  # the control seed kept at ingest (the default of every interface)
#: sources with fewer values (positions x cells) are not kept: their first call computes it in
#: well under a second (the default demo's 13,550 x 128 sources: 1.7M values each, kept), while
#: keeping costs every write (each test project, each added track) a full control computation
MIN_VALUES = 1_000_000
PARTS = ("sums", "ctrl_sums", "ctrl_auroc")
_ABSENT = ("kept_cell_stats_absent",)


def keep(con: duckdb.DuckDBPyConnection, tracks: list[str] | None = None, sources: list[str] | None = None,
         min_values: int | None = None) -> None:
    """Compute and store the kept statistics of ``tracks`` (all categorical tracks when None)
    for ``sources`` (every source when None), through ``con``: a writing connection with the
    project attached as ``project`` and in use.  What was stored for those tracks, or for those
    sources (an added or replaced source: whatever its layout now), goes first, so no stale or
    second copy is left for a reader to take.  Sources of fewer than ``min_values`` values
    (default :data:`MIN_VALUES`) are left out."""
    from lstmvis_db.analysis import _control, _labels, kept_counts, kept_offsets, selectivity

    for ddl in _ddl():
        con.execute(ddl)
    cat = Catalog(con)
    for table in ("cell_stats", "cell_offsets", "cell_counts"):
        for track in tracks or ():  # a replaced track: what was kept for it goes, whatever its kind now
            con.execute(f"DELETE FROM _idx.{table} WHERE track = ?", [track])
        for source in sources or ():
            con.execute(f"DELETE FROM _idx.{table} WHERE source = ?", [source])
        if tracks is None and sources is None:  # everything anew
            con.execute(f"DELETE FROM _idx.{table}")
    names = _labels.categorical_names(cat) if tracks is None else [
        t for t in tracks if t in _labels.categorical_names(cat)]
    rows: dict[str, list] = {"source": [], "track": [], "seed": [], "part": [], "code": [], "v": []}
    offsets: dict[str, list] = {"source": [], "track": [], "cell": [], "buckets": [], "dev": []}
    counts: list[pa.Table] = []
    tasks = [selectivity._task(cat, t, _labels.categorical(cat, t).labels[0], SEED)
             for t in names if _labels.categorical(cat, t).labels]
    for info in cat.sources.values():
        if sources is not None and info.source not in sources:
            continue
        if info.sparse:  # a wide sparse source is ranked from its entries on demand (docs/data-model.md)
            continue
        if cat.n_positions * info.n_cells < (MIN_VALUES if min_values is None else min_values):
            continue
        col = kept_offsets.Collector(cat, info, names, selectivity.TOL)  # tracks of <= 64 labels
        hist = kept_counts.Collector(cat, info, names, SEED)
        on_codes = functools.partial(_both, col, hist)
        for task, ctl in zip(tasks, _control.controls(cat, info, tasks, selectivity.TOL, on_codes)):
            track = task.key[0]
            for part, mat in (("sums", ctl.sums), ("ctrl_sums", ctl.ctrl_sums), ("ctrl_auroc", ctl.auroc.T)):
                for code, v in enumerate(np.asarray(mat, dtype=np.float64)):
                    for key, val in (("source", info.source), ("track", track), ("seed", SEED), ("part", part),
                                     ("code", code), ("v", v.tolist())):
                        rows[key].append(val)
        for key, got in col.finish().items():
            offsets[key] += got
        counted = hist.finish()
        if counted is not None:
            counts.append(counted)
    kept_offsets.store(con, offsets)
    kept_counts.store(con, counts)
    if not rows["v"]:
        return
    con.register("_cell_stats_in", pa.table({
        "source": pa.array(rows["source"], pa.string()), "track": pa.array(rows["track"], pa.string()),
        "seed": pa.array(rows["seed"], pa.int32()), "part": pa.array(rows["part"], pa.string()),
        "code": pa.array(rows["code"], pa.int32()), "v": pa.array(rows["v"], pa.list_(pa.float64()))}))
    con.execute("INSERT INTO _idx.cell_stats SELECT * FROM _cell_stats_in")
    con.unregister("_cell_stats_in")


def _both(col, hist, cells: np.ndarray, codes: np.ndarray) -> None:
    """Hand a chunk of cells' codes to both collectors of few-label tracks."""
    col.codes(cells, codes)
    hist.codes(cells, codes)


def _ddl() -> list[str]:
    from lstmvis_db.store import schema_statements

    return [schema_statements()[name] for name in ("cell_stats", "cell_offsets", "cell_counts")]


def load(cat: Catalog, info: SourceInfo, task) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(control AUROCs (d, K), sums (K_real, d), control sums (K, d)) stored for ``task``'s
    track and control seed on ``info``'s source, or None (compute on demand)."""
    track, seed = task.key
    if seed != SEED or _ABSENT in cat._cache:
        return None
    try:
        with cat.cursor() as cur:
            got = cur.execute("SELECT part, code, v FROM _idx.cell_stats WHERE source = ? AND track = ? AND seed = ? "
                              "ORDER BY part, code", [info.source, track, int(seed)]).fetchall()
    except duckdb.CatalogException:  # a file written before the table existed
        cat._cache[_ABSENT] = True
        return None
    d, k = info.n_cells, task.k_ctrl
    k_real = int(task.codes.max()) + 1
    by_part: dict[str, list] = {p: [] for p in PARTS}
    for part, code, v in got:
        if part not in by_part or code != len(by_part[part]) or len(v) != d:
            return None
        by_part[part].append(v)
    if (len(by_part["sums"]), len(by_part["ctrl_sums"]), len(by_part["ctrl_auroc"])) != (k_real, k, k):
        return None
    mats = {p: np.array(by_part[p], dtype=np.float64).reshape(-1, d) for p in PARTS}
    return np.ascontiguousarray(mats["ctrl_auroc"].T), mats["sums"], mats["ctrl_sums"]
