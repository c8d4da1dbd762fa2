"""The frames of the Select chart (:mod:`lstmvis_db.views.select_chart`) from a window of values:
slot coordinates (x = position - window start), displayed values, and everything the brushed
range adds, clipped to the window so that a range elsewhere in the text never pulls the view
off-screen (issue 11, item 1).  numpy and pandas only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from lstmvis_db.views import frames
from lstmvis_db.views.scaling import DisplayScale
from lstmvis_db.views.select_chart import SelectParts, TrackRow

__all__ = ["clip_range", "pad_from_slot", "select_parts", "slot_track", "tooltip_token"]


def tooltip_token(tok: object) -> str:
    """A token as a tooltip shows it: blank tokens named, never an empty string or "null"."""
    if tok is None or (isinstance(tok, float) and np.isnan(tok)):
        return "(none)"
    s = str(tok)
    names = {" ": "␣ (space)", "\n": "⏎ (newline)", "\t": "⇥ (tab)", "": "(empty)"}
    if s in names:
        return names[s]
    return frames.display_token(s) if s.strip() == "" or "\n" in s or "\t" in s else s


def clip_range(brush: tuple[int, int] | None, lo: int, hi: int) -> tuple[int, int] | None:
    """The part of the brushed range inside the window [lo, hi], or None."""
    if brush is None or brush[1] < lo or brush[0] > hi:
        return None
    return max(brush[0], lo), min(brush[1], hi)


def pad_from_slot(slot: int, lo: int, brush: tuple[int, int], pads: tuple[int, int]) -> tuple[int, int]:
    """New (left, right) padding from a press on the signature at window slot ``slot``: left of
    the range sets the left padding, right of it the right one; inside keeps both."""
    pos = lo + int(slot)
    left, right = pads
    if pos < brush[0]:
        left = brush[0] - pos
    elif pos > brush[1]:
        right = pos - brush[1]
    return min(left, 20), min(right, 20)


MAX_SPARSE_LINES = 200  # a sparse source's Select chart draws at most this many units


def sparse_line_cells(values: np.ndarray, keep: Sequence[int], limit: int = MAX_SPARSE_LINES) -> tuple[np.ndarray, int]:
    """The units a sparse source's chart draws for the window ``values``: those non-zero
    somewhere in it, cut to the ``limit`` with the largest maximum |value| there (ties: lower
    unit first) when there are more, plus the ``keep`` units (selected, queried); and how many
    units are non-zero in the window."""
    peak = np.abs(values).max(axis=0) if len(values) else np.zeros(values.shape[1])
    active = np.flatnonzero(peak > 0)
    if len(active) > limit:
        order = np.lexsort((active, -peak[active]))
        chosen = np.sort(active[order[:limit]])
    else:
        chosen = active
    extra = np.asarray([int(c) for c in keep if 0 <= int(c) < values.shape[1]], dtype=np.int64)
    return np.union1d(chosen, extra).astype(np.int64), int(len(active))


def _lines(values: np.ndarray, lo: int, cells: Sequence[int], excluded: Sequence[int], scale: DisplayScale,
           threshold: float, shown: np.ndarray | None = None) -> pd.DataFrame:
    """The plot's lines: ``value`` displayed, ``raw`` stored, ``thr`` the threshold on the line's
    own displayed scale (the same for every cell unless the scaling is per cell).  ``shown``: only
    these units' lines (a wide sparse source); the others stay out of the frame."""
    if shown is not None:
        sub = np.zeros((values.shape[0], 0), dtype=values.dtype) if not len(shown) else values[:, shown]
        df = frames.lines_frame(sub, lo, [i for i, c in enumerate(shown) if c in set(cells)],
                                [i for i, c in enumerate(shown) if c in set(excluded)])
        df["cell"] = shown[df["cell"].to_numpy()] if len(df) else df["cell"]
    else:
        df = frames.lines_frame(values, lo, cells, excluded)
    df["raw"] = df["value"]
    cell = df["cell"].to_numpy()
    df["value"] = scale.apply(df["raw"].to_numpy(), cell)
    df["thr"] = scale.cell_threshold(threshold, cell)
    df["x"] = df["pos"] - lo
    return df


