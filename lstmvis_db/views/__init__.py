"""Pure view computations of the app (numpy/pandas only): what each LSTMVis view shows.

Nothing here touches Streamlit or the database; the app's glue (``lstmvis_ui``) fetches arrays
from a :class:`lstmvis_db.Project` and hands them to these functions, and ``charts`` draws the
frames they return.  The view state that lives in the URL (spec §5.5) is encoded and decoded
here too, so a link round-trips without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------- colours (spec §6)

SEQ_LOW, SEQ_HIGH = "#f7f7f7", "#0571b0"
DIV_LOW, DIV_MID, DIV_HIGH = "#ca0020", "#f7f7f7", "#0571b0"
WORD_HIGH = "#1399e4"
#: 20 categorical colours (d3 category20), then greys #333 -> #eee for further categories.
CATEGORICAL = [
    "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896",
    "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7",
    "#bcbd22", "#dbdb8d", "#17becf", "#9edae5",
]


def category_colors(categories: Sequence[str]) -> dict[str, str]:
    """A fixed colour per category (in the track's category order), the same in every view."""
    cats = list(dict.fromkeys(str(c) for c in categories))
    out = {}
    extra = max(len(cats) - len(CATEGORICAL), 0)
    for i, c in enumerate(cats):
        if i < len(CATEGORICAL):
            out[c] = CATEGORICAL[i]
        else:
            j = i - len(CATEGORICAL)
            g = int(0x33 + (0xEE - 0x33) * (j / max(extra - 1, 1)))
            out[c] = f"#{g:02x}{g:02x}{g:02x}"
    return out


def scalar_scale(lo: float | None, hi: float | None) -> tuple[list[float], list[str]]:
    """Domain and range of a scalar track: white->blue, or red-white-blue if it straddles 0."""
    lo = 0.0 if lo is None or not math.isfinite(lo) else float(lo)
    hi = 1.0 if hi is None or not math.isfinite(hi) else float(hi)
    if hi <= lo:
        hi = lo + 1.0
    if lo < 0 < hi:
        m = max(-lo, hi)
        return [-m, 0.0, m], [DIV_LOW, DIV_MID, DIV_HIGH]
    return [lo, hi], [SEQ_LOW, SEQ_HIGH]


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
    """V1 length filter (spec §4.6): values below the threshold become 0, then every on-run of
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
    """contract §2 selection over a window of values (rows = positions lo..): on over
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
    """Per step: how many of ``cells`` are on (spec §4.4 word background)."""
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


# --------------------------------------------------------------------------- URL state (spec §5.5)


@dataclass
class ViewState:
    """Everything a link must reproduce.  ``brush`` is absolute (start, end), inclusive."""

    project: str = ""
    source: str = ""
    pos: int = 0
    threshold: float = 0.3
    brush: tuple[int, int] | None = None
    pad_left: int = 1
    pad_right: int = 0
    cells: list[int] = field(default_factory=list)
    excluded: list[int] = field(default_factory=list)
    tracks: list[str] = field(default_factory=list)
    low_pass: int = 0
    width: int = 30
    cw: int = 30
    mask: bool = True
    constrain_left: bool = True
    constrain_right: bool = False
    length: int = 0
    pool: int = 0
    limit: int = 50
    queried: bool = False
    pinned: list[int] = field(default_factory=list)
    heatmaps: list[str] = field(default_factory=lambda: ["count"])
    map_to: str = "count"
    # --- align (issue 12): the match set aligned under the results, and the saved hypothesis shown
    align_set: str = "top"
    hypothesis: str = ""
    # --- end align

    def query_cells(self) -> list[int]:
        """The hypothesis sent to matching: selected minus excluded."""
        ex = set(self.excluded)
        return [c for c in self.cells if c not in ex]


_URL_KEYS = {  # field -> URL key (V1/V2 names where they exist)
    "project": "project", "source": "source", "pos": "pos", "threshold": "threshold",
    "brush": "brush", "cells": "cells", "excluded": "ex_cell", "tracks": "meta",
    "low_pass": "low_pass", "width": "width", "cw": "cw", "mask": "mask", "constrain_left": "cl",
    "constrain_right": "cr", "length": "length", "pool": "pool", "limit": "limit",
    "queried": "queried", "pinned": "pinned", "heatmaps": "hm", "map_to": "map",
    "align_set": "aset", "hypothesis": "hyp",  # align (issue 12)
}


def _ints(text: str) -> list[int]:
    return [int(x) for x in str(text).replace("..", "").split(",") if x.strip() != ""]


def encode_state(state: ViewState) -> dict[str, str]:
    """URL query parameters for a state; defaults are left out to keep links short."""
    default = ViewState()
    out: dict[str, str] = {}
    for f in fields(ViewState):
        v, d = getattr(state, f.name), getattr(default, f.name)
        if f.name in ("pad_left", "pad_right"):
            continue
        if v == d and f.name not in ("project", "source", "pos", "threshold"):
            continue
        key = _URL_KEYS[f.name]
        if isinstance(v, bool):
            out[key] = "1" if v else "0"
        elif f.name == "brush":
            out[key] = f"{v[0]},{v[1]}"
        elif f.name in ("tracks", "heatmaps"):
            out[key] = ",".join(quote(str(x), safe="") for x in v)
        elif isinstance(v, list):
            out[key] = ",".join(str(x) for x in v)
        elif isinstance(v, float):
            out[key] = f"{v:.6g}"
        else:
            out[key] = str(v)
    if (state.pad_left, state.pad_right) != (default.pad_left, default.pad_right):
        out["padding"] = f"{state.pad_left},{state.pad_right}"
    return out


def decode_state(params: Mapping[str, str], base: ViewState | None = None) -> ViewState:
    """A state from URL query parameters; unreadable values keep ``base``'s (or the default)."""
    st = ViewState(**asdict(base)) if base is not None else ViewState()
    if st.brush is not None:
        st.brush = tuple(st.brush)  # type: ignore[assignment]
    inv = {v: k for k, v in _URL_KEYS.items()}
    for key, raw in params.items():
        name = inv.get(key)
        try:
            if key == "padding":
                a, b = _ints(raw)[:2]
                st.pad_left, st.pad_right = max(a, 0), max(b, 0)
            elif name is None:
                continue
            elif name == "brush":
                vals = _ints(raw)
                st.brush = (min(vals[:2]), max(vals[:2])) if len(vals) >= 2 else None
            elif name in ("cells", "excluded", "pinned"):
                setattr(st, name, sorted(set(_ints(raw))))
            elif name in ("tracks", "heatmaps"):
                setattr(st, name, [unquote(x) for x in str(raw).replace("..", "").split(",") if x])
            elif name in ("mask", "constrain_left", "constrain_right", "queried"):
                setattr(st, name, str(raw).lower() in ("1", "true", "yes", "on"))
            elif name == "threshold":
                t = float(raw)
                if math.isfinite(t):
                    st.threshold = t
            elif name in ("project", "source", "map_to", "align_set", "hypothesis"):  # align: +2 names
                setattr(st, name, str(raw))
            else:
                setattr(st, name, max(int(float(raw)), 0))
        except (ValueError, TypeError, IndexError):
            continue
    return st


# --------------------------------------------------------------------------- SQL console

PUBLIC_TABLES = ("project", "sources", "documents", "tokens", "states", "tracks", "annotations", "predictions")


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def example_queries(source: str, cell: int, threshold: float, brush: tuple[int, int] | None,
                    pad_left: int, pad_right: int, track: str | None) -> dict[str, str]:
    """Example SQL for the console, filled in with the current view's values."""
    a, b = brush if brush is not None else (10, 12)
    src = _lit(source)
    out: dict[str, str] = {}
    if track:
        out[f"Mean of cell {cell} per {track} label"] = (
            f"-- mean activation of cell {cell} for each label of the '{track}' track\n"
            "SELECT a.label, avg(s.value) AS mean_value, count(*) AS n\n"
            "FROM states s\n"
            f"JOIN annotations a ON a.pos = s.pos AND a.track = {_lit(track)}\n"
            f"WHERE s.source = {src} AND s.cell = {int(cell)}\n"
            "GROUP BY a.label\nORDER BY mean_value DESC")
    out[f"Top contexts of cell {cell}"] = (
        f"-- the 20 positions where cell {cell} is highest, with the 5 tokens before them\n"
        "SELECT s.pos, s.value, string_agg(t.token, ' ' ORDER BY t.pos) AS context\n"
        f"FROM (SELECT pos, value FROM states WHERE source = {src} AND cell = {int(cell)}\n"
        "      ORDER BY value DESC LIMIT 20) s\n"
        "JOIN tokens t ON t.pos BETWEEN s.pos - 5 AND s.pos\n"
        "GROUP BY s.pos, s.value\nORDER BY s.value DESC")
    out["The selection rule as SQL"] = (
        f"-- cells on (>= {threshold:g}) at every position of [{a}, {b}] and off in the padding\n"
        f"-- ({pad_left} step(s) before, {pad_right} after); same answer as the Select view\n"
        "SELECT cell\nFROM states\n"
        f"WHERE source = {src} AND pos BETWEEN {a - pad_left} AND {b + pad_right}\n"
        "  AND pos BETWEEN (SELECT first_pos FROM documents d JOIN tokens t USING (doc) "
        f"WHERE t.pos = {a})\n"
        f"              AND (SELECT last_pos FROM documents d JOIN tokens t USING (doc) WHERE t.pos = {a})\n"
        "GROUP BY cell\n"
        f"HAVING bool_and(CASE WHEN pos BETWEEN {a} AND {b} THEN value >= {threshold!r} "
        f"ELSE value < {threshold!r} END)\nORDER BY cell")
    # --- align (issue 12): match results as SQL tables (registered by the app's SQL page)
    if track:
        out[f"Current matches with their {track} labels"] = (
            f"-- the Match page's current results joined with the '{track}' annotations inside each match\n"
            "SELECT m.rank, m.start, m.length, a.label, count(*) AS positions\n"
            "FROM current_matches m\n"
            f"JOIN annotations a ON a.track = {_lit(track)} AND a.pos BETWEEN m.start AND m.start + m.length - 1\n"
            "GROUP BY ALL\nORDER BY m.rank, positions DESC")
    out["Saved hypotheses and their matches' text"] = (
        "-- every saved hypothesis (workspace) with the tokens of its matches\n"
        "SELECT h.name, m.rank, m.start, m.length, string_agg(t.token, ' ' ORDER BY t.pos) AS text\n"
        "FROM hypotheses h\nJOIN hypothesis_matches m ON m.hypothesis = h.name\n"
        "JOIN tokens t ON t.pos BETWEEN m.start AND m.start + m.length - 1\n"
        "GROUP BY ALL\nORDER BY h.name, m.rank")
    # --- end align
    out["Most frequent tokens"] = (
        "SELECT token, count(*) AS n\nFROM tokens\nGROUP BY token\nORDER BY n DESC\nLIMIT 30")
    return out
