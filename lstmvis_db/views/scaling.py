"""Per-source display scaling of the Select plot (docs/app.md §Display scaling): cell states
(``layer1_c`` ...) are unbounded (±40 on the demos) while hidden states and gates lie in [-1, 1],
so a cell-state source is drawn divided by its own 99.5th percentile of |value| and the plot
reads the same for every source.  The stored value is still what is thresholded; the threshold
control works in displayed units with the raw value beside it, over a range taken from the
source's own quantiles (not its extremes, which one outlier sets).  numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DisplayScale", "display_scale"]

BOUNDED = 1.0 + 1e-6  # a source whose values all lie in [-1, 1] is drawn as stored
SCALE_Q = 0.995  # |value| quantile that becomes 1 on the plot of an unbounded source
RANGE_Q = (0.005, 0.995)  # value quantiles that bound the threshold control


@dataclass(frozen=True)
class DisplayScale:
    """``shown = raw / factor``; the threshold control's range ``lo``..``hi`` (raw units) and the
    plot's y-domain (displayed units)."""

    factor: float
    lo: float
    hi: float
    y_domain: tuple[float, float]

    @property
    def scaled(self) -> bool:
        return self.factor != 1.0

    def show(self, raw: float) -> float:
        return float(raw) / self.factor

    def raw(self, shown: float) -> float:
        return float(shown) * self.factor

    def axis_title(self) -> str:
        return f"activation ÷ {self.factor:.3g}" if self.scaled else "activation"

    def note(self) -> str:
        """One line saying how the plot is scaled (empty when it is not)."""
        if not self.scaled:
            return ""
        return (f"Plotted ÷ {self.factor:.3g} (this source's {SCALE_Q:.1%} quantile of |value|, so it reads like "
                "the [-1, 1] sources; values beyond are drawn at the edge). Thresholds are on the stored values.")


def display_scale(sample: np.ndarray, unsigned: bool = False) -> DisplayScale:
    """The display scale of a source from a sample of its values (any shape; NaN ignored)."""
    v = np.asarray(sample, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return DisplayScale(1.0, 0.0 if unsigned else -1.0, 1.0, (0.0, 1.0) if unsigned else (-1.0, 1.0))
    mag = np.abs(v)
    factor = 1.0
    if float(mag.max()) > BOUNDED:
        q = float(np.quantile(mag, SCALE_Q))
        factor = q if q > 0 and math.isfinite(q) else float(mag.max())
    lo, hi = (float(x) for x in np.quantile(v, RANGE_Q))
    if unsigned or float(v.min()) >= 0:
        lo, ydom = min(0.0, lo), (0.0, 1.0)
    else:
        ydom = (-1.0, 1.0)
    if hi <= lo:
        hi = lo + factor
    return DisplayScale(factor, lo, hi, ydom)
