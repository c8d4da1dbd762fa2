"""Tests of the original-LSTMVis matcher used as the benchmark yardstick (docs/semantics.md §The original's matcher)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from lstmvis_db.bench import baseline, synth
from lstmvis_db.bench.baseline import BaselineFailure, candidate_pool, original_match
from lstmvis_db.errors import LstmvisError, QueryError


def write(tmp_path: Path, values: np.ndarray, name: str = "m.h5") -> Path:
    path = tmp_path / name
    with h5py.File(path, "w") as f:
        f.create_dataset("states1", data=np.asarray(values, dtype=np.float32))
    return path


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, synth.SynthData]:
    data = synth.generate(20_000, 64, seed=3)
    return write(tmp_path_factory.mktemp("planted"), data.values), data


# ---------------------------------------------------------------------------------------------
# planted data


@pytest.mark.parametrize("which", [2, 3])  # the 8-cell and the 12-cell pattern
@pytest.mark.parametrize("mode", ["precise", "fast"])
def test_planted_occurrences_rank_first(planted: tuple[Path, synth.SynthData], which: int, mode: str) -> None:
    path, data = planted
    pat = data.patterns[which]
    res = original_match(path, "states1", pat.cells, 0.3, mode=mode, transform="none")
    n = pat.starts.size
    top = res["matches"][:n]
    assert sorted(m["start"] for m in top) == pat.starts.tolist()
    for m in top:
        assert m["length"] == pat.length
        assert m["intersection"] == len(pat.cells) and m["missing"] == 0
        assert m["union"] >= len(pat.cells) and m["jaccard"] == len(pat.cells) / m["union"]
    assert all(m["intersection"] < len(pat.cells) for m in res["matches"][n:])
    assert len(res["matches"]) <= 50
    assert res["histogram"]["strict"].get(pat.length, 0) >= n
    assert sum(res["histogram"]["fuzzy"].values()) == res["candidates"]


def test_fast_ignores_positions_after_limit(
    planted: tuple[Path, synth.SynthData], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, data = planted
    pat = data.patterns[3]
    limit = int(pat.starts[2]) + 3  # the third occurrence straddles the limit
    monkeypatch.setattr(baseline, "FAST_STEPS", limit)
    fast = original_match(path, "states1", pat.cells, 0.3, mode="fast", transform="none")
    assert fast["matches"]
    assert all(m["start"] + m["length"] <= limit for m in fast["matches"])
    full = sorted((m["start"], m["length"]) for m in fast["matches"] if m["intersection"] == len(pat.cells))
    # the straddling occurrence is found cut at the limit (the count stops there), later ones not
    assert full == [(s, pat.length) for s in pat.starts[:2].tolist()] + [(int(pat.starts[2]), 3)]
    precise = original_match(path, "states1", pat.cells, 0.3, mode="precise", transform="none")
    assert sorted(m["start"] for m in precise["matches"][: pat.starts.size]) == pat.starts.tolist()


def test_precise_mode_fails_where_the_original_crashes(
    planted: tuple[Path, synth.SynthData], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, data = planted
    n = data.values.shape[0]
    monkeypatch.setattr(baseline, "BATCH_BUDGET", 2 * n - 1)  # batch = 1 cell: the original dies
    with pytest.raises(BaselineFailure, match="crashes"):
        original_match(path, "states1", data.patterns[0].cells, 0.3, mode="precise", transform="none")
    assert issubclass(BaselineFailure, LstmvisError)
    original_match(path, "states1", data.patterns[0].cells, 0.3, mode="fast", transform="none")  # fast is fine
    monkeypatch.setattr(baseline, "BATCH_BUDGET", 2 * n)  # batch = 2 cells: works
    res = original_match(path, "states1", data.patterns[0].cells, 0.3, mode="precise", transform="none")
    assert res["matches"]


def test_pool_caps(planted: tuple[Path, synth.SynthData], monkeypatch: pytest.MonkeyPatch) -> None:
    path, data = planted
    cells = data.patterns[1].cells
    big = original_match(path, "states1", cells, 0.3, mode="precise", transform="none", constrain_right=False)
    assert big["candidates"] > 40
    monkeypatch.setattr(baseline, "PRECISE_POOL", 40)
    monkeypatch.setattr(baseline, "FAST_POOL", 15)
    precise = original_match(path, "states1", cells, 0.3, mode="precise", transform="none")
    fast = original_match(path, "states1", cells, 0.3, mode="fast", transform="none")
    assert 0 < precise["candidates"] <= 40
    assert 0 < fast["candidates"] <= 15


# ---------------------------------------------------------------------------------------------
# candidate pool on hand-made count vectors


def test_pool_checked_before_each_pass_then_cut() -> None:
    counts = np.array([0, 2, 2, 0, 1, 1, 1, 0, 2, 2, 2, 2, 0, 1, 1, 0])
    two = candidate_pool(counts, 2, cap=2, constrain_left=True, constrain_right=False)
    assert two.collected == 2 and two.starts.tolist() == [1, 8]  # k=1 pass never runs
    three = candidate_pool(counts, 2, cap=3, constrain_left=True, constrain_right=False)
    assert three.collected == 4  # the k=1 pass overshoots the cap ...
    assert three.starts.tolist() == [1, 8, 4]  # ... then the stable sort by score is cut to it
    assert three.scores.tolist() == [2, 2, 1] and three.levels.tolist() == [2, 2, 1]
    both = candidate_pool(counts, 2, cap=99, constrain_left=True, constrain_right=True)
    assert list(zip(both.starts.tolist(), both.lengths.tolist(), both.scores.tolist())) == [
        (1, 2, 2), (8, 4, 2), (4, 3, 1), (13, 2, 1),
    ]
    none = candidate_pool(counts, 2, cap=99, constrain_left=False, constrain_right=False)
    assert none.scores.tolist() == [0, 0, 0, 0] and none.starts.tolist() == [1, 8, 4, 13]
    exact = candidate_pool(counts, 2, cap=99, constrain_left=False, constrain_right=False, phrase_length=3)
    assert exact.starts.tolist() == [4] and exact.lengths.tolist() == [3]


def test_pool_quirks_left_wrap_and_right_index_error() -> None:
    counts = np.array([1, 1, 0, 0, 1, 1, 1, 0, 1])
    left = candidate_pool(counts, 1, cap=99, constrain_left=True, constrain_right=False)
    # the run at 0 takes its "previous run" from the LAST run (value 1): score 0, not 1
    assert dict(zip(left.starts.tolist(), left.scores.tolist())) == {0: 0, 4: 1}
    assert left.starts.tolist() == [4, 0]
    # last run has length 1: not a candidate, so the right constraint is fine
    candidate_pool(counts, 1, cap=99, constrain_left=False, constrain_right=True)
    with pytest.raises(BaselineFailure, match="IndexError"):
        candidate_pool(np.append(counts, 1), 1, cap=99, constrain_left=False, constrain_right=True)


def test_right_constraint_index_error_end_to_end(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    values = rng.uniform(-1, 0.2, size=(300, 6)).astype(np.float32)
    values[100:104, [1, 2]] = 0.8
    path = write(tmp_path, values)
    res = original_match(path, "states1", [1, 2], 0.5, transform="none", constrain_right=True)
    assert [(m["start"], m["length"]) for m in res["matches"]] == [(100, 4)]
    values[-2:, 2] = 0.9  # the corpus now ends with a qualifying run (k = 1, length 2)
    path = write(tmp_path, values, "end.h5")
    with pytest.raises(BaselineFailure, match="IndexError"):
        original_match(path, "states1", [1, 2], 0.5, transform="none", constrain_right=True)
    assert original_match(path, "states1", [1, 2], 0.5, transform="none", constrain_right=False)["matches"]


def test_threshold_through_arctanh(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    raw = np.cumsum(rng.standard_normal((400, 8)), axis=0).astype(np.float32) / 4
    p_raw = write(tmp_path, raw, "raw.h5")
    p_tanh = write(tmp_path, np.tanh(raw.astype(np.float64)), "tanh.h5")
    a = original_match(p_raw, "states1", [0, 3, 5], 0.3, transform="tanh")
    b = original_match(p_tanh, "states1", [0, 3, 5], 0.3, transform="none")
    assert a == b and a["matches"]
    for thr in (1.0, 1.5):
        assert original_match(p_raw, "states1", [0, 3, 5], thr, transform="tanh")["matches"] == []
    assert original_match(p_raw, "states1", [], 0.3)["matches"] == []
    with pytest.raises(QueryError):
        original_match(p_raw, "states1", [8], 0.3)
    with pytest.raises(QueryError):
        original_match(p_raw, "states1", [1], 0.3, mode="slow")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# random data against a tiny brute force written from the spec


def brute_force(
    values: np.ndarray,
    cells: list[int],
    thr: float,
    *,
    mode: str,
    left: bool,
    right: bool,
    phrase_length: int,
    n_results: int,
    fast_steps: int,
    fast_pool: int,
    precise_pool: int,
) -> dict[str, Any]:
    """The original's rules with plain Python lists (IndexError/wrap come from list indexing)."""
    n, d = values.shape
    sel = sorted(set(cells))
    m = len(sel)
    steps = min(n, fast_steps) if mode == "fast" else n
    cap = fast_pool if mode == "fast" else precise_pool
    on = [[bool(values[t, c] >= thr) for c in range(d)] for t in range(n)]
    count = [sum(on[t][c] for c in sel) for t in range(steps)]
    pool: dict[tuple[int, int], int] = {}
    for k in range(m, 0, -1):
        if len(pool) >= cap:
            break
        clipped = [min(x, k) for x in count]
        runs: list[tuple[int, int, int]] = []
        t = 0
        while t < steps:
            u = t
            while u < steps and clipped[u] == clipped[t]:
                u += 1
            runs.append((t, u - t, clipped[t]))
            t = u
        for i, (s, ln, v) in enumerate(runs):
            if v != k or not (ln == phrase_length if phrase_length > 0 else ln >= 2):
                continue
            score = 0
            if left:
                score += k - runs[i - 1][2]
            if right:
                score += k - runs[i + 1][2]
            if left and right:
                score -= k
            pool.setdefault((ln, s), score)
    ordered = sorted(pool.items(), key=lambda kv: -kv[1])[:cap]
    scored = []
    for (ln, p), _ in ordered:
        if p < 1 or p + ln + 1 > n:
            continue
        active = {
            c
            for c in range(d)
            if all(on[t][c] for t in range(p, p + ln))
            and (not left or not on[p - 1][c])
            and (not right or not on[p + ln][c])
        }
        scored.append((p, ln, len(active & set(sel)), len(active | set(sel))))
    fuzzy: dict[int, int] = {}
    strict: dict[int, int] = {}
    for _, ln, i, _ in scored:
        fuzzy[ln] = fuzzy.get(ln, 0) + 1
        if i == m:
            strict[ln] = strict.get(ln, 0) + 1
    kept = [r for r in scored if phrase_length <= 1 or r[1] == phrase_length]
    ranked = sorted(kept, key=lambda r: (-r[2], r[3], -r[1]))[:n_results]
    return {
        "matches": [
            {"start": p, "length": ln, "intersection": i, "union": u, "jaccard": i / u, "missing": m - i}
            for p, ln, i, u in ranked
        ],
        "histogram": {"fuzzy": dict(sorted(fuzzy.items())), "strict": dict(sorted(strict.items()))},
        "candidates": len(scored),
    }


