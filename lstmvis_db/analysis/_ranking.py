"""The numbers behind ranking every cell for one label (docs/analysis.md §Selectivity), for all
cells of a source at once.

One compiled pass over each cell's 14-bit codes gives the bucketed AUROC of the label and of
every control label, the bound of each (pairs sharing a bucket) and the on-counts outside the
threshold's bucket; then one read of exact values covers every (cell, bucket) pair the index
cannot decide (the threshold's bucket, the buckets a refinement re-ranks: ``_exact.aurocs``,
unchanged) together with the exact per-label sums of the mean differences.  What does not
depend on the label (the control's statistics, the per-label sums) is kept per open project,
by source, track, control seed and thresholds, so a second label of the same track only pays
the label's own pass.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lstmvis_db.analysis import _cell_kernels, _exact, kept_offsets
from lstmvis_db.matching.quant import LEVELS
from lstmvis_db.queries import Catalog, SourceInfo

_LABEL = np.array([[0.0], [1.0]])


@dataclass(frozen=True)
class RankStats:
    auroc: np.ndarray  # (d,)
    md: np.ndarray  # (d,)
    on: np.ndarray  # (d, 2): on-counts at positions without / with the label
    n_lab: np.ndarray  # (2,)
    ctrl_auroc: np.ndarray  # (d,) best over the control's labels
    ctrl_md: np.ndarray
    ctrl_on: np.ndarray  # (d, K)


@dataclass
class _Control:
    """What depends neither on the label nor on the threshold: per cell, the control's AUROCs
    (d, K), the exact per-label sums of the real track (K_real, d) and of the control (K, d).
    Kept per open project, and stored in the project file at ingest for control seed 0
    (:mod:`lstmvis_db.analysis.kept`, computed there by :mod:`lstmvis_db.analysis._control`
    for every track at once, to the same bits)."""

    auroc: np.ndarray
    sums: np.ndarray
    ctrl_sums: np.ndarray


def _buckets(info: SourceInfo, th: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    d = info.n_cells
    if th is None:
        return np.full(d, LEVELS, dtype=np.int64), np.ones(d, dtype=bool)
    pairs = [info.quant.threshold_bucket(float(x)) for x in th]
    return np.array([j for j, _ in pairs], dtype=np.int64), np.array([e for _, e in pairs], dtype=bool)


def _scan(codes: np.ndarray, task, cold: bool, jt: np.ndarray, jex: np.ndarray, tol: float,
          ctrl_on: np.ndarray | None = None):
    """The compiled pass over rows of ``codes``: (est, bound, on, buckets to refine for the
    label, for the control) per target.  Cold: targets are the label, then the control's
    labels; else the rest, then the label.  ``ctrl_on`` (rows of codes, K), when given (not
    cold), gets the control's on-counts at the thresholds in the same pass."""
    d = codes.shape[0]
    if cold:
        group, n_groups, first = task.ctrl_full, task.k_ctrl, task.y_full
    else:
        group, n_groups, first = task.y_full, 2, np.zeros(1, dtype=np.int8)
    m = n_groups + (1 if cold else 0)
    est, bound, on = np.empty((d, m)), np.empty((d, m)), np.zeros((d, m), dtype=np.int64)
    mark_lab = np.zeros((d, LEVELS), dtype=bool)
    mark_ctl = np.zeros((d, LEVELS), dtype=bool)
    lab = 0 if cold else 1
    ctrl = task.ctrl_full if ctrl_on is not None else np.zeros(1, dtype=np.int32)
    c_on = ctrl_on if ctrl_on is not None else np.zeros((0, 1), dtype=np.int64)

    def piece(lo: int, hi: int) -> None:
        _cell_kernels.label_stats(codes, lo, hi, group, n_groups, first, jt, jex, tol, lab, est, bound, on,
                                  mark_lab, mark_ctl, ctrl, c_on)

    _cell_kernels.on_all_cores(piece, d)
    return est, bound, on, mark_lab, mark_ctl


def _control_key(info: SourceInfo, task) -> tuple:
    return ("ranking_control", info.sid, task.key)


def _on_key(info: SourceInfo, task, th: np.ndarray | None) -> tuple:
    return ("ranking_control_on", info.sid, task.key, None if th is None else th.tobytes())


def control(cat: Catalog, info: SourceInfo, task) -> _Control | None:
    """The label- and threshold-independent part, if known: kept on the catalog, else read from
    the project file (stored at ingest), else None (the first call computes it)."""
    key = _control_key(info, task)
    if key not in cat._cache:
        from lstmvis_db.analysis import kept

        got = kept.load(cat, info, task)
        if got is None:
            return None
        cat._cache[key] = _Control(*got)
    return cat._cache[key]