def _brush_parts(brush: tuple[int, int], lo: int, hi: int, pads: tuple[int, int]) -> dict:
    """Band, signature and handles of the brushed range, in slots, clipped to the window."""
    n = hi - lo + 1
    inside = clip_range(brush, lo, hi)
    band = pd.DataFrame({"x0": [inside[0] - lo - 0.5], "x1": [inside[1] - lo + 0.5]}) if inside else None
    sig = frames.signature(brush[0] - lo, brush[1] - lo, pads[0], pads[1])
    sig = sig.assign(x=sig["x"].clip(-0.5, n - 0.5))
    if sig["x"].max() <= -0.5 or sig["x"].min() >= n - 0.5:  # the range and its padding lie outside the window
        sig = sig.iloc[:0]
    ends = [(brush[0] - lo - pads[0] - 0.5, "left padding"), (brush[1] - lo + pads[1] + 0.5, "right padding")]
    handles = pd.DataFrame([(x, side) for x, side in ends if -0.5 <= x <= n - 0.5], columns=["x", "side"])
    marks = [(float(x), True) for x in (brush[0] - lo - 0.5, brush[1] - lo + 0.5) if -0.5 <= x <= n - 0.5]
    return {"band": band, "signature": sig, "handles": handles, "marks": marks}


def select_parts(values: np.ndarray, lo: int, hi: int, tokens: pd.DataFrame, scale: DisplayScale, threshold: float,
                 cells: Sequence[int], excluded: Sequence[int], query: Sequence[int],
                 brush: tuple[int, int] | None, pads: tuple[int, int], pos: int | None, mask: bool,
                 shown: np.ndarray | None = None) -> SelectParts:
    """The Select chart's frames for the window [lo, hi] (``values`` rows = positions lo..hi, raw).

    ``threshold`` is raw (what selects); lines and the threshold rule are in displayed units.
    ``shown``: draw only these cells' lines (``sparse_line_cells``), the rest as before."""
    n = hi - lo + 1
    counts = frames.on_counts(values, query, threshold)
    words = frames.words_frame(tokens, counts).assign(x=lambda d: d["pos"] - lo)
    words["token"] = words["token"].map(tooltip_token)
    thr = pd.DataFrame({"value": [scale.show(threshold)], "raw": [float(threshold)]})
    if scale.per_cell:  # one threshold is a different height for each cell: no single line
        thr = thr.iloc[:0]
    marks = [(float(pos - lo - 0.5), False)] if pos is not None and lo <= pos <= hi else []
    extra: dict = {}
    if brush is not None:
        extra = _brush_parts(brush, lo, hi, pads)
        marks += extra.pop("marks")
    parts = SelectParts(n=n, n_cells=int(values.shape[1]), lines=_lines(values, lo, cells, excluded, scale, threshold,
                                                                         shown),
                        words=words, threshold=thr, per_cell=scale.per_cell,
                        y_domain=scale.y_domain, axis_title=scale.axis_title(), mask=mask,
                        marks=pd.DataFrame(marks, columns=["x", "strong"]), **extra)
    if query:
        anchor = brush[0] if brush else None
        r = frames.on_ranges(values, lo, query, threshold, anchor)
        r = r.assign(x0=r["start"] - lo - 0.45, x1=r["end"] - lo + 0.45)
        jac = pd.DataFrame({"x": np.arange(n), "pos": np.arange(lo, hi + 1),
                            "jaccard": frames.step_jaccard(values, query, threshold)})
        parts = replace(parts, ranges=r, jaccard=jac)
    return parts


def slot_track(name: str, kind: str, frame: pd.DataFrame, lo: int, counts: pd.DataFrame, **kw) -> TrackRow:
    """A track's rows in slots, with the count of selected cells on merged in (for the mask).

    Missing labels become "(none)", so no tooltip says "null"."""
    d = frame.merge(counts[["pos", "count"]], on="pos", how="left").assign(x=lambda f: f["pos"] - lo)
    d["count"] = d["count"].fillna(0).astype("int64")
    if "label" in d:
        d["label"] = d["label"].astype("object").where(d["label"].notna(), "(none)").map(str)
    if "token" in d:
        d["token"] = d["token"].map(tooltip_token)
    colors = kw.get("colors") or {}
    if "label" in d and kind != "topk":  # labels readable on dark colours
        d["ink"] = d["label"].map(lambda lab: "white" if _dark(colors.get(lab, "#ffffff")) else "#222222")
    return TrackRow(name=name, kind=kind, frame=d, **kw)


def _dark(hex_color: str) -> bool:
    """True for a colour whose relative luminance is below one half (white text reads on it)."""
    h = hex_color.lstrip("#")
    if len(h) != 6:
        return False
    r, g, b = (int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5
