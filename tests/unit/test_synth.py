"""Tests of the synthetic state generator (docs/performance.md §Synthetic states)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from lstmvis_db.bench import synth, synth_plan
from lstmvis_db.errors import InputError

N, D = 9_000, 64  # 9,000 is not a multiple of CHUNK or SEGMENT, so tails are exercised


@pytest.fixture(scope="module")
def data() -> synth.SynthData:
    return synth.generate(N, D, seed=7)


def test_shape_dtype_range(data: synth.SynthData) -> None:
    v = data.values
    assert v.shape == (N, D)
    assert v.dtype == np.float32
    assert v.flags["C_CONTIGUOUS"]
    assert np.isfinite(v).all()
    assert v.min() >= -1.0 and v.max() <= 1.0
    frac_on = float((v >= 0.3).mean())
    assert 0.2 < frac_on < 0.4  # the spec's data has 28% of values >= 0.3


def test_deterministic_and_seed_dependent(data: synth.SynthData) -> None:
    again = synth.generate(N, D, seed=7)
    assert np.array_equal(again.values, data.values)
    for a, b in zip(again.patterns, data.patterns):
        assert a.cells == b.cells and a.length == b.length and np.array_equal(a.starts, b.starts)
    other = synth.generate(N, D, seed=8)
    assert not np.array_equal(other.values, data.values)
    assert [p.cells for p in other.patterns] != [p.cells for p in data.patterns]


def test_block_size_does_not_change_values(data: synth.SynthData, tmp_path: Path) -> None:
    for block in (1, synth.CHUNK, 3 * synth.CHUNK, None):
        parts = list(synth.iter_blocks(N, D, seed=7, block=block))
        assert [b0 for b0, _ in parts] == sorted(b0 for b0, _ in parts)
        assert np.array_equal(np.concatenate([b for _, b in parts]), data.values)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(N, D))
    pats = synth.generate_into(mm, seed=7, block=synth.CHUNK)
    assert np.array_equal(np.asarray(mm), data.values)
    assert [p.cells for p in pats] == [p.cells for p in data.patterns]
    del mm


def test_write_hdf5_contiguous(data: synth.SynthData, tmp_path: Path) -> None:
    path = tmp_path / "s.h5"
    synth.write_hdf5(data, path, dataset="states1")
    pats = synth.write_hdf5_streaming(tmp_path / "t.h5", N, D, seed=7, dataset="states2", block=synth.CHUNK)
    with h5py.File(path, "r") as f, h5py.File(tmp_path / "t.h5", "r") as g:
        for ds in (f["states1"], g["states2"]):
            assert ds.dtype == np.float32 and ds.shape == (N, D)
            assert ds.chunks is None and ds.compression is None  # contiguous, uncompressed
            assert np.array_equal(ds[...], data.values)
    assert all(np.array_equal(a.starts, b.starts) for a, b in zip(pats, data.patterns))
    synth.write_hdf5(data, path, dataset="states1")  # replacing works
    with h5py.File(path, "r") as f:
        assert list(f) == ["states1"]


def test_planted_patterns(data: synth.SynthData) -> None:
    pats = data.patterns
    assert [len(p.cells) for p in pats] == list(synth.PATTERN_SIZES)
    assert [p.length for p in pats] == list(synth.PATTERN_LENGTHS)
    all_cells = [c for p in pats for c in p.cells]
    assert len(set(all_cells)) == len(all_cells)  # disjoint
    assert all(0 <= c < D for c in all_cells)
    for p in pats:
        assert list(p.cells) == sorted(p.cells)
        assert p.starts.size == synth.plant_count(N) == 5
        assert np.all(np.diff(p.starts) >= p.length + 2)  # windows [s-1, s+L] do not overlap
        assert p.starts.min() >= 1 and p.starts.max() + p.length <= N - 1
        cols = list(p.cells)
        for s in p.starts.tolist():
            run = data.values[s : s + p.length][:, cols]
            assert run.min() >= 0.7 and run.max() <= 0.95
            for nb in (s - 1, s + p.length):
                row = data.values[nb, cols]
                assert row.min() >= -0.6 and row.max() <= -0.1
    same = synth.planted_patterns(N, D, seed=7)
    assert all(np.array_equal(a.starts, b.starts) and a.cells == b.cells for a, b in zip(same, pats))


def test_plant_count_scales() -> None:
    assert synth.plant_count(1_000_000) == 200
    assert synth.plant_count(10_000_000) == 2_000
    assert synth.plant_count(2_000) == 5
    assert synth.plant_count(100_000) == 20


def test_switch_cells(data: synth.SynthData) -> None:
    sw = data.switch_cells
    assert sw.size == round(0.15 * D)
    planted_rows = np.zeros((N, D), dtype=bool)
    for p in data.patterns:
        for s in p.starts.tolist():
            planted_rows[s - 1 : s + p.length + 1, list(p.cells)] = True
    v = data.values[:, sw][~planted_rows[:, sw]]
    on = v >= 0.5
    assert np.all(v[on] <= 0.95) and np.all((v[~on] >= -0.9) & (v[~on] <= 0.25))
    frac = on.mean()
    assert 0.01 < frac < 0.7


def test_ar_recursion_matches_sequential_loop() -> None:
    plan = synth_plan.make_plan(1_000, 40, seed=3)
    rng = np.random.default_rng(0)
    innov = rng.standard_normal((2 * synth.SEGMENT + 17, 40)).astype(np.float32)
    carry = rng.standard_normal(40).astype(np.float32)
    fast = innov.copy()
    end = synth_plan.ar_inplace(fast, plan, carry.copy())
    slow = np.empty_like(innov, dtype=np.float64)
    prev = carry.astype(np.float64)
    for t in range(innov.shape[0]):
        prev = plan.a.astype(np.float64) * prev + innov[t]
        slow[t] = prev
    assert np.allclose(fast, slow, atol=1e-4)
    assert np.allclose(end, slow[-1], atol=1e-4)


def test_bad_shapes() -> None:
    with pytest.raises(InputError):
        synth.generate(1_000, 20)  # fewer cells than the 28 planted ones
    with pytest.raises(InputError):
        synth.generate(40, 64)  # too short to plant 5 disjoint occurrences of each pattern
    with pytest.raises(InputError):
        synth.generate(0, 64)
    with pytest.raises(InputError):
        list(synth.iter_blocks(1_000, 64, block=0))
