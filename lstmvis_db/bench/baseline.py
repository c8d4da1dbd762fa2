"""The ORIGINAL LSTMVis matcher, re-implemented with numpy + h5py as a benchmark yardstick.

This module reproduces what ``LSTMDataHandler.query_similar_activations`` of LSTMVis (V2)
actually does, quirks included (docs/semantics.md §The original's matcher).  It is NOT the
tool's matcher (that one follows docs/semantics.md §Matching and fixes the bugs); it exists so the
benchmark can time and compare against the original's behaviour and cost:

* Nothing is cached.  Every call opens the HDF5 file, reads the selected columns for the count
  vector in batches and then reads ``L + 2`` full rows per candidate, as the original does.
* ``fast`` counts only the first :data:`FAST_STEPS` positions and keeps :data:`FAST_POOL`
  candidates; ``precise`` counts all ``N`` and keeps :data:`PRECISE_POOL`.
* The threshold is compared with the RAW stored values: with ``transform="tanh"`` it is mapped
  through ``arctanh`` (a threshold >= 1 then matches nothing), with ``"none"`` it is used as is.

Where the original fails, this module raises :class:`BaselineFailure` instead of crashing or
allocating absurd amounts of memory:

* precise mode when the column batch degenerates to one cell (``N > BATCH_BUDGET / 2``, i.e.
  N > 2.5 M): the original then builds an N x N array and dies;
* a right constraint when the counted range ends with a qualifying run (the original's
  ``IndexError``, docs/semantics.md §Bugs of the original that we fix).

The one deliberate difference: inside one relaxation pass the original iterates a Python
``set`` (hash order, effectively arbitrary), which decides which tied candidates survive the
pool cut and the order of ties in the final ranking.  Here a pass lists its runs by ascending
start, so the candidate order is (boundary score desc, pass k desc, start asc), and the final
ranking (I desc, U asc, L desc) is a stable sort of that order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from os import PathLike
from typing import Any, Literal

import h5py
import numpy as np

from lstmvis_db.errors import InputError, LstmvisError, QueryError

#: fast mode counts only positions ``0 .. FAST_STEPS - 1``.
FAST_STEPS = 500_000
#: candidate cap of fast mode (checked before each relaxation pass, then the pool is cut to it).
FAST_POOL = 1_000
#: candidate cap of precise mode.
PRECISE_POOL = 10_000
#: columns read per HDF5 read in fast mode.
FAST_BATCH = 5
#: precise mode reads ``BATCH_BUDGET // N`` columns per HDF5 read (at least 1; 1 crashes).
BATCH_BUDGET = 5_000_000
#: minimum candidate length when no phrase length is given.
MIN_LENGTH = 2
#: number of matches returned by default.
N_RESULTS = 50

Mode = Literal["precise", "fast"]


class BaselineFailure(LstmvisError):
    """The original LSTMVis fails on this input (crash or HTTP 500); the message says why."""


@dataclass(frozen=True)
class CandidatePool:
    """Candidates after relaxation, the stable sort by boundary score and the cut to the cap.

    Parallel int64 arrays in pool order: ``starts`` (first position of the run), ``lengths``
    (run length), ``scores`` (boundary score), ``levels`` (the pass ``k`` that found it).
    ``collected`` is the number of distinct candidates before the cut (it may exceed the cap,
    because the cap is only checked before each pass).
    """

    starts: np.ndarray
    lengths: np.ndarray
    scores: np.ndarray
    levels: np.ndarray
    collected: int


def run_length_encode(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of equal values in a 1-D array: ``(starts, lengths, run_values)``."""
    n = int(values.shape[0])
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, values[:0]
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    lengths = np.diff(np.concatenate((starts, [n]))).astype(np.int64)
    return starts, lengths, values[starts]


