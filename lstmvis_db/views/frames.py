"""What each LSTMVis view computes from the state values, and the tidy frames the charts draw
(numpy and pandas only): the selection over a window, the length filter, on-counts, on-ranges,
the Jaccard preview, the hypothesis signature, brush snapping, and the frames of the pattern
plot, word strip, result matrix, top-k rows, length histogram and match table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["display_token", "histogram_frame", "join_tokens", "lines_frame", "low_pass", "matches_table",
           "matrix_frame", "on_counts", "on_ranges", "select_in_window", "signature", "snap_brush", "step_jaccard",
           "topk_frame", "track_fields", "words_frame", "y_domain"]

# --------------------------------------------------------------------------- state values


def y_domain(values: np.ndarray, unsigned: bool = False) -> tuple[float, float]:
    """Plot y-range: symmetric +-max|v| if any value is negative (and not unsigned), else [0, max]."""
    if values.size == 0:
        return (0.0, 1.0)
    vmax = float(np.nanmax(np.abs(values)))
    vmax = vmax if vmax > 0 else 1.0
    if not unsigned and float(np.nanmin(values)) < 0:
        return (-vmax, vmax)
    return (0.0, vmax)


def low_pass(values: np.ndarray, threshold: float, min_length: int) -> np.ndarray:
    """V1 length filter (docs/app.md §Length filter): values below the threshold become 0, then every on-run of
    length <= ``min_length`` is zeroed.  ``min_length`` 0 returns the values unchanged."""
    if min_length <= 0:
        return values
    out = np.where(values >= threshold, values, 0.0).astype(values.dtype, copy=True)
    on = out >= threshold if threshold > 0 else out != 0
    n = on.shape[0]
    for c in range(on.shape[1]):
        col = on[:, c]
        if not col.any():
            continue
        d = np.diff(np.concatenate([[0], col.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        for s, e in zip(starts, ends, strict=True):
            if e - s <= min_length:
                out[s:min(e, n), c] = 0.0
    return out


def select_in_window(values: np.ndarray, lo: int, start: int, end: int, threshold: float,
                     left_off: int, right_off: int, doc_lo: int | None = None,
                     doc_hi: int | None = None) -> list[int]:
    """docs/semantics.md §Matching selection over a window of values (rows = positions lo..): on over
    [start, end], off over the padding; padding outside the window/document is ignored."""
    n = values.shape[0]
    a = max(start - left_off, lo, doc_lo if doc_lo is not None else lo)
    b = min(end + right_off, lo + n - 1, doc_hi if doc_hi is not None else lo + n - 1)
    if start < lo or end > lo + n - 1 or start > end:
        return []
    on = values[a - lo:b - lo + 1] >= threshold
    inside = np.zeros(b - a + 1, dtype=bool)
    inside[start - a:end - a + 1] = True
    ok = on[inside].all(axis=0) & ~on[~inside].any(axis=0)
    return [int(c) for c in np.flatnonzero(ok)]


def on_counts(values: np.ndarray, cells: Sequence[int], threshold: float) -> np.ndarray:
    """Per step: how many of ``cells`` are on (docs/app.md §Word shading and masks word background)."""
    if len(cells) == 0:
        return np.zeros(values.shape[0], dtype=np.int64)
    return (values[:, list(cells)] >= threshold).sum(axis=1).astype(np.int64)


def step_jaccard(values: np.ndarray, cells: Sequence[int], threshold: float) -> np.ndarray:
    """V1 mini preview: per step, Jaccard(cells on at t, query cells)."""
    on = values >= threshold
    q = np.zeros(values.shape[1], dtype=bool)
    q[list(cells)] = True
    inter = (on & q).sum(axis=1)
    union = (on | q).sum(axis=1)
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def on_ranges(values: np.ndarray, lo: int, cells: Sequence[int], threshold: float,
              anchor: int | None = None, max_cells: int = 21) -> pd.DataFrame:
    """V1 cell-by-cell range view: the on-runs of each cell in the window.

    Columns cell, start, end (absolute positions, inclusive), order (row of the cell).  Cells are
    ordered by the run containing ``anchor`` (start ascending, end descending), then by id.
    """
    rows = []
    keys = {}
    for c in list(cells)[:max_cells]:
        col = values[:, c] >= threshold
        d = np.diff(np.concatenate([[0], col.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1
        key: tuple[float, int, int] = (math.inf, 0, int(c))
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            rows.append((int(c), lo + s, lo + e))
            if anchor is not None and lo + s <= anchor <= lo + e:
                key = (float(lo + s), -(lo + e), int(c))
        keys[int(c)] = key
    order = {c: i for i, c in enumerate(sorted(keys, key=lambda c: keys[c]))}
    df = pd.DataFrame(rows, columns=["cell", "start", "end"])
    df["order"] = df["cell"].map(order).astype("int64") if len(df) else pd.Series(dtype="int64")
    return df


def signature(start: int, end: int, left_off: int, right_off: int) -> pd.DataFrame:
    """The step-shaped off/on/off signature of the hypothesis: columns x, level (0 or 1)."""
    pts = [(start - left_off - 0.5, 0), (start - 0.5, 0), (start - 0.5, 1), (end + 0.5, 1),
           (end + 0.5, 0), (end + right_off + 0.5, 0)]
    return pd.DataFrame(pts, columns=["x", "level"])


def snap_brush(interval: Sequence[float], lo: int, hi: int) -> tuple[int, int] | None:
    """Positions covered by a brushed x-interval (tokens whose centre lies inside; at least the
    token nearest to the middle), clipped to [lo, hi]."""
    if interval is None or len(interval) != 2:
        return None
    a, b = sorted(float(x) for x in interval)
    s, e = math.ceil(a), math.floor(b)
    if s > e:
        s = e = round((a + b) / 2)
    s, e = max(s, lo), min(e, hi)
    if s > e:
        return None
    return int(s), int(e)


# --------------------------------------------------------------------------- frames for charts


def lines_frame(values: np.ndarray, lo: int, selected: Sequence[int], excluded: Sequence[int] = ()) -> pd.DataFrame:
    """Long frame for the pattern plot: pos, cell, value, status (selected/excluded/other).

    Cells whose values are all zero (e.g. removed by the length filter) are dropped."""
    n = values.shape[0]
    keep = np.flatnonzero(np.any(values != 0, axis=0)) if n else np.arange(0)
    sub = values[:, keep]
    df = pd.DataFrame({
        "pos": np.repeat(np.arange(lo, lo + n), len(keep)),
        "cell": np.tile(keep, n),
        "value": sub.reshape(-1).astype(np.float64),
    })
    sel, exc = {int(c) for c in selected}, {int(c) for c in excluded}
    df["status"] = np.where(df["cell"].isin(sel), np.where(df["cell"].isin(exc), "excluded", "selected"), "other")
    return df


def words_frame(tokens: pd.DataFrame, counts: np.ndarray | None = None) -> pd.DataFrame:
    """pos, token (display form), count (selected cells on) for the word strip."""
    df = tokens[["pos", "token"]].copy()
    df["label"] = df["token"].map(display_token)
    df["count"] = np.zeros(len(df), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
    return df


def display_token(tok: object) -> str:
    """Visible form of a token: whitespace shown as symbols."""
    s = str(tok)
    if s == " ":
        return "␣"
    return s.replace("\n", "⏎").replace("\t", "⇥")


def track_fields(tracks: Sequence[str]) -> dict[str, str]:
    """Safe column names for track values in chart frames (track names may hold dots, spaces, or
    collide with the frame's own columns such as ``pos``)."""
    return {t: f"track_{i}" for i, t in enumerate(tracks)}


def matrix_frame(details: pd.DataFrame) -> pd.DataFrame:
    """Result matrix cells from ``Project.match_details``: adds rank (1-based) and label."""
    df = details.copy()
    df["rank"] = df["row"] + 1
    df["label"] = df["token"].map(display_token)
    return df


def topk_frame(pred: pd.DataFrame) -> pd.DataFrame:
    """Top-k rows under the words: pos, rank, token label, score."""
    df = pred.copy()
    df["label"] = df["token"].map(display_token)
    return df


def histogram_frame(hist: Mapping[str, Mapping]) -> pd.DataFrame:
    """Length histogram: length, kind (all/strict), n; lengths >= 1 as returned."""
    rows = []
    for kind, key in (("all", "fuzzy"), ("strict", "strict")):
        for ln, n in (hist.get(key) or {}).items():
            rows.append((int(ln), kind, int(n)))
    return pd.DataFrame(rows, columns=["length", "kind", "n"]).sort_values(["length", "kind"], ignore_index=True)


def matches_table(matches: Sequence[Mapping], details: pd.DataFrame) -> pd.DataFrame:
    """One row per match: rank, start, length, jaccard, missing, intersection, union, text."""
    df = pd.DataFrame(list(matches), columns=["start", "length", "intersection", "union", "jaccard", "missing"])
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    if len(df) and len(details):
        inm = details[details["in_match"]]
        text = inm.groupby("row")["token"].apply(lambda t: join_tokens(list(t)))
        df["text"] = df.index.map(text).fillna("")
    else:
        df["text"] = ""
    return df


def join_tokens(tokens: Sequence[str]) -> str:
    """Join tokens for display: no spaces between single characters, spaces otherwise."""
    toks = [str(t) for t in tokens]
    if toks and all(len(t) == 1 for t in toks):
        return "".join(toks)
    return " ".join(toks)