@_exact.serialised
def stats(cat: Catalog, info: SourceInfo, task, th: np.ndarray | None, tol: float) -> RankStats:
    """Per cell: AUROC (within ``tol``), exact mean difference and on-counts at ``th`` (per cell),
    and the same on the control task (best over its labels)."""
    d, k = info.n_cells, task.k_ctrl
    jt, jex = _buckets(info, th)
    ctl = control(cat, info, task)
    cold = ctl is None
    okey = _on_key(info, task, th)
    known_on = cat._cache.get(okey)
    need_on = not cold and known_on is None  # the control's on-counts at this threshold, not its AUROCs
    if not cold:
        assert ctl is not None
        got = _from_counts(cat, info, task, jt, jex, tol, ctl, okey)
        if got is not None:
            return got
    auroc, on = np.empty(d), np.zeros((d, 2), dtype=np.int64)
    c_auroc = np.empty((d, k))
    c_on = np.zeros((d, k), dtype=np.int64) if cold or need_on else None
    sums = ctrl_sums = None
    store = _exact.BucketValues.of(cat, info)
    offs = None if cold else kept_offsets.load(cat, info, task.key[0])  # the label's re-ranking, kept
    n1, n_pos = float(task.y.sum()), len(task.pos)
    for chunk, codes in _exact.code_chunks(cat, info, np.arange(d)):
        part = np.zeros((len(chunk), k), dtype=np.int64) if need_on and th is not None else None
        est, bound, cnt, mark_lab, mark_ctl = _scan(codes, task, cold, jt[chunk], jex[chunk], tol, part)
        if cold:
            assert c_on is not None
            auroc[chunk], on[chunk, 1], on[chunk, 0] = est[:, 0], cnt[:, 0], cnt[:, 1:].sum(axis=1) - cnt[:, 0]
            c_auroc[chunk], c_on[chunk] = est[:, 1:], cnt[:, 1:]
        else:
            auroc[chunk], on[chunk] = est[:, 1], cnt
            if part is not None:  # the control's on-counts at this threshold, from the same pass
                assert c_on is not None
                c_on[chunk] = part
        col = {int(c): codes[i] for i, c in enumerate(chunk)}
        plans = {}
        for i, c in enumerate(chunk.tolist()):
            p = {"label": mark_lab[i]} if mark_lab[i].any() else {}
            add = kept_offsets.label_sum(offs, c, mark_lab[i], task.label) if p and not cold else None
            if add is not None:  # the same exact half-integer sum as _settle's, without the values
                auroc[c] += add / (n1 * (n_pos - n1))
                p = {}
            if mark_ctl[i].any():
                p["control"] = mark_ctl[i]
            if th is not None and not jex[c] and 0 <= jt[c] < LEVELS:
                p["threshold"] = jt[c]
            if p:
                plans[c] = p
        want = {c: np.flatnonzero(_wanted(p, col[c], cold)) for c, p in plans.items()}
        on_block = None
        if cold and sums is None:
            sums, ctrl_sums = np.zeros((int(task.codes.max()) + 1, d)), np.zeros((k, d))
            on_block = _sums_block(task, sums, ctrl_sums)
        store.ensure(want, col.__getitem__, on_block)
        todo = list(plans.items())  # one cell per row of the outputs: the pieces do not overlap
        _cell_kernels.on_all_cores(functools.partial(_settle_all, todo, col, store, task, th, auroc, on,
                                                c_auroc if cold else None, c_on), len(todo), 8)
    if cold:
        assert sums is not None and ctrl_sums is not None
        ctl = _Control(auroc=c_auroc, sums=sums, ctrl_sums=ctrl_sums)
        cat._cache[_control_key(info, task)] = ctl
    if c_on is not None:
        cat._cache[okey] = c_on
    assert ctl is not None
    return _result(ctl, task, auroc, on, cat._cache[okey])


def _result(ctl: _Control, task, auroc: np.ndarray, on: np.ndarray, ctrl_on: np.ndarray) -> RankStats:
    return RankStats(auroc=auroc, md=_mean_diff(ctl.sums, task), on=on,
                     n_lab=np.bincount(task.y.astype(np.int64), minlength=2), ctrl_auroc=_best(ctl.auroc),
                     ctrl_md=_best_ctrl_md(ctl, task), ctrl_on=ctrl_on)


def _from_counts(cat: Catalog, info: SourceInfo, task, jt: np.ndarray, jex: np.ndarray, tol: float,
                 ctl: _Control, okey: tuple) -> RankStats | None:
    """The label's pass from the per-bucket counts kept at ingest (:mod:`kept_counts`) instead of
    the codes, when they fit: the kept control seed, no threshold inside a bucket (its exact
    values are found through the codes), and every bucket the plan re-ranks with its sum kept
    (:mod:`kept_offsets`).  The same numbers as the pass over the codes, bit for bit; else None."""
    from lstmvis_db.analysis import kept, kept_counts

    if task.key[1] != kept.SEED or not bool(jex.all()):
        return None
    counts = kept_counts.load(cat, info, task.key[0])
    if counts is None:
        return None
    est, _bound, on, mark_lab, ctrl_on = kept_counts.label_stats(counts, task, jt, jex, tol)
    auroc = est[:, 1].copy()
    refined = np.flatnonzero(mark_lab.any(axis=1))
    if len(refined):
        offs = kept_offsets.load(cat, info, task.key[0])
        n1, n_pos = float(task.y.sum()), len(task.pos)
        for c in refined.tolist():
            add = kept_offsets.label_sum(offs, c, mark_lab[c], task.label)
            if add is None:  # a bucket not kept: the pass over the codes reads its values
                return None
            auroc[c] += add / (n1 * (n_pos - n1))
    cat._cache.setdefault(okey, ctrl_on)
    return _result(ctl, task, auroc, on, cat._cache[okey])


