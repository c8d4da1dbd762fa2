"""Display scaling of the Select plot (lstmvis_db.views.scaling): every mode is increasing per cell,
the threshold stays on the stored values, per-cell scaling has no single threshold line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmvis_db import views
from lstmvis_db.views import scaling, select_chart, select_frames


def _cell_states(seed: int = 0) -> np.ndarray:
    """A cell-state-like sample: most cells within ±2, two cells ten times larger."""
    rng = np.random.default_rng(seed)
    v = rng.normal(0, 1, size=(3000, 8))
    v[:, 3] *= 20
    v[:, 6] *= 12
    return v


def test_auto_is_as_stored_for_bounded_and_the_default_for_cell_states() -> None:
    bounded = np.tanh(_cell_states())
    assert scaling.display_scale(bounded).mode == "none" and not scaling.display_scale(bounded).scaled
    sc = scaling.display_scale(_cell_states())
    assert sc.mode == scaling.UNBOUNDED_DEFAULT == "tanh" and sc.scaled
    assert scaling.resolve_mode("bogus", False) == "tanh" and scaling.resolve_mode("cell", True) == "cell"


@pytest.mark.parametrize("mode", scaling.MODES)
def test_every_mode_is_increasing_per_cell(mode: str) -> None:
    sample = _cell_states()
    sc = scaling.display_scale(sample, mode=mode)
    grid = np.linspace(-60, 60, 241)
    for cell in range(sample.shape[1]):
        shown = sc.apply(grid, np.full(grid.shape, cell))
        assert np.all(np.diff(shown) >= 0), (mode, cell)
        inner = np.abs(grid) <= 15  # strictly, where float64 still resolves tanh
        assert np.all(np.diff(shown[inner]) > 0), (mode, cell)
        # on or off is the same on the drawn scale as on the stored one
        for t in (-3.0, 0.3, 0.5, 7.0):
            thr = sc.cell_threshold(t, np.array([cell]))[0]
            assert np.array_equal(grid >= t, shown >= thr - 1e-12), (mode, cell, t)


def test_threshold_control_round_trips_in_its_own_units() -> None:
    for mode in ("none", "source", "tanh"):
        sc = scaling.display_scale(_cell_states(), mode=mode)
        for t in (-4.0, 0.3, 0.5, 12.0):
            assert sc.raw(sc.show(t)) == pytest.approx(t, rel=1e-6, abs=1e-6), mode
    sc = scaling.display_scale(_cell_states(), mode="tanh")
    assert sc.show(0.5) == pytest.approx(np.tanh(0.5)) and np.isfinite(sc.raw(1.0))  # the edge stays finite


def test_per_cell_divides_each_cell_by_its_own_quantile() -> None:
    sample = _cell_states()
    sc = scaling.display_scale(sample, mode="cell")
    want = np.quantile(np.abs(sample), scaling.SCALE_Q, axis=0)
    assert np.allclose(sc.cell_factors, want)
    assert sc.per_cell and sc.y_domain == (-1.0, 1.0)
    # the small cells are as tall as the large ones on the plot
    shown = np.stack([sc.apply(sample[:, c], np.full(len(sample), c)) for c in range(8)], axis=1)
    assert np.allclose(np.quantile(np.abs(shown), scaling.SCALE_Q, axis=0), 1.0)
    # a single threshold is a different level for each cell
    thr = sc.cell_threshold(0.5, np.arange(8))
    assert np.allclose(thr, 0.5 / want) and len(set(np.round(thr, 6))) > 1
    assert "tooltip" in sc.note()


def test_none_spans_the_extremes_and_source_is_one_factor() -> None:
    sample = _cell_states()
    none = scaling.display_scale(sample, mode="none")
    assert none.y_domain == (pytest.approx(sample.min()), pytest.approx(sample.max())) and none.factor == 1.0
    src = scaling.display_scale(sample, mode="source")
    assert src.factor == pytest.approx(np.quantile(np.abs(sample), scaling.SCALE_Q)) and src.y_domain == (-1.0, 1.0)


def test_selection_still_uses_the_stored_values() -> None:
    """Whatever the plot shows, the cells selected and the on-counts are those of the raw values."""
    sample = _cell_states(1)
    lo, hi = 0, 29
    vals = sample[lo:hi + 1]
    toks = pd.DataFrame({"pos": np.arange(lo, hi + 1), "token": ["w"] * (hi - lo + 1)})
    cells = views.select_in_window(vals, lo, 10, 12, 0.5, 1, 0, lo, hi)
    counts = None
    for mode in scaling.MODES:
        sc = scaling.display_scale(sample, mode=mode)
        p = select_frames.select_parts(vals, lo, hi, toks, sc, 0.5, cells, [], cells, (10, 12), (1, 0), lo, True)
        assert np.allclose(p.lines["raw"].to_numpy(),
                           vals[p.lines["pos"].to_numpy() - lo, p.lines["cell"].to_numpy()])
        if counts is None:
            counts = p.words["count"].tolist()
        assert p.words["count"].tolist() == counts, mode  # on-counts from raw values in every mode
        d = select_chart.spec(p)
        names = select_chart.selections(d)
        if mode == "cell":
            assert select_chart.THRESHOLD not in names and len(d["datasets"]["thr"]) == 0
            assert "thr" in d["datasets"]["sel"].columns
        else:
            assert select_chart.THRESHOLD in names
            assert d["datasets"]["thr"]["value"].iloc[0] == pytest.approx(sc.show(0.5))


def test_sparse_unit_factors_are_each_units_quantile_over_its_entries() -> None:
    rng = np.random.default_rng(3)
    n_units = 40
    units = rng.integers(0, 30, size=3000)  # units 30-39 have no entry
    vals = rng.gamma(2.0, 5.0, size=3000) * rng.choice([-1, 1], size=3000)
    units = np.concatenate([units, [30, 31, 31]])  # one entry; two entries
    vals = np.concatenate([vals, [-7.5, 2.0, 4.0]])
    got = np.array(scaling.unit_factors(units, vals, n_units))
    for u in range(n_units):
        mine = np.abs(vals[units == u])
        want = np.quantile(mine, scaling.SCALE_Q) if mine.size else 1.0
        assert got[u] == pytest.approx(want, rel=1e-12), u
    assert got[30] == 7.5 and got[31] == pytest.approx(2.0 + scaling.SCALE_Q * 2.0)
    # a unit whose quantile is 0 gets its peak; an out-of-range unit or a NaN is ignored
    zero_units = np.array([0] * 1001 + [5, 1])
    zero_vals = np.array([0.0] * 1000 + [3.0, 9.0, np.nan])
    assert np.quantile(np.abs(zero_vals[:1001]), scaling.SCALE_Q) == 0.0
    assert scaling.unit_factors(zero_units, zero_vals, 2) == (3.0, 1.0)


def test_sparse_per_cell_caption_says_non_zero_entries() -> None:
    from dataclasses import replace

    sc = replace(scaling.display_scale(np.array([0.0, 2.0, 40.0]), mode="cell"), nonzero=True)
    assert "non-zero" in sc.note() and "non-zero" in sc.axis_title()
    assert "non-zero" not in scaling.display_scale(_cell_states(), mode="cell").note()
