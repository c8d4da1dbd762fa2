"""The generator's plan and its per-chunk steps (the model is described in
:mod:`lstmvis_db.bench.synth`): the parameters, the per-matrix :class:`Plan` (per-cell AR(1)
parameters, switch-cell runs, planted occurrences), and the in-place steps that turn a
chunk of innovations into values: the AR(1) recursion, the switch cells, the plants.
numpy and ``errors`` only; ``synth`` re-exports the constants and :class:`PlantedPattern`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from lstmvis_db.errors import InputError

#: rows per random-number unit; the values do not depend on any block size, only on this.
CHUNK = 2048
#: rows per parallel segment of the AR(1) recursion inside a chunk (divides CHUNK).
SEGMENT = 64
#: default bytes per block yielded by :func:`iter_blocks` (rounded to whole chunks).
BLOCK_BYTES = 64 * 2**20

PATTERN_SIZES: tuple[int, ...] = (3, 5, 8, 12)
PATTERN_LENGTHS: tuple[int, ...] = (4, 6, 3, 10)
PLANTS_PER_MILLION = 200
MIN_PLANTS = 5
SWITCH_FRACTION = 0.15

AR_PERSISTENCE = (0.3, 0.98)
AR_GAIN = (0.5, 2.5)
AR_BIAS = (-0.4, 0.4)  # mean, std
SWITCH_ON_MEAN_RUN = (3.0, 40.0)
SWITCH_OFF_MEAN_RUN = (20.0, 200.0)
SWITCH_ON_VALUE = (0.5, 0.95)
SWITCH_OFF_VALUE = (-0.9, 0.25)
PLANT_ON_VALUE = (0.7, 0.95)
PLANT_OFF_VALUE = (-0.6, -0.1)


class PlantedPattern(NamedTuple):
    """One planted pattern: ``cells`` (sorted cell ids), run ``length`` and the sorted ``starts``
    (first position of each occurrence; the cells are on at ``start .. start+length-1`` and off
    at ``start - 1`` and ``start + length``)."""

    cells: tuple[int, ...]
    length: int
    starts: np.ndarray


@dataclass
class Plan:
    """Everything drawn once per matrix (small): per-cell parameters, switch runs, plants."""

    n_positions: int
    n_cells: int
    seed: int
    a: np.ndarray  # (D,) float32 AR persistence
    innov: np.ndarray  # (D,) float32: sqrt(1 - a^2) * sqrt(12) / 65536 (scales centred uint16)
    gain: np.ndarray  # (D,) float32 g
    bias: np.ndarray  # (D,) float32 b
    gain_m2: np.ndarray  # (D,) float32 -2 g
    bias_m2: np.ndarray  # (D,) float32 -2 b
    a_pows: np.ndarray  # (SEGMENT, D) float32: a^(i+1)
    x0: np.ndarray  # (D,) float32 latent state before position 0
    switch_cells: np.ndarray  # (S,) int64 sorted
    switch_first: np.ndarray  # (S,) int64: 1 if on at position 0
    switch_keys: np.ndarray  # sorted j * N + t for every flip of switch cell j at position t
    switch_offsets: np.ndarray  # (S + 1,) int64: flips of switch cell j are keys[off[j]:off[j+1]]
    patterns: list[PlantedPattern]
    plant_values: list[np.ndarray]  # per pattern: (n, length + 2, m) float32, rows p-1 .. p+L


def check_shape(n_positions: int, n_cells: int, sizes: Sequence[int]) -> None:
    for name, v in (("n_positions", n_positions), ("n_cells", n_cells)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(f"{name} must be a positive integer, got {v!r}")
    if sum(sizes) > n_cells:
        raise InputError(f"n_cells={n_cells} is too small for disjoint planted sets of sizes {tuple(sizes)}")


def plant_count(n_positions: int, per_million: int = PLANTS_PER_MILLION) -> int:
    """Occurrences planted per pattern: ``per_million`` per 1M positions, at least 5."""
    return max(MIN_PLANTS, round(per_million * n_positions / 1_000_000))


def switch_runs(rng: np.random.Generator, n: int, on_mean: float, off_mean: float) -> tuple[int, np.ndarray]:
    """First state and sorted flip positions of one on/off Markov chain over ``n`` positions."""
    first_on = int(rng.random() < on_mean / (on_mean + off_mean))
    pieces: list[np.ndarray] = []
    total = 0
    while total < n:
        pairs = int(np.ceil((n - total) / (on_mean + off_mean) * 1.25)) + 4
        on = rng.geometric(1.0 / on_mean, size=pairs)
        off = rng.geometric(1.0 / off_mean, size=pairs)
        runs = np.empty(2 * pairs, dtype=np.int64)
        if first_on:
            runs[0::2], runs[1::2] = on, off
        else:
            runs[0::2], runs[1::2] = off, on
        pieces.append(runs)
        total += int(runs.sum())
    ends = np.cumsum(np.concatenate(pieces))
    return first_on, ends[ends < n]


def make_plan(
    n_positions: int,
    n_cells: int,
    seed: int,
    pattern_sizes: Sequence[int] = PATTERN_SIZES,
    pattern_lengths: Sequence[int] = PATTERN_LENGTHS,
    plants_per_million: int = PLANTS_PER_MILLION,
    switch_fraction: float = SWITCH_FRACTION,
) -> Plan:
    check_shape(n_positions, n_cells, pattern_sizes)
    if len(pattern_sizes) != len(pattern_lengths):
        raise InputError("pattern_sizes and pattern_lengths must have the same length")
    d = n_cells
    rng = np.random.default_rng([seed, 0])
    a = rng.uniform(*AR_PERSISTENCE, size=d)
    gain = rng.uniform(*AR_GAIN, size=d)
    bias = rng.normal(*AR_BIAS, size=d)
    x0 = rng.standard_normal(d)
    a32 = a.astype(np.float32)
    a_pows = np.cumprod(np.tile(a32, (SEGMENT, 1)), axis=0, dtype=np.float32)

    n_switch = round(switch_fraction * d)
    switch_cells = np.sort(rng.choice(d, size=n_switch, replace=False)).astype(np.int64)
    firsts: list[int] = []
    toggles: list[np.ndarray] = []
    for _ in range(n_switch):
        on_mean = float(rng.uniform(*SWITCH_ON_MEAN_RUN))
        off_mean = float(rng.uniform(*SWITCH_OFF_MEAN_RUN))
        first, flips = switch_runs(rng, n_positions, on_mean, off_mean)
        firsts.append(first)
        toggles.append(flips)

    prng = np.random.default_rng([seed, 2])
    perm = prng.permutation(d)
    count = plant_count(n_positions, plants_per_million)
    patterns: list[PlantedPattern] = []
    plant_values: list[np.ndarray] = []
    offset = 0
    for size, length in zip(pattern_sizes, pattern_lengths):
        if size < 1 or length < 1:
            raise InputError(f"pattern sizes and lengths must be >= 1, got size {size}, length {length}")
        cells = tuple(sorted(int(c) for c in perm[offset : offset + size]))
        offset += size
        width = length + 2  # neighbour, run, neighbour
        free = n_positions - count * width
        if free < 0:
            raise InputError(
                f"n_positions={n_positions} is too small to plant {count} disjoint occurrences of length {length}"
            )
        slots = np.sort(prng.choice(free + count, size=count, replace=False))
        starts = (slots + np.arange(count) * (width - 1) + 1).astype(np.int64)
        vals = np.empty((count, width, size), dtype=np.float32)
        vals[:, 1:-1, :] = prng.uniform(*PLANT_ON_VALUE, size=(count, length, size))
        vals[:, 0, :] = prng.uniform(*PLANT_OFF_VALUE, size=(count, size))
        vals[:, -1, :] = prng.uniform(*PLANT_OFF_VALUE, size=(count, size))
        patterns.append(PlantedPattern(cells, int(length), starts))
        plant_values.append(vals)

    return Plan(
        n_positions=int(n_positions),
        n_cells=int(d),
        seed=int(seed),
        a=a32,
        innov=(np.sqrt(1.0 - a * a) * np.sqrt(12.0) / 65536.0).astype(np.float32),
        gain=gain.astype(np.float32),
        bias=bias.astype(np.float32),
        gain_m2=(-2.0 * gain).astype(np.float32),
        bias_m2=(-2.0 * bias).astype(np.float32),
        a_pows=a_pows,
        x0=x0.astype(np.float32),
        switch_cells=switch_cells,
        switch_first=np.array(firsts, dtype=np.int64),
        switch_keys=np.concatenate(
            [np.zeros(0, dtype=np.int64)] + [j * int(n_positions) + t for j, t in enumerate(toggles)]
        ),
        switch_offsets=np.concatenate(([0], np.cumsum([t.size for t in toggles], dtype=np.int64))).astype(np.int64),
        patterns=patterns,
        plant_values=plant_values,
    )


def ar_inplace(x: np.ndarray, plan: Plan, carry: np.ndarray) -> np.ndarray:
    """Turn scaled innovations ``x`` (R, D) into the AR(1) latent in place; return the new carry.

    Full segments run in parallel (``SEGMENT`` vectorised steps), then get ``a^(i+1) * carry``
    of their predecessor added in sequence; a partial tail segment runs step by step.
    """
    r, d = x.shape
    a = plan.a
    n_seg = r // SEGMENT
    if n_seg:
        y = x[: n_seg * SEGMENT].reshape(n_seg, SEGMENT, d)
        tmp = np.empty((n_seg, d), dtype=np.float32)
        for i in range(1, SEGMENT):
            np.multiply(y[:, i - 1, :], a, out=tmp)
            y[:, i, :] += tmp
        fix = np.empty((SEGMENT, d), dtype=np.float32)
        for j in range(n_seg):
            np.multiply(plan.a_pows, carry, out=fix)
            y[j] += fix
            carry = y[j, SEGMENT - 1]
    for t in range(n_seg * SEGMENT, r):
        x[t] += a * carry
        carry = x[t]
    return carry.copy()


def switch_block(plan: Plan, r0: int, r: int, u: np.ndarray) -> np.ndarray:
    """Values (r, S) of the switch cells at rows ``r0 .. r0+r-1`` from uniforms ``u`` (r, S)."""
    n_sw = plan.switch_cells.size
    n = plan.n_positions
    keys = plan.switch_keys
    cell_base = np.arange(n_sw, dtype=np.int64) * n
    lo = np.searchsorted(keys, cell_base + r0, side="left")
    cnt = np.searchsorted(keys, cell_base + r0 + r, side="left") - lo
    flips = np.zeros((r, n_sw), dtype=np.int32)
    total = int(cnt.sum())
    if total:
        owner = np.repeat(np.arange(n_sw), cnt)
        idx = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(total)
        flips[keys[idx] - cell_base[owner] - r0, owner] = 1
    # state at row t = first state XOR parity of the flips at positions <= t
    base = (plan.switch_first + lo - plan.switch_offsets[:-1]).astype(np.int32)
    state = ((np.cumsum(flips, axis=0, dtype=np.int32) + base) & 1).astype(bool)
    lo_on, hi_on = SWITCH_ON_VALUE
    lo_off, hi_off = SWITCH_OFF_VALUE
    return np.where(state, lo_on + (hi_on - lo_on) * u, lo_off + (hi_off - lo_off) * u).astype(np.float32)


def plant_block(plan: Plan, x: np.ndarray, r0: int) -> None:
    """Overwrite the planted cells of every occurrence touching rows ``r0 .. r0+len(x)-1``."""
    r = x.shape[0]
    for pat, vals in zip(plan.patterns, plan.plant_values):
        width = pat.length + 2
        lo = int(np.searchsorted(pat.starts, r0 - pat.length, side="left"))
        hi = int(np.searchsorted(pat.starts, r0 + r + 1, side="left"))
        if lo >= hi:
            continue
        rows = pat.starts[lo:hi, None] - 1 + np.arange(width)[None, :] - r0  # (k, width)
        inside = (rows >= 0) & (rows < r)
        cells = np.asarray(pat.cells, dtype=np.int64)
        x[rows[inside][:, None], cells[None, :]] = vals[lo:hi][inside]
