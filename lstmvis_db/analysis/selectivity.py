"""Cells against labels (docs/analysis.md §Selectivity): AUROC, mean difference and threshold statistics of
every cell for one label of a categorical track, each beside the best value of the same
statistic on the token-type control task (Hewitt and Liang), and the ranking of cells by them.

AUROC is computed from the 14-bit index and refined with exact values wherever the pairs that
share a bucket could move it by more than ``TOL`` (so it is within ``TOL`` of the exact value);
mean differences and on-counts are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TypedDict

import numpy as np

from lstmvis_db.analysis import _exact, _labels
from lstmvis_db.errors import QueryError
from lstmvis_db.matching.quant import LEVELS
from lstmvis_db.queries import Catalog, SourceInfo, check_threshold

TOL = 1e-4
STATS = ("auroc", "mean_diff", "iou")
_CHUNK = 64


class CellRow(TypedDict):
    source: str
    cell: int
    auroc: float | None
    mean_diff: float | None
    precision: float | None
    recall: float | None
    iou: float | None
    threshold: float | None
    control_auroc: float | None
    control_stat: float | None
    selectivity: float | None


class CellsResult(TypedDict):
    cells: list[CellRow]
    control_seed: int
    stat: str


@dataclass(frozen=True)
class _Task:
    """The labelled positions of one track: real codes, the target label, control codes."""

    pos: np.ndarray  # labelled positions (sorted)
    y: np.ndarray  # bool: carries the label
    ctrl: np.ndarray  # control code per labelled position
    k_ctrl: int

    @cached_property
    def y_codes(self) -> np.ndarray:
        return self.y.astype(np.int64)

    @property
    def ctrl_codes(self) -> np.ndarray:
        return self.ctrl

    @cached_property
    def n_k(self) -> np.ndarray:
        return np.bincount(self.ctrl, minlength=self.k_ctrl)


def check_quantile(q: object) -> float:
    try:
        v = float(q)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise QueryError(f"quantile must be a number, got {q!r}") from None
    if not 0.0 < v < 1.0:
        raise QueryError(f"quantile must lie strictly between 0 and 1, got {q!r}")
    return v


def control_codes(codes: np.ndarray, types: np.ndarray, n_labels: int, seed: int) -> np.ndarray:
    """The control task: every token type gets one label drawn (seeded) from the track's label
    distribution over its labelled positions; each occurrence carries its type's label.
    Returns control codes for all positions (-1 where the track has no label)."""
    lab = codes >= 0
    freq = np.bincount(codes[lab], minlength=n_labels).astype(np.float64)
    if freq.sum() == 0:
        return np.full(len(codes), -1, dtype=np.int32)
    rng = np.random.default_rng(int(seed))
    n_types = int(types.max()) + 1 if len(types) else 0
    drawn = rng.choice(n_labels, size=n_types, p=freq / freq.sum()).astype(np.int32)
    out = np.where(lab, drawn[types], -1).astype(np.int32)
    return out


def _task(cat: Catalog, track: str, label: str, seed: int) -> _Task:
    tr = _labels.categorical(cat, track)
    code = tr.code(label)
    ctrl = control_codes(tr.codes, _labels.token_types(cat), len(tr.labels), seed)
    pos = np.flatnonzero(tr.codes >= 0)
    y = tr.codes[pos] == code
    if not y.any():
        raise QueryError(f"label {label!r} of track {track!r} occurs nowhere")
    return _Task(pos, y, ctrl[pos].astype(np.int64), len(tr.labels))


def _mean_diffs(ex: _exact.Exact, task: _Task) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean differences per cell for the label, and the best over control labels."""
    d = ex.info.n_cells
    s_all, s_y = np.zeros(d), np.zeros(d)
    s_k = np.zeros((task.k_ctrl, d))
    for a, rows in ex.blocks():
        lo, hi = np.searchsorted(task.pos, [a, a + len(rows)])
        idx = task.pos[lo:hi] - a
        v = rows[idx].astype(np.float64)
        s_all += v.sum(axis=0)
        s_y += v[task.y[lo:hi]].sum(axis=0)
        c = task.ctrl[lo:hi]
        order = np.argsort(c, kind="stable")
        if len(order):
            starts = np.flatnonzero(np.r_[True, np.diff(c[order]) != 0])
            s_k[c[order][starts]] += np.add.reduceat(v[order], starts, axis=0)
    n, n_y = len(task.pos), int(task.y.sum())
    md = s_y / n_y - (s_all - s_y) / (n - n_y) if n > n_y else np.full(d, np.nan)
    n_k = np.bincount(task.ctrl, minlength=task.k_ctrl).astype(np.float64)
    ok = (n_k > 0) & (n_k < n)
    with np.errstate(invalid="ignore", divide="ignore"):
        ctrl_md = s_k / n_k[:, None] - (s_all - s_k) / (n - n_k)[:, None]
    ctrl_best = ctrl_md[ok].max(axis=0) if ok.any() else np.full(d, np.nan)
    return md, ctrl_best