def candidate_pool(
    counts: np.ndarray,
    m: int,
    cap: int,
    constrain_left: bool,
    constrain_right: bool,
    phrase_length: int = 0,
) -> CandidatePool:
    """Steps 2-3 of the original: progressive relaxation, boundary scores, sort and cut.

    ``counts[t]`` is the number of selected cells on at position ``t`` of the counted range.
    For ``k = m .. 1``, stopping before a pass once ``cap`` distinct candidates are collected:
    clip the counts at ``k``, run-length encode, and take every run with value ``k`` and length
    ``>= 2`` (``== phrase_length`` when it is > 0).  Its boundary score is ``k`` minus the
    clipped value of the previous run (left constraint) and/or of the next run (right
    constraint), 0 without constraints.  Original quirks kept: the previous run of the first
    run is the LAST run (Python's ``values[-1]``), and a qualifying last run with the right
    constraint raises (the original's ``IndexError``) -> :class:`BaselineFailure`.
    A ``(length, start)`` seen in an earlier pass keeps its earlier score and place.
    """
    counts = np.asarray(counts)
    parts_s: list[np.ndarray] = []
    parts_l: list[np.ndarray] = []
    parts_b: list[np.ndarray] = []
    parts_k: list[np.ndarray] = []
    seen: set[tuple[int, int]] = set()
    for k in range(m, 0, -1):
        if len(seen) >= cap:
            break
        starts, lengths, vals = run_length_encode(np.minimum(counts, k))
        if phrase_length > 0:
            ok = lengths == phrase_length
        else:
            ok = lengths >= MIN_LENGTH
        q = np.flatnonzero((vals == k) & ok)
        if q.size == 0:
            continue
        if constrain_right and q[-1] == vals.shape[0] - 1:
            raise BaselineFailure(
                "the original LSTMVis fails here (IndexError, HTTP 500): the counted range ends "
                f"with a qualifying run (start {int(starts[q[-1]])}, length {int(lengths[q[-1]])}, "
                f"k={k}) and a right constraint is requested, so it reads the run after the last one"
            )
        score = np.zeros(q.size, dtype=np.int64)
        if constrain_left:
            score += k - vals[q - 1].astype(np.int64)  # q == 0 wraps to the last run, as in the original
        if constrain_right:
            score += k - vals[q + 1].astype(np.int64)
            if constrain_left:
                score -= k  # both: k - prev - next
        keep = np.ones(q.size, dtype=bool)
        for i, (s, ln) in enumerate(zip(starts[q].tolist(), lengths[q].tolist())):
            key = (ln, s)
            if key in seen:
                keep[i] = False
            else:
                seen.add(key)
        parts_s.append(starts[q][keep])
        parts_l.append(lengths[q][keep])
        parts_b.append(score[keep])
        parts_k.append(np.full(int(keep.sum()), k, dtype=np.int64))
    if not parts_s:
        empty = np.zeros(0, dtype=np.int64)
        return CandidatePool(empty, empty, empty, empty, 0)
    s_all = np.concatenate(parts_s)
    l_all = np.concatenate(parts_l)
    b_all = np.concatenate(parts_b)
    k_all = np.concatenate(parts_k)
    order = np.argsort(-b_all, kind="stable")[:cap]
    return CandidatePool(s_all[order], l_all[order], b_all[order], k_all[order], int(s_all.size))


def raw_threshold(threshold: float, transform: str) -> np.float64:
    """The value the original compares RAW stored values with: arctanh(threshold) for tanh.

    For ``threshold >= 1`` this is ``inf`` or ``nan`` and nothing is on (as in the original).
    """
    if transform == "tanh":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.float64(np.arctanh(np.float64(threshold)))
    if transform == "none":
        return np.float64(threshold)
    raise QueryError(f"transform must be 'tanh' or 'none', got {transform!r}")


def _empty_result() -> dict[str, Any]:
    return {"matches": [], "histogram": {"fuzzy": {}, "strict": {}}, "candidates": 0}


def _check_cells(cells: Iterable[int], n_cells: int) -> np.ndarray:
    out: list[int] = []
    for c in cells:
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)):
            raise QueryError(f"cell ids must be integers, got {c!r}")
        if not 0 <= int(c) < n_cells:
            raise QueryError(f"cell {int(c)} out of range: the dataset has {n_cells} cells (0..{n_cells - 1})")
        out.append(int(c))
    return np.array(sorted(set(out)), dtype=np.int64)