def test_random_against_brute_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2024)
    failures = 0
    for case in range(60):
        n = int(rng.integers(20, 260))
        d = int(rng.integers(2, 10))
        noise = rng.standard_normal((n + 2, d))
        values = ((noise[2:] + noise[1:-1] + noise[:-2]) / np.sqrt(3)).astype(np.float32)  # runs
        cells = rng.choice(d, size=int(rng.integers(1, d + 1)), replace=False).tolist()
        thr = float(rng.choice([-0.3, 0.0, 0.4, 0.9]))
        mode = str(rng.choice(["precise", "fast"]))
        left, right = bool(rng.integers(2)), bool(rng.integers(2))
        phrase_length = int(rng.choice([0, 0, 0, 1, 2, 3]))
        n_results = int(rng.choice([5, 50]))
        knobs = {
            "fast_steps": int(rng.integers(10, n + 20)),
            "fast_pool": int(rng.choice([3, 10, 1_000])),
            "precise_pool": int(rng.choice([4, 25, 10_000])),
        }
        monkeypatch.setattr(baseline, "FAST_STEPS", knobs["fast_steps"])
        monkeypatch.setattr(baseline, "FAST_POOL", knobs["fast_pool"])
        monkeypatch.setattr(baseline, "PRECISE_POOL", knobs["precise_pool"])
        path = write(tmp_path, values, f"r{case}.h5")
        try:
            expected: Any = brute_force(
                values, cells, thr, mode=mode, left=left, right=right,
                phrase_length=phrase_length, n_results=n_results, **knobs,
            )
        except IndexError:
            expected = IndexError
        try:
            got: Any = original_match(
                path, "states1", cells, thr, mode=mode, constrain_left=left, constrain_right=right,  # type: ignore[arg-type]
                phrase_length=phrase_length, transform="none", n_results=n_results,
            )
        except BaselineFailure:
            got = IndexError
            failures += 1
        assert got == expected, f"case {case}"
    assert 0 < failures < 40  # both the failing and the normal path were exercised
