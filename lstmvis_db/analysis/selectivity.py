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

from lstmvis_db.analysis import _labels, _ranking
from lstmvis_db.errors import QueryError
from lstmvis_db.queries import Catalog, SourceInfo, check_threshold

TOL = 1e-4
STATS = ("auroc", "mean_diff", "iou")


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

    key: tuple  # (track, control seed): what the label-independent results are cached by
    pos: np.ndarray  # labelled positions (sorted)
    y: np.ndarray  # bool: carries the label
    ctrl: np.ndarray  # control code per labelled position
    k_ctrl: int
    codes: np.ndarray  # real code per position (-1: no label)
    label: int

    @cached_property
    def n_k(self) -> np.ndarray:
        return np.bincount(self.ctrl, minlength=self.k_ctrl)

    @cached_property
    def ctrl_full(self) -> np.ndarray:
        """Control code per position (int32, -1: no label)."""
        out = np.full(len(self.codes), -1, dtype=np.int32)
        out[self.pos] = self.ctrl
        return out

    @cached_property
    def y_full(self) -> np.ndarray:
        """1 where the label is, 0 at other labelled positions, -1 elsewhere (int8)."""
        out = np.full(len(self.codes), -1, dtype=np.int8)
        out[self.pos] = self.y
        return out


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


def control_of(cat: Catalog, track: str, seed: int) -> np.ndarray:
    """The control codes of a categorical track for ``seed`` (all positions), kept per project."""
    key = ("control_codes", track, seed)
    if key not in cat._cache:
        tr = _labels.categorical(cat, track)
        cat._cache[key] = control_codes(tr.codes, _labels.token_types(cat), len(tr.labels), seed)
    return cat._cache[key]


def _task(cat: Catalog, track: str, label: str, seed: int) -> _Task:
    tr = _labels.categorical(cat, track)
    code = tr.code(label)
    ctrl = control_of(cat, track, seed)
    pos = np.flatnonzero(tr.codes >= 0)
    y = tr.codes[pos] == code
    if not y.any():
        raise QueryError(f"label {label!r} of track {track!r} occurs nowhere")
    return _Task((track, seed), pos, y, ctrl[pos].astype(np.int64), len(tr.labels), tr.codes, code)


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


def source_rows(cat: Catalog, info: SourceInfo, task: _Task, stat: str, t: float | None = None,
                qlevel: float | None = None) -> list[CellRow]:
    """One row per cell of a source (unsorted)."""
    th = None
    if t is not None:
        th = np.full(info.n_cells, t)
    elif qlevel is not None:
        from lstmvis_db.analysis.thresholds import quantile_thresholds

        th = quantile_thresholds(cat, info.source, qlevel)
    st = _ranking.stats(cat, info, task, th, TOL)
    out: list[CellRow] = []
    for cell in range(info.n_cells):
        prec = rec = iou = ctrl_iou = None
        if th is not None:
            prec, rec, iou = _threshold_stats(st.on[cell], st.n_lab)
            ctrl_iou = _best_control_iou(st.ctrl_on[cell], task.n_k)
        ctrl_au = _num(st.ctrl_auroc[cell])
        control = {"auroc": ctrl_au, "mean_diff": _num(st.ctrl_md[cell]), "iou": ctrl_iou}[stat]
        row = CellRow(source=info.source, cell=cell, auroc=_num(st.auroc[cell]), mean_diff=_num(st.md[cell]),
                      precision=prec, recall=rec, iou=iou, threshold=None if th is None else float(th[cell]),
                      control_auroc=ctrl_au, control_stat=control, selectivity=None)
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