def count_on(ds: Any, cells: np.ndarray, steps: int, batch: int, thr: np.float64) -> np.ndarray:
    """Step 1: ``count[t]`` = selected cells with raw value >= ``thr`` at ``t < steps``.

    Reads ``ds[:steps, batch_of_cells]`` per batch of (sorted) cells, as the original does.
    """
    counts = np.zeros(steps, dtype=np.int64)
    for i in range(0, cells.size, batch):
        block = ds[:steps, cells[i : i + batch].tolist()]
        counts += np.count_nonzero(block >= thr, axis=1)
    return counts


def original_match(
    h5_path: str | PathLike[str],
    dataset: str,
    cells: Iterable[int],
    threshold: float,
    mode: Mode = "precise",
    constrain_left: bool = True,
    constrain_right: bool = False,
    phrase_length: int = 0,
    transform: str = "tanh",
    n_results: int = N_RESULTS,
) -> dict[str, Any]:
    """Match a cell set the way the original LSTMVis server does, reading HDF5 at query time.

    ``h5_path``/``dataset``: an (N, D) float matrix of RAW states (row = position, column = cell),
    ideally contiguous float32.  ``cells``: the selected cells S (0-based; duplicates ignored;
    empty -> empty result).  ``threshold``: the "activation" l on the transformed scale.
    ``mode``: ``"precise"`` (all N positions, 10,000-candidate pool; the default here, whereas the
    original API defaults to fast) or ``"fast"`` (first 500,000 positions, 1,000 candidates).
    ``constrain_left``/``constrain_right``: require the matched cells to be off at ``p - 1`` /
    ``p + L`` (at most one step, as in the original).  ``phrase_length``: 0 = any length >= 2,
    otherwise exact length.  ``n_results``: how many ranked matches to return (original: 50).

    Returns a dict:

    * ``"matches"``: up to ``n_results`` dicts ``{start, length, intersection, union, jaccard,
      missing}`` ranked by intersection desc, union asc, length desc; ties keep the candidate
      order (boundary score desc, pass k desc, start asc).  ``intersection`` = |A ∩ S| and
      ``union`` = |A ∪ S| where A = all cells on over ``[start, start+length-1]`` (and off at
      the constrained neighbours); ``missing`` = |S| - intersection; ``jaccard`` = I / U.
    * ``"histogram"``: ``{"fuzzy": {L: n}, "strict": {L: n}}`` over all scored candidates
      (before the phrase-length filter): candidates of length L, and those with missing == 0;
      lengths with no candidate are absent.
    * ``"candidates"``: the number of candidates scored (pool after the cut minus border skips).

    Original behaviour reproduced: no cache; counting over the first ``FAST_STEPS`` (fast) or all
    positions (precise) in column batches of ``FAST_BATCH`` / ``BATCH_BUDGET // N``; relaxation
    ``k = m .. 1`` with the pool cap checked only before a pass; candidates at ``p < 1`` or with
    ``p + L + 1 > N`` are skipped (the "border handling hack"); each other candidate is rescored
    by reading rows ``p-1 .. p+L`` of ALL cells.  Within a pass the original's order is a Python
    set's hash order (arbitrary); this re-implementation uses ascending start instead.

    Raises :class:`BaselineFailure` where the original crashes (precise mode with
    ``N > BATCH_BUDGET / 2``; right constraint with a qualifying final run), ``QueryError`` for
    bad parameters or cells and ``InputError`` for a missing or non-2-D dataset.
    """
    if mode not in ("precise", "fast"):
        raise QueryError(f"mode must be 'precise' or 'fast', got {mode!r}")
    if isinstance(phrase_length, bool) or not isinstance(phrase_length, (int, np.integer)) or phrase_length < 0:
        raise QueryError(f"phrase_length must be an integer >= 0, got {phrase_length!r}")
    if isinstance(n_results, bool) or not isinstance(n_results, (int, np.integer)) or n_results < 0:
        raise QueryError(f"n_results must be an integer >= 0, got {n_results!r}")
    thr = raw_threshold(float(threshold), transform)
    left = bool(constrain_left)
    right = bool(constrain_right)

    try:
        h5 = h5py.File(h5_path, "r")
    except OSError as exc:
        raise InputError(f"cannot open HDF5 file {str(h5_path)!r}: {exc}") from exc
    with h5:
        if dataset not in h5 or not isinstance(h5[dataset], h5py.Dataset):
            raise InputError(f"{str(h5_path)!r} has no dataset {dataset!r}")
        ds = h5[dataset]
        if ds.ndim != 2:
            raise InputError(f"dataset {dataset!r} in {str(h5_path)!r} must be 2-D (N x D), has shape {ds.shape}")
        n_pos, n_cells = (int(x) for x in ds.shape)
        sel = _check_cells(cells, n_cells)
        m = int(sel.size)

        steps, batch, cap = _mode_limits(mode, n_pos)
        if m == 0 or steps == 0:
            return _empty_result()

        counts = count_on(ds, sel, steps, batch, thr)
        pool = candidate_pool(counts, m, cap, left, right, int(phrase_length))
        scored = _rescore(ds, pool, sel, thr, left, right)
    return _ranked(scored, m, int(phrase_length), int(n_results))