def _threshold_stats(on: np.ndarray, n_lab: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """(precision, recall, IoU) of label 1 from on-counts per code and label sizes (binary)."""
    tot_on, inter, pos = int(on.sum()), int(on[1]), int(n_lab[1])
    precision = inter / tot_on if tot_on else None
    recall = inter / pos if pos else None
    union = tot_on + pos - inter
    return precision, recall, (inter / union if union else None)


def _best_control_iou(on: np.ndarray, n_k: np.ndarray) -> float | None:
    tot = on.sum()
    union = tot + n_k - on
    ok = union > 0
    return float((on[ok] / union[ok]).max()) if ok.any() else None


def _one_cell(q: np.ndarray, q_all_col: np.ndarray, cell: int, info: SourceInfo, task: _Task, t: float | None,
              qlevel: float | None, ex: _exact.Exact) -> dict:
    """The statistics of one cell (q: its buckets at the labelled positions)."""
    y_codes = task.y_codes
    n_k = task.n_k

    def fetch(idx: np.ndarray) -> np.ndarray:
        return ex.at(cell, task.pos[idx])

    h2 = np.bincount(q * 2 + y_codes, minlength=2 * LEVELS).reshape(LEVELS, 2)
    hk = np.bincount(q * task.k_ctrl + task.ctrl_codes, minlength=task.k_ctrl * LEVELS).reshape(LEVELS, -1)
    # the label and the control each refined on their own, so neither depends on the other
    au = _num(_exact.aurocs(q, y_codes, np.array([[0.0], [1.0]]), fetch, TOL, fine=h2)[0])
    ctrl_au = _exact.aurocs(q, task.ctrl_codes, np.eye(task.k_ctrl), fetch, TOL, fine=hk)
    tc = t
    if qlevel is not None:
        tc = _exact.quantile(q_all_col, qlevel, lambda idx: ex.at(cell, idx))
    prec = rec = iou = ctrl_iou = None
    if tc is not None:
        on = _exact.on_counts(h2, q, y_codes, info.quant, tc, fetch)
        prec, rec, iou = _threshold_stats(on, np.bincount(y_codes, minlength=2))
        ctrl_iou = _best_control_iou(_exact.on_counts(hk, q, task.ctrl, info.quant, tc, fetch), n_k)
    return {"auroc": au, "precision": prec, "recall": rec, "iou": iou, "threshold": tc,
            "control_auroc": _num(np.nanmax(ctrl_au)) if np.isfinite(ctrl_au).any() else None,
            "control_iou": ctrl_iou}


def source_rows(cat: Catalog, info: SourceInfo, task: _Task, stat: str, t: float | None = None,
                qlevel: float | None = None) -> list[CellRow]:
    """One row per cell of a source (unsorted)."""
    ex = _exact.Exact(cat, info)
    md, ctrl_md = _mean_diffs(ex, task)
    out: list[CellRow] = []
    for a in range(0, info.n_cells, _CHUNK):
        chunk = np.arange(a, min(info.n_cells, a + _CHUNK))
        q_all = _labels.quantized_columns(cat, info, chunk).astype(np.int64)
        ex.prefetch(chunk)
        for i, cell in enumerate(chunk.tolist()):
            r = _one_cell(q_all[task.pos, i], q_all[:, i], cell, info, task, t, qlevel, ex)
            control = {"auroc": r["control_auroc"], "mean_diff": _num(ctrl_md[cell]), "iou": r["control_iou"]}[stat]
            row = CellRow(source=info.source, cell=cell, auroc=r["auroc"], mean_diff=_num(md[cell]),
                          precision=r["precision"], recall=r["recall"], iou=r["iou"], threshold=r["threshold"],
                          control_auroc=r["control_auroc"], control_stat=control, selectivity=None)
            own = row[stat]  # type: ignore[literal-required]
            row["selectivity"] = own - control if own is not None and control is not None else None
            out.append(row)
    return out


def rank_cells(cat: Catalog, source: str, track: str, label: str, threshold: float | None = None,
               quantile: float | None = None, stat: str = "auroc", limit: int | None = None,
               control_seed: int = 0) -> CellsResult:
    """docs/analysis.md §Selectivity: every cell of ``source`` (or ``"all"``) ranked for ``label`` of ``track``."""
    if stat not in STATS:
        raise QueryError(f"unknown statistic {stat!r}; choose one of {', '.join(STATS)}")
    if threshold is not None and quantile is not None:
        raise QueryError("give a threshold or a quantile, not both")
    t = None if threshold is None else check_threshold(threshold)
    qlevel = None if quantile is None else check_quantile(quantile)
    if stat == "iou" and t is None and qlevel is None:
        raise QueryError("--stat iou needs a threshold or a quantile")
    if limit is not None and (int(limit) != limit or limit < 1):
        raise QueryError(f"limit must be an integer >= 1, got {limit!r}")
    if int(control_seed) != control_seed:
        raise QueryError(f"control seed must be an integer, got {control_seed!r}")
    infos = list(cat.sources.values()) if source == "all" else [cat.source(source)]
    task = _task(cat, track, label, int(control_seed))
    rows = [r for info in infos for r in source_rows(cat, info, task, stat, t, qlevel)]
    rows.sort(key=lambda r: (r[stat] is None, -(r[stat] or 0.0), r["source"], r["cell"]))  # type: ignore[literal-required]
    if limit is not None:
        rows = rows[: int(limit)]
    return CellsResult(cells=rows, control_seed=int(control_seed), stat=stat)


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(float(x)) else None
