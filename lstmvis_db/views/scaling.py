"""Per-source display scaling of the Select plot (docs/app.md §Display scaling).

Cell states (``layer1_c`` ...) are unbounded (±40 on the demos) while hidden states and gates lie
in [-1, 1], and within one cell-state source a few cells can be ten times larger than the rest.
The user picks, per source, how the plot maps a stored value to the y-axis (:data:`MODES`):

``none``
    as stored; the y-axis spans the sample's extremes.
``source``
    divided by the source's own 99.5th percentile of |value| (one factor for all its cells).
``cell``
    each cell divided by its own 99.5th percentile of |value|, so a small cell's pattern is as
    tall as a large one's.  A single threshold is then a different height for every cell: the
    threshold line and its handle are not drawn, the control works in stored units and every
    selected line's tooltip shows the threshold on that cell's own scale.
``tanh``
    ``tanh(value)``: what the LSTM's output gate itself sees of a cell state (``h = o · tanh(c)``);
    it keeps small values as they are and squeezes the large ones towards ±1.

Every mapping is increasing per cell (tanh up to the float64 resolution, |value| < 18), so
``value >= threshold`` holds exactly where the drawn value is at or above the drawn threshold.
The stored value is still what is thresholded; the threshold control works in displayed units
(stored units under ``cell``) with the stored value beside it, over a range taken from the
source's own quantiles (not its extremes, which one outlier sets).  ``auto`` is ``none`` for a
source within [-1, 1] and :data:`UNBOUNDED_DEFAULT` otherwise.  numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MODES", "UNBOUNDED_DEFAULT", "DisplayScale", "display_scale", "resolve_mode", "unit_factors"]

BOUNDED = 1.0 + 1e-6  # a source whose values all lie in [-1, 1] is drawn as stored
SCALE_Q = 0.995  # |value| quantile that becomes 1 on the plot (per source or per cell)
RANGE_Q = (0.005, 0.995)  # value quantiles that bound the threshold control
MODES = ("none", "source", "cell", "tanh")
LABELS = {"none": "none (as stored)", "source": "÷ source quantile", "cell": "÷ each cell's quantile",
          "tanh": "tanh"}
UNBOUNDED_DEFAULT = "tanh"  # the default of a cell-state source (chosen on parens and shakespeare layer1_c)
_EDGE = 1 - 1e-15  # a displayed tanh level is clipped inside (-1, 1) before it is turned back (|raw| <= 17.6)


def resolve_mode(mode: str, bounded: bool) -> str:
    """The mode a source is drawn with: ``mode`` if it is one of :data:`MODES`, else its default."""
    if mode in MODES:
        return mode
    return "none" if bounded else UNBOUNDED_DEFAULT


@dataclass(frozen=True)
class DisplayScale:
    """How a source is drawn: ``mode``, the source factor (``source``), the per-cell factors
    (``cell``), the threshold control's range ``lo``..``hi`` (stored units) and the plot's
    y-domain (displayed units)."""

    factor: float
    lo: float
    hi: float
    y_domain: tuple[float, float]
    mode: str = "source"
    cell_factors: tuple[float, ...] = ()
    bounded: bool = True
    nonzero: bool = False  # the per-cell factors are over non-zero values only (a sparse source's units)

    @property
    def scaled(self) -> bool:
        """True when the plot is not in stored units."""
        return self.mode in ("cell", "tanh") or (self.mode == "source" and self.factor != 1.0)

    @property
    def per_cell(self) -> bool:
        """True when a threshold is a different height for each cell (no single threshold line)."""
        return self.mode == "cell"

    def show(self, raw: float) -> float:
        """A stored threshold in the control's (and the threshold line's) units."""
        if self.mode == "tanh":
            return math.tanh(float(raw))
        if self.mode == "source":
            return float(raw) / self.factor
        return float(raw)

    def raw(self, shown: float) -> float:
        """The stored value of a level in the control's units (the inverse of :meth:`show`)."""
        if self.mode == "tanh":
            return math.atanh(min(max(float(shown), -_EDGE), _EDGE))
        if self.mode == "source":
            return float(shown) * self.factor
        return float(shown)

    def _cell_factor(self, cells: np.ndarray) -> np.ndarray:
        f = np.asarray(self.cell_factors, dtype=np.float64)
        cells = np.asarray(cells, dtype=np.int64)
        if f.size == 0:
            return np.ones(cells.shape, dtype=np.float64)
        return np.where(cells < f.size, f[np.minimum(cells, f.size - 1)], 1.0)

    def apply(self, values: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Displayed values of stored ``values`` (1-d) of the cells ``cells`` (same length)."""
        v = np.asarray(values, dtype=np.float64)
        if self.mode == "tanh":
            return np.tanh(v)
        if self.mode == "source":
            return v / self.factor
        if self.mode == "cell":
            return v / self._cell_factor(cells)
        return v

    def cell_threshold(self, raw: float, cells: np.ndarray) -> np.ndarray:
        """The threshold ``raw`` on each cell's displayed scale (per cell under ``cell``)."""
        cells = np.asarray(cells, dtype=np.int64)
        if self.mode == "cell":
            return float(raw) / self._cell_factor(cells)
        return np.full(cells.shape, self.show(raw), dtype=np.float64)

    def axis_title(self) -> str:
        return {"none": "activation", "source": f"activation ÷ {self.factor:.3g}" if self.scaled else "activation",
                "cell": "activation ÷ the unit's 99.5% non-zero |value|" if self.nonzero
                else "activation ÷ the cell's 99.5% |value|", "tanh": "tanh(activation)"}[self.mode]

    def control_units(self) -> str:
        """What the threshold slider's label adds: its units when they are not the stored ones."""
        return " (shown units)" if self.mode in ("source", "tanh") and self.scaled else ""

    def note(self) -> str:
        """One line saying how the plot is scaled (empty when it is drawn as stored)."""
        if self.mode == "source" and self.scaled:
            return (f"Plotted ÷ {self.factor:.3g} (this source's {SCALE_Q:.1%} quantile of |value|, so it reads like "
                    "the [-1, 1] sources; values beyond are drawn at the edge). Thresholds are on the stored values.")
        if self.mode == "cell":
            basis = ("quantile of |value| over its non-zero entries (a sparse source's units are 0 at most "
                     "positions)" if self.nonzero else "quantile of |value|")
            return (f"Each cell is plotted ÷ its own {SCALE_Q:.1%} {basis}, so one threshold is a "
                    "different height for each cell: no threshold line is drawn, the threshold is set in stored "
                    "units and a selected line's tooltip shows it on that cell's scale.")
        if self.mode == "tanh":
            return ("Plotted as tanh(value), what the output gate sees of a cell state: small values as they are, "
                    "large ones squeezed towards ±1. Thresholds are on the stored values.")
        if self.mode == "none" and not self.bounded:
            return "Plotted as stored (the y-axis spans the sampled extremes)."
        return ""


def display_scale(sample: np.ndarray, unsigned: bool = False, mode: str = "auto") -> DisplayScale:
    """The display scale of a source from a sample of its values (rows = positions, columns =
    cells; any other shape is one cell; NaN ignored) under ``mode`` (one of :data:`MODES` or
    ``auto``)."""
    arr = np.asarray(sample, dtype=np.float64)
    arr = arr.reshape(-1, arr.shape[-1]) if arr.ndim >= 2 else arr.reshape(-1, 1)
    v = arr.reshape(-1)
    v = v[np.isfinite(v)]
    if v.size == 0:
        m = resolve_mode(mode, True)
        return DisplayScale(1.0, 0.0 if unsigned else -1.0, 1.0, (0.0, 1.0) if unsigned else (-1.0, 1.0),
                            mode=m)
    mag = np.abs(v)
    bounded = float(mag.max()) <= BOUNDED
    m = resolve_mode(mode, bounded)
    factor = 1.0
    if not bounded:
        q = float(np.quantile(mag, SCALE_Q))
        factor = q if q > 0 and math.isfinite(q) else float(mag.max())
    lo, hi = (float(x) for x in np.quantile(v, RANGE_Q))
    positive = unsigned or float(v.min()) >= 0
    if positive:
        lo = min(0.0, lo)
    if hi <= lo:
        hi = lo + factor
    unit = (0.0, 1.0) if positive else (-1.0, 1.0)
    cell_factors: tuple[float, ...] = ()
    if m == "source":
        ydom = unit
    elif m == "none":
        ydom = unit if bounded else ((0.0, float(v.max())) if positive else (float(v.min()), float(v.max())))
        factor = 1.0
    elif m == "tanh":
        ydom, factor = unit, 1.0
    else:  # per cell
        with np.errstate(all="ignore"):
            cq = np.nanquantile(np.abs(np.where(np.isfinite(arr), arr, np.nan)), SCALE_Q, axis=0)
            cmax = np.nanmax(np.abs(np.where(np.isfinite(arr), arr, np.nan)), axis=0)
        cq = np.where(np.isfinite(cq) & (cq > 0), cq, np.where(np.isfinite(cmax) & (cmax > 0), cmax, 1.0))
        cell_factors = tuple(float(x) for x in cq)
        ydom, factor = unit, 1.0
    if m != "source":
        factor = 1.0
    return DisplayScale(factor, lo, hi, ydom, mode=m, cell_factors=cell_factors, bounded=bounded)


def unit_factors(units: np.ndarray, values: np.ndarray, n_units: int) -> tuple[float, ...]:
    """The per-cell factors of a sparse source (``cell`` mode) from a sample of its stored entries
    (``units[i]`` holds ``values[i]``): each unit's :data:`SCALE_Q` quantile of |value| over its
    sampled entries, interpolated linearly between order statistics as :func:`numpy.quantile`
    does for the dense sources' factors; its largest |value| where that quantile is 0, and 1 for a
    unit with no entry in the sample.  Over the entries, not over every position: a unit that is
    0 almost everywhere would otherwise get a factor of 0."""
    units = np.asarray(units, dtype=np.int64)
    mag = np.abs(np.asarray(values, dtype=np.float64))
    keep = np.isfinite(mag) & (units >= 0) & (units < n_units)
    units, mag = units[keep], mag[keep]
    out = np.ones(n_units, dtype=np.float64)
    if units.size == 0:
        return tuple(out.tolist())
    order = np.lexsort((mag, units))
    units, mag = units[order], mag[order]
    counts = np.bincount(units, minlength=n_units)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    have = np.flatnonzero(counts)
    c, s = counts[have], starts[have]
    at = SCALE_Q * (c - 1)
    lo = np.floor(at).astype(np.int64)
    hi = np.minimum(lo + 1, c - 1)
    q = mag[s + lo] + (at - lo) * (mag[s + hi] - mag[s + lo])
    peak = mag[s + c - 1]
    out[have] = np.where(q > 0, q, np.where(peak > 0, peak, 1.0))
    return tuple(out.tolist())