def _mode_limits(mode: Mode, n_pos: int) -> tuple[int, int, int]:
    """(positions counted, column batch, candidate pool cap) of a mode; the original's crash in
    precise mode on a long corpus raises :class:`BaselineFailure`."""
    if mode == "fast":
        return min(n_pos, FAST_STEPS), FAST_BATCH, FAST_POOL
    batch = max(1, BATCH_BUDGET // n_pos) if n_pos > 0 else 1
    if n_pos > 0 and batch < 2:
        raise BaselineFailure(
            f"the original LSTMVis precise mode crashes for N = {n_pos:,} positions "
            f"(> {BATCH_BUDGET // 2:,}): its column batch floor({BATCH_BUDGET:,}/N) drops to one "
            "cell, the count vector stays 2-D and it tries to allocate an N x N boolean array "
            f"({n_pos * n_pos / 2**40:.1f} TiB); not attempted"
        )
    return n_pos, batch, PRECISE_POOL


def _rescore(ds: h5py.Dataset, pool: CandidatePool, sel: np.ndarray, thr: float, left: bool,
             right: bool) -> list[tuple[int, int, int, int]]:
    """(start, length, I, U) of each candidate, in candidate order, read from rows p-1 .. p+L of
    all cells; candidates at the borders are skipped as the original does."""
    n_pos, n_cells = (int(x) for x in ds.shape)
    m = int(sel.size)
    in_sel = np.zeros(n_cells, dtype=bool)
    in_sel[sel] = True
    scored: list[tuple[int, int, int, int]] = []
    for p, ln in zip(pool.starts.tolist(), pool.lengths.tolist()):
        if p < 1 or p + ln + 1 > n_pos:
            continue  # the original's "border handling hack"
        on = ds[p - 1 : p + ln + 1, :] >= thr  # rows p-1 .. p+L, all cells
        active = on[1 : ln + 1].all(axis=0)
        if left:
            active &= ~on[0]
        if right:
            active &= ~on[ln + 1]
        inter = int(np.count_nonzero(active & in_sel))
        union = int(np.count_nonzero(active)) + m - inter
        scored.append((p, ln, inter, union))
    return scored


def _ranked(scored: list[tuple[int, int, int, int]], m: int, phrase_length: int, n_results: int) -> dict[str, Any]:
    """The result dict: the ranked matches and the histogram over all scored candidates."""
    fuzzy = Counter(ln for _, ln, _, _ in scored)
    strict = Counter(ln for _, ln, inter, _ in scored if inter == m)
    kept = scored if phrase_length <= 1 else [r for r in scored if r[1] == phrase_length]
    ranked = sorted(kept, key=lambda r: (-r[2], r[3], -r[1]))[:n_results]
    matches = [
        {
            "start": p,
            "length": ln,
            "intersection": inter,
            "union": union,
            "jaccard": inter / union,
            "missing": m - inter,
        }
        for p, ln, inter, union in ranked
    ]
    return {
        "matches": matches,
        "histogram": {"fuzzy": dict(sorted(fuzzy.items())), "strict": dict(sorted(strict.items()))},
        "candidates": len(scored),
    }
