"""The view state that lives in the URL (docs/app.md §The view state in the URL): :class:`ViewState` and its
encoding into and decoding from query parameters, so a link round-trips without a browser.  Standard
library only."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from urllib.parse import quote, unquote

__all__ = ["LIMITS", "ViewState", "decode_state", "encode_state"]


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
    # the match set aligned under the results, and the saved hypothesis shown (align)
    align_set: str = "top"
    hypothesis: str = ""
    # the tracks and conditions the align tests are over (empty: every categorical track / all four)
    align_tracks: list[str] = field(default_factory=list)
    align_conditions: list[str] = field(default_factory=list)
    # other sources shown side by side in Select, and each one's threshold (same order)
    layers: list[str] = field(default_factory=list)
    layer_thresholds: list[float] = field(default_factory=list)
    # the display scaling chosen per source (views.scaling.MODES; a source not listed: its default)
    scaling: dict[str, str] = field(default_factory=dict)
    # Match: the field drawn as a dot on each word of the result matrix (V1 circle mapping; "" = none)
    circle: str = ""

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
    "align_set": "aset", "hypothesis": "hyp", "layers": "layers", "layer_thresholds": "layer_t",
    "scaling": "scale", "circle": "circle", "align_tracks": "atracks", "align_conditions": "aconds",
}
ALIGN_CONDITIONS = ("contains", "covers", "starts", "ends")  # analysis.spannull.CONDITIONS (as above)
SCALING_MODES = ("none", "source", "cell", "tanh")  # views.scaling.MODES (this module is standard library only)


#: the range of each integer field, as the app's widgets offer it; a URL value outside is clamped
#: into it (a link cannot ask for a 100,000-token window or 10^9 results)
LIMITS: dict[str, tuple[int, int]] = {
    "width": (10, 200), "cw": (4, 60), "pad_left": (0, 20), "pad_right": (0, 20), "low_pass": (0, 20),
    "length": (0, 500), "pool": (0, 1_000_000), "limit": (1, 500),
}


def _clamped(name: str, v: int) -> int:
    lo, hi = LIMITS.get(name, (0, None))  # type: ignore[arg-type]
    return max(lo, v) if hi is None else min(max(lo, v), hi)


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
        elif f.name in ("tracks", "heatmaps", "layers", "align_tracks", "align_conditions"):
            out[key] = ",".join(quote(str(x), safe="") for x in v)
        elif f.name == "scaling":
            out[key] = ",".join(f"{quote(str(k), safe='')}:{m}" for k, m in sorted(v.items()))
        elif f.name == "layer_thresholds":
            out[key] = ",".join(f"{float(x):.6g}" for x in v)
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
                st.pad_left, st.pad_right = _clamped("pad_left", a), _clamped("pad_right", b)
            elif name is None:
                continue
            elif name == "brush":
                vals = _ints(raw)
                st.brush = (min(vals[:2]), max(vals[:2])) if len(vals) >= 2 else None
            elif name in ("cells", "excluded", "pinned"):
                setattr(st, name, sorted(set(_ints(raw))))
            elif name in ("tracks", "heatmaps", "layers", "align_tracks"):
                setattr(st, name, [unquote(x) for x in str(raw).replace("..", "").split(",") if x])
            elif name == "align_conditions":
                st.align_conditions = [c for c in ALIGN_CONDITIONS if c in str(raw).split(",")]
            elif name == "scaling":
                pairs = (x.rsplit(":", 1) for x in str(raw).split(",") if ":" in x)
                st.scaling = {unquote(k): m for k, m in pairs if k and m in SCALING_MODES}
            elif name == "layer_thresholds":
                levels = [float(x) for x in str(raw).split(",") if x.strip()]
                st.layer_thresholds = levels if all(map(math.isfinite, levels)) else []
            elif name in ("mask", "constrain_left", "constrain_right", "queried"):
                setattr(st, name, str(raw).lower() in ("1", "true", "yes", "on"))
            elif name == "threshold":
                t = float(raw)
                if math.isfinite(t):
                    st.threshold = t
            elif name in ("project", "source", "map_to", "align_set", "hypothesis", "circle"):
                setattr(st, name, str(raw))
            else:
                setattr(st, name, _clamped(name, int(float(raw))))
        except (ValueError, TypeError, IndexError):
            continue
    return st
