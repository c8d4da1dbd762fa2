"""``align_each`` (analysis/align_each.py) gives, for every cell set, exactly what ``align`` gives
called on it alone: the same tests (hits, expected, lift, p, q, order), shares and scalars, and
None where ``align`` finds an empty match set; on the fast path (every cell's bits read once) and
on the plain one."""

from __future__ import annotations

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db import Document, ProjectData, Source, Track
from lstmvis_db.analysis import cellbits
from lstmvis_db.errors import QueryError

N, D = 3000, 70
DOCS = [(0, 999), (1000, 1799), (1800, 1849), (1850, 2999)]


def _values(rng: np.random.Generator) -> np.ndarray:
    x = np.zeros((N, D), dtype=np.float32)
    e = rng.normal(size=(N, D)).astype(np.float32)
    for i in range(1, N):  # smooth cells: runs of on-positions, candidates of several lengths
        x[i] = 0.75 * x[i - 1] + 0.65 * e[i]
    return np.clip(x / 2, -1, 1)


def _labels(rng: np.random.Generator, names: list[str]) -> list[str | None]:
    codes = np.repeat(rng.integers(-1, len(names), size=N), rng.integers(1, 9, size=N))[:N]
    return [names[c] if c >= 0 else None for c in codes]


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    rng = np.random.default_rng(11)
    out = tmp_path_factory.mktemp("align_each") / "p.duckdb"
    depth = rng.normal(size=N)
    depth[rng.random(N) < 0.1] = np.nan
    lstmvis_db.write_project(out, ProjectData(
        name="each", tokens=[f"w{i % 40}" for i in range(N)], sources=[Source("s", _values(rng))],
        documents=[Document(f"d{i}", a, b) for i, (a, b) in enumerate(DOCS)],
        tracks=[Track("chunk", "categorical", labels=_labels(rng, ["begin", "inside"]), categories=["begin", "inside"]),
                Track("tag", "categorical", labels=_labels(rng, ["A", "B", "C", "D"])),
                Track("depth", "scalar", values=depth)]))
    return out


def _selections(p, rng: np.random.Generator, threshold: float) -> list[list[int]]:
    """Selections as a user makes them (a random range of 1-3 positions), plus random cell sets,
    an empty one and one of every cell."""
    out: list[list[int]] = []
    for _ in range(25):
        a = int(rng.integers(0, N - 3))
        b = a + int(rng.integers(0, 3))
        if any(x <= a and b <= y for x, y in DOCS):
            out.append(p.select("s", a, b, threshold))
    out += [sorted(int(c) for c in rng.choice(D, size=m, replace=False)) for m in (1, 2, 5, 66)]
    return out + [[], list(range(D))]


def _one_by_one(p, selections, threshold, **kw):
    out = []
    for cells in selections:
        try:
            out.append(p.align("s", cells, threshold, **kw))
        except QueryError:  # an empty match set
            out.append(None)
    return out


@pytest.mark.parametrize("kw", [
    {}, {"tracks": ["chunk"], "conditions": ["covers", "starts"]}, {"limit": 5}, {"set": "all"},
    {"set": "strict", "tracks": ["tag", "depth"]}, {"constrain_right": True, "length": 4},
    {"constrain_left": False, "pool": 7, "tracks": ["chunk", "tag"]},
])
@pytest.mark.parametrize("threshold", [0.1, 0.3])
def test_align_each_is_align_per_instance(path, kw, threshold):
    with lstmvis_db.open(path) as p:
        sels = _selections(p, np.random.default_rng(int(threshold * 10) + len(kw)), threshold)
        want = _one_by_one(p, sels, threshold, **kw)
        got = p.align_each("s", sels, threshold, **kw)
        assert len(got) == len(sels)
        assert got == want  # every row, float for float
        assert got[-2] is None  # no cell: nothing to align
        assert sum(r is not None for r in got) >= 10  # most sets have matches: the test compares something


def test_align_each_without_every_cells_bits(path, monkeypatch):
    """A source whose bits do not fit the budget is matched set by set, with the same results."""
    with lstmvis_db.open(path) as p:
        sels = _selections(p, np.random.default_rng(5), 0.2)
        want = _one_by_one(p, sels, 0.2, tracks=["chunk", "tag"])
        monkeypatch.setattr(cellbits, "fits", lambda cat, source: False)
        cellbits.drop(p.catalog)
        assert p.align_each("s", sels, 0.2, tracks=["chunk", "tag"]) == want
        assert p.catalog._cache.get(("analysis", "cell_bits")) is None  # the plain path read no bits


def test_align_each_no_matches_and_bad_input(path):
    with lstmvis_db.open(path) as p:
        assert p.align_each("s", [[1, 2], []], 5.0) == [None, None]  # nothing is on at 5
        assert p.align_each("s", [], 0.2) == []
        with pytest.raises(QueryError, match="unknown cell"):
            p.align_each("s", [[1], [D]], 0.2)
        with pytest.raises(QueryError, match="unknown match set"):
            p.align_each("s", [[1]], 0.2, set="some")
        with pytest.raises(QueryError):
            p.align_each("s", [[1]], 0.2, tracks=["nope"])