def _settle_all(todo, col, store, task, th, auroc, on, c_auroc, c_on, lo: int, hi: int) -> None:
    for c, p in todo[lo:hi]:
        _settle(c, p, col[c], store, task, th, auroc, on, c_auroc, c_on)


def _wanted(p: dict, codes_c: np.ndarray, cold: bool) -> np.ndarray:
    """The buckets to hold for one cell (LEVELS bool).  A cold pass reads every row anyway, so
    for a cell that needs refining it also keeps each bucket at least as full as the lightest
    one refined: the next label's refinement (heaviest buckets first) then usually needs no read."""
    mark = p.get("label", np.zeros(LEVELS, dtype=bool)) | p.get("control", False)
    if cold and mark.any():
        tot = np.bincount(codes_c, minlength=LEVELS)
        mark = mark | (tot >= tot[mark].min())
    if "threshold" in p:
        mark = mark.copy()
        mark[p["threshold"]] = True
    return mark


def _settle(c: int, p: dict, codes_c: np.ndarray, store, task, th, auroc, on, c_auroc, c_on) -> None:
    """Exact values where the index could not decide, for one cell: its threshold's bucket, and
    the buckets the label's (the control's) AUROC re-ranks."""
    if "threshold" in p:
        pos = store.pos[c][codes_c[store.pos[c]] == p["threshold"]]
        hit = pos[store.at(c, pos) >= np.float64(th[c])]
        lab = task.y_full[hit]
        on[c, 1] += int((lab == 1).sum())
        on[c, 0] += int((lab == 0).sum())
        if c_on is not None:
            c_on[c] += np.bincount(task.ctrl_full[hit][lab >= 0], minlength=task.k_ctrl)
    if "label" not in p and ("control" not in p or c_auroc is None):
        return

    pos, dev = _offsets(c, codes_c, store, task)
    n = len(task.pos)
    if "label" in p:
        n1 = float(task.y.sum())
        sel = p["label"][codes_c[pos]] & (task.y_full[pos] == 1)
        auroc[c] += float(dev[sel].sum()) / (n1 * (n - n1))
    if "control" in p and c_auroc is not None:
        n_k = task.n_k.astype(np.float64)
        sel = p["control"][codes_c[pos]]
        delta = np.bincount(task.ctrl_full[pos][sel], weights=dev[sel], minlength=task.k_ctrl)
        with np.errstate(invalid="ignore", divide="ignore"):
            c_auroc[c] += np.where(n_k * (n - n_k) > 0, delta / (n_k * (n - n_k)), 0.0)


def _offsets(c: int, codes_c: np.ndarray, store, task) -> tuple[np.ndarray, np.ndarray]:
    """The labelled positions among the values ``store`` holds for cell c, and what ranking
    their (whole) buckets by exact values adds to each one's rank; kept with the values."""
    key = (c, task.key)
    if key not in store.derived:
        held = store.pos[c]
        keep = task.codes[held] >= 0
        pos = held[keep]
        store.derived[key] = (pos, _exact.bucket_rank_offsets(pos, store.val[c][keep], codes_c[pos]))
    return store.derived[key]


def _sums_block(task, sums: np.ndarray, ctrl_sums: np.ndarray):
    def on_block(a: int, rows: np.ndarray) -> None:
        g1 = task.codes[a:a + len(rows)].astype(np.int64)
        g2 = task.ctrl_full[a:a + len(rows)].astype(np.int64)
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        _cell_kernels.on_all_cores(lambda lo, hi: _cell_kernels.group_sums(rows, lo, hi, g1, g2, sums, ctrl_sums),
                              rows.shape[1], 8)
    return on_block


def _mean_diff(sums: np.ndarray, task) -> np.ndarray:
    s_all = sums.sum(axis=0)
    s_y = sums[task.label]
    n, n_y = len(task.pos), int(task.y.sum())
    if n == n_y:
        return np.full(sums.shape[1], np.nan)
    return s_y / n_y - (s_all - s_y) / (n - n_y)


def _best_ctrl_md(ctl: _Control, task) -> np.ndarray:
    s_all = ctl.sums.sum(axis=0)
    n = len(task.pos)
    n_k = task.n_k.astype(np.float64)
    ok = (n_k > 0) & (n_k < n)
    if not ok.any():
        return np.full(ctl.sums.shape[1], np.nan)
    md = ctl.ctrl_sums[ok] / n_k[ok, None] - (s_all - ctl.ctrl_sums[ok]) / (n - n_k[ok])[:, None]
    return md.max(axis=0)


def _best(au: np.ndarray) -> np.ndarray:
    fin = np.isfinite(au)
    return np.where(fin.any(axis=1), np.where(fin, au, -np.inf).max(axis=1), np.nan)
