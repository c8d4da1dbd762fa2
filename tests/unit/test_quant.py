"""The quantiser's fast float32 path gives exactly the buckets of its float64 definition."""

from __future__ import annotations

import numpy as np
import pytest

from lstmvis_db.matching.quant import LEVELS, Quantizer


@pytest.mark.parametrize("lo, hi", [(-1, 1), (0, 1), (-6.3, 5.9), (-1000, 3), (0.2, 0.2000001),
                                    (-0.999, 0.995), (0.5, 0.9), (1000, 1001), (-3e-5, 2e-5)])
def test_fast_bucket_equals_exact_definition(lo, hi):
    q = Quantizer.for_range(lo, hi)
    rng = np.random.default_rng(1)
    edges = q.boundary(rng.integers(0, LEVELS, 5000)).astype(np.float32)
    near = np.concatenate([edges, np.nextafter(edges, np.float32(np.inf)), np.nextafter(edges, np.float32(-np.inf))])
    near = near[(near >= np.float32(lo)) & (near <= np.float32(hi))]
    for arr in (rng.uniform(lo, hi, (300, 200)).astype(np.float32), near.reshape(1, -1),
                np.array([[lo, hi]], np.float32)):
        got = q.bucket(arr)
        v = arr.astype(np.float64)
        # bucket j holds boundary(j) <= v < boundary(j + 1), within [0, LEVELS)
        assert ((q.boundary(got) <= v) | (got == 0)).all()
        assert ((v < q.boundary(got.astype(np.int64) + 1)) | (got == LEVELS - 1)).all()
        np.testing.assert_array_equal(got, q._bucket_exact(arr))


@pytest.mark.parametrize("t", [0.0, 0.3, -0.25, 1e-9, 0.99])
def test_threshold_bucket_decides_every_value(t):
    q = Quantizer.for_range(-1, 1)
    v = np.random.default_rng(2).uniform(-1, 1, 20000).astype(np.float32)
    j, exact = q.threshold_bucket(t)
    b = q.bucket(v).astype(np.int64)
    on = v.astype(np.float64) >= t
    assert (on[b > j]).all() and not (on[b < j]).any()
    if exact:
        assert (on[b == j]).all()
    assert q.threshold_bucket(0.0)[1]  # 0 is always a bucket edge


@pytest.mark.parametrize("lo, hi", [(-1, 1), (-0.9731, 0.99), (-35.3, 41.2), (0, 1), (-6.3, 5.9), (0.2, 0.2000001),
                                    (1000, 1001), (-3e-5, 2e-5), (5.0, 5.0)])
def test_the_step_is_round_and_the_range_fits(lo, hi):
    q = Quantizer.for_range(lo, hi)
    raw = (hi - lo) / 16000 if hi > lo else max(abs(lo), 1.0) / 16000
    assert raw <= q.step <= 2 * raw * (1 + 1e-12)
    mantissa = f"{q.step:.6e}".split("e")[0].rstrip("0").rstrip(".")
    assert mantissa in ("1", "1.25", "2", "2.5", "5")
    b = q.bucket(np.array([lo, hi], np.float32)).astype(np.int64)
    assert q.boundary(0) <= np.float32(lo) and b[1] < LEVELS - 1  # no value clipped into an end bucket


def test_round_thresholds_are_edges_on_tanh_states():
    q = Quantizer.for_range(-0.9731, 0.99)
    ts = [k / 100 for k in range(-99, 100)]
    assert sum(q.threshold_bucket(t)[1] for t in ts) >= 170
    assert all(q.threshold_bucket(t)[1] for t in (0.1, 0.2, 0.25, 0.3, 0.5, -0.3))
