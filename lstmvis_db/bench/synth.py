"""Synthetic LSTM-like state matrices with planted multi-cell patterns (docs/performance.md §Synthetic states).

A matrix is ``N`` positions x ``D`` cells of float32 values in [-1, 1], row = position, as an
LSTM layer's (already tanh-squashed) outputs would be.  It is built from three ingredients:

* **AR(1) cells** (every cell to begin with): a latent ``x_t = a x_{t-1} + sqrt(1 - a^2) e_t``
  (unit stationary variance) with persistence ``a ~ U[0.3, 0.98]``, shown as
  ``tanh(g x_t + b)`` with ``g ~ U[0.5, 2.5]`` and ``b ~ N(-0.4, 0.4)`` (mean, std).  The
  innovations ``e_t`` are unit-variance uniforms (16-bit), not normals: drawing normals cost
  more than the rest of the generator together; ``x_0``'s predecessor is ``N(0, 1)``.
* **Switch cells** (15% of the cells, chosen at random): a two-state Markov chain with
  geometric on-runs of mean ``U[3, 40]`` and off-runs of mean ``U[20, 200]``; the value is
  ``U[0.5, 0.95]`` when on and ``U[-0.9, 0.25]`` when off (drawn per position).
* **Planted patterns**: 4 disjoint random cell sets of sizes (3, 5, 8, 12) with lengths
  (4, 6, 3, 10).  Each is planted ``max(5, round(200 * N / 1e6))`` times at non-overlapping
  places: at an occurrence starting at ``p`` its cells take ``U[0.7, 0.95]`` at ``p .. p+L-1``
  and ``U[-0.6, -0.1]`` at both neighbours ``p - 1`` and ``p + L`` (always inside the matrix).
  Planting overwrites the two other ingredients; other cells are untouched.

Everything is a pure function of ``(n_positions, n_cells, seed)``: the random numbers of rows
``[c * CHUNK, (c + 1) * CHUNK)`` come from a generator seeded with ``(seed, 1, c)``, and the
AR(1) recursion runs chunk after chunk carrying its state, so the values never depend on the
``block`` size used to produce them.  Generation is vectorised: inside a chunk the recursion
runs over ``SEGMENT``-row segments in parallel (a loop of ``SEGMENT`` steps over all
segments x cells), then each segment adds ``a^(i+1) * carry`` of the previous one.

Use :func:`generate` for an in-memory matrix, :func:`iter_blocks` / :func:`generate_into` /
:func:`write_hdf5_streaming` to produce big matrices (e.g. 10M x 128) block by block into an
HDF5 dataset or a ``numpy.memmap`` with bounded memory, and :func:`planted_patterns` to get
the planted occurrences without generating the values.
"""


from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from typing import Any

import h5py
import numpy as np

from lstmvis_db.bench.synth_plan import (
    AR_BIAS,
    AR_GAIN,
    AR_PERSISTENCE,
    BLOCK_BYTES,
    CHUNK,
    MIN_PLANTS,
    PATTERN_LENGTHS,
    PATTERN_SIZES,
    PLANT_OFF_VALUE,
    PLANT_ON_VALUE,
    PLANTS_PER_MILLION,
    SEGMENT,
    SWITCH_FRACTION,
    SWITCH_OFF_MEAN_RUN,
    SWITCH_OFF_VALUE,
    SWITCH_ON_MEAN_RUN,
    SWITCH_ON_VALUE,
    Plan,
    PlantedPattern,
    ar_inplace,
    check_shape,
    make_plan,
    plant_block,
    plant_count,
    switch_block,
)
from lstmvis_db.errors import InputError

# the module's names (the constants and PlantedPattern live in synth_plan, re-exported here)
__all__ = [
    "AR_BIAS",
    "AR_GAIN",
    "AR_PERSISTENCE",
    "BLOCK_BYTES",
    "CHUNK",
    "MIN_PLANTS",
    "PATTERN_LENGTHS",
    "PATTERN_SIZES",
    "PLANTS_PER_MILLION",
    "PLANT_OFF_VALUE",
    "PLANT_ON_VALUE",
    "SEGMENT",
    "SWITCH_FRACTION",
    "SWITCH_OFF_MEAN_RUN",
    "SWITCH_OFF_VALUE",
    "SWITCH_ON_MEAN_RUN",
    "SWITCH_ON_VALUE",
    "PlantedPattern",
    "SynthData",
    "generate",
    "generate_into",
    "iter_blocks",
    "plant_count",
    "planted_patterns",
    "write_hdf5",
    "write_hdf5_streaming",
]


@dataclass
class SynthData:
    """A generated matrix: ``values`` float32 (N, D) C-order (row = position, column = cell),
    the ``patterns`` planted in it, the ``switch_cells`` (sorted ids) and the ``seed``."""

    values: np.ndarray
    patterns: list[PlantedPattern]
    switch_cells: np.ndarray
    seed: int


class _Producer:
    """Produces consecutive chunks of one matrix, carrying the AR(1) state between them."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.carry = plan.x0.copy()
        self.next_row = 0

    def chunk_into(self, out: np.ndarray) -> None:
        """Fill ``out`` (C-contiguous float32, R x D, R <= CHUNK) with the next R rows."""
        plan = self.plan
        r0 = self.next_row
        r = out.shape[0]
        if r0 % CHUNK or r > CHUNK or r0 + r > plan.n_positions:
            raise AssertionError("chunks must be produced in order, CHUNK rows at a time")
        rng = np.random.default_rng([plan.seed, 1, r0 // CHUNK])
        # innovations: centred 16-bit uniforms scaled to variance 1 - a^2 (cheaper than normals)
        np.subtract(rng.integers(0, 65536, size=out.shape, dtype=np.uint16), np.float32(32767.5), out=out)
        out *= plan.innov
        self.carry = ar_inplace(out, plan, self.carry)
        # tanh(g x + b) computed as 2 / (1 + exp(-2 (g x + b))) - 1 (about 1.5x faster than np.tanh)
        out *= plan.gain_m2
        out += plan.bias_m2
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
        out += np.float32(1.0)
        np.divide(np.float32(2.0), out, out=out)
        out -= np.float32(1.0)
        if plan.switch_cells.size:
            u = rng.random((r, plan.switch_cells.size), dtype=np.float32)
            out[:, plan.switch_cells] = switch_block(plan, r0, r, u)
        plant_block(plan, out, r0)
        self.next_row = r0 + r


def _block_rows(block: int | None, n_cells: int) -> int:
    if block is None:
        block = max(1, BLOCK_BYTES // (4 * n_cells))
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise InputError(f"block must be a positive number of rows, got {block!r}")
    return int(-(-int(block) // CHUNK) * CHUNK)


def planted_patterns(n_positions: int, n_cells: int, seed: int = 0) -> list[PlantedPattern]:
    """The patterns :func:`generate` plants for these arguments, without generating values."""
    return make_plan(n_positions, n_cells, seed).patterns


def iter_blocks(
    n_positions: int, n_cells: int, seed: int = 0, block: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_row, values)`` blocks of the matrix in order, each a fresh float32
    (rows, D) array; ``block`` rows (rounded up to a multiple of :data:`CHUNK`; default about
    64 MiB) bound the memory.  Concatenated, the blocks equal ``generate(...).values``."""
    return _iter_plan_blocks(make_plan(n_positions, n_cells, seed), block)


def _iter_plan_blocks(plan: Plan, block: int | None) -> Iterator[tuple[int, np.ndarray]]:
    rows = _block_rows(block, plan.n_cells)
    prod = _Producer(plan)
    for b0 in range(0, plan.n_positions, rows):
        buf = np.empty((min(rows, plan.n_positions - b0), plan.n_cells), dtype=np.float32)
        for c0 in range(0, buf.shape[0], CHUNK):
            prod.chunk_into(buf[c0 : c0 + CHUNK])
        yield b0, buf


def generate_into(out: Any, seed: int = 0, block: int | None = None) -> list[PlantedPattern]:
    """Fill ``out`` (anything with ``shape == (N, D)`` and slice assignment: an h5py dataset, a
    ``numpy.memmap``, an array) block by block; return the planted patterns."""
    if len(out.shape) != 2:
        raise InputError(f"out must be 2-D (N x D), got shape {tuple(out.shape)}")
    plan = make_plan(int(out.shape[0]), int(out.shape[1]), seed)
    for b0, vals in _iter_plan_blocks(plan, block):
        out[b0 : b0 + vals.shape[0]] = vals
    return plan.patterns


def generate(n_positions: int, n_cells: int, seed: int = 0, block: int | None = None) -> SynthData:
    """Generate the whole (N, D) float32 matrix in memory.  Chunks are computed in place in the
    result, so peak memory is the result plus a few MiB.  ``block`` is accepted for symmetry
    with :func:`iter_blocks` and has no effect (the values never depend on it)."""
    plan = make_plan(n_positions, n_cells, seed)
    _block_rows(block, plan.n_cells)  # validated only
    values = np.empty((plan.n_positions, plan.n_cells), dtype=np.float32)
    prod = _Producer(plan)
    for c0 in range(0, plan.n_positions, CHUNK):
        prod.chunk_into(values[c0 : c0 + CHUNK])
    return SynthData(values=values, patterns=plan.patterns, switch_cells=plan.switch_cells.copy(), seed=int(seed))


def write_hdf5(data: SynthData | np.ndarray, path: str | PathLike[str], dataset: str = "states1") -> None:
    """Write the matrix as a contiguous, uncompressed float32 (N, D) dataset (the layout the
    original LSTMVis recommends).  The file is opened in append mode; an existing dataset of
    that name is replaced."""
    values = data.values if isinstance(data, SynthData) else np.asarray(data)
    if values.ndim != 2:
        raise InputError(f"values must be 2-D (N x D), got shape {values.shape}")
    with h5py.File(path, "a") as f:
        if dataset in f:
            del f[dataset]
        f.create_dataset(dataset, data=np.ascontiguousarray(values, dtype=np.float32))


def write_hdf5_streaming(
    path: str | PathLike[str],
    n_positions: int,
    n_cells: int,
    seed: int = 0,
    dataset: str = "states1",
    block: int | None = None,
) -> list[PlantedPattern]:
    """Generate straight into a contiguous float32 HDF5 dataset, one block at a time (memory
    about one block, default ~64 MiB); return the planted patterns.  Same values as
    :func:`generate` with the same arguments."""
    check_shape(n_positions, n_cells, PATTERN_SIZES)
    with h5py.File(path, "a") as f:
        if dataset in f:
            del f[dataset]
        ds = f.create_dataset(dataset, shape=(int(n_positions), int(n_cells)), dtype=np.float32)
        return generate_into(ds, seed, block)
