"""The fast paths of the cell statistics equal the straightforward computations: the compiled
bucket scan against ``_exact.aurocs``, popcount joint counts against boolean sums, packed
on-bits against a plain comparison, and answers that do not depend on what an open project
already keeps (cold, warm, codes kept or read in chunks, rows in memory or fetched)."""

from __future__ import annotations

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.analysis import _cell_kernels, _exact, coactivation
from lstmvis_db.matching.quant import LEVELS
from tests.support.cells_oracle import random_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return random_corpus(tmp_path_factory.mktemp("fast"), seed=21, n=700, d=7)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scan_equals_bucketed_aurocs(seed):
    rng = np.random.default_rng(seed)
    n, d, k = 3000, 5, 4
    codes = rng.integers(0, 40, size=(d, n)).astype(np.uint16)  # few buckets: many ties
    codes[1] = rng.integers(LEVELS - 3, LEVELS, size=n)
    group = rng.integers(-1, k, size=n).astype(np.int32)
    first = (rng.random(n) < 0.3).astype(np.int8)
    first[group < 0] = -1
    jt = rng.integers(-1, 41, size=d).astype(np.int64)
    jex = rng.random(d) < 0.5
    est, bound, on = np.empty((d, k + 1)), np.empty((d, k + 1)), np.zeros((d, k + 1), dtype=np.int64)
    mark_lab, mark_ctl = np.zeros((d, LEVELS), dtype=bool), np.zeros((d, LEVELS), dtype=bool)
    tol = 2e-3
    ctrl_on = np.zeros((d, k), dtype=np.int64)  # the control's on-counts, counted in the same pass
    _cell_kernels.label_stats(codes, 0, d, group, k, first, jt, jex, tol, 0, est, bound, on, mark_lab, mark_ctl,
                              group, ctrl_on)
    lab = group >= 0
    y = first[lab].astype(np.int64)
    for c in range(d):
        q = codes[c][lab].astype(np.int64)
        want = _exact.aurocs(q, y, np.array([[0.0], [1.0]]), None, tol=np.inf)[0]
        assert est[c, 0] == pytest.approx(want, abs=1e-12)
        ctrl = _exact.aurocs(q, group[lab].astype(np.int64), np.eye(k), None, tol=np.inf)
        np.testing.assert_allclose(est[c, 1:], ctrl, atol=1e-12)
        above = (q > jt[c]) | ((q == jt[c]) & jex[c])
        assert on[c, 0] == int((above & (y == 1)).sum())
        np.testing.assert_array_equal(on[c, 1:], np.bincount(group[lab][above], minlength=k))
        np.testing.assert_array_equal(ctrl_on[c], np.bincount(group[lab][above], minlength=k))
        h1 = np.bincount(q[y == 1], minlength=LEVELS)
        tot = np.bincount(q, minlength=LEVELS)
        n1 = int((y == 1).sum())
        assert bound[c, 0] == pytest.approx(0.5 * (h1 * (tot - h1)).sum() / (n1 * (len(q) - n1)), rel=1e-12)
        plan = _exact.refine_plan(_exact.histogram(q, y, 2), np.array([[0.0], [1.0]]), tol)
        np.testing.assert_array_equal(np.flatnonzero(mark_lab[c]), np.sort(plan))
        plan = _exact.refine_plan(_exact.histogram(q, group[lab].astype(np.int64), k), np.eye(k), tol)
        np.testing.assert_array_equal(np.flatnonzero(mark_ctl[c]), np.sort(plan))
        assert len(plan) > 0 or bound[c, 1:].max() <= tol


@pytest.mark.parametrize("tol", [1e-3, 1e-4, 1e-5, 1e-7])
def test_plans_over_many_buckets_equal_the_reference(tol):
    """A plan that marks more buckets than its first candidate set (64), with many ties of weight
    (equal counts in many buckets): the compiled pass marks exactly ``_exact.refine_plan``'s buckets."""
    rng = np.random.default_rng(int(-np.log10(tol)))
    n, d, k = 40000, 3, 3
    codes = rng.integers(0, 3000, size=(d, n)).astype(np.uint16)
    codes[2, : n // 2] = rng.integers(5000, 5010, size=n // 2)  # a few heavy buckets too
    group = rng.integers(-1, k, size=n).astype(np.int32)
    first = (rng.random(n) < 0.3).astype(np.int8)
    first[group < 0] = -1
    jt, jex = np.full(d, LEVELS, dtype=np.int64), np.ones(d, dtype=bool)
    est, bound, on = np.empty((d, k + 1)), np.empty((d, k + 1)), np.zeros((d, k + 1), dtype=np.int64)
    mark_lab, mark_ctl = np.zeros((d, LEVELS), dtype=bool), np.zeros((d, LEVELS), dtype=bool)
    _cell_kernels.label_stats(codes, 0, d, group, k, first, jt, jex, tol, 0, est, bound, on, mark_lab, mark_ctl,
                              group, np.zeros((0, 1), dtype=np.int64))
    lab = group >= 0
    y = first[lab].astype(np.int64)
    sizes = []
    for c in range(d):
        q = codes[c][lab].astype(np.int64)
        plan = _exact.refine_plan(_exact.histogram(q, y, 2), np.array([[0.0], [1.0]]), tol)
        np.testing.assert_array_equal(np.flatnonzero(mark_lab[c]), np.sort(plan))
        plan = _exact.refine_plan(_exact.histogram(q, group[lab].astype(np.int64), k), np.eye(k), tol)
        np.testing.assert_array_equal(np.flatnonzero(mark_ctl[c]), np.sort(plan))
        sizes.append(int(mark_lab[c].sum()))
    if tol <= 1e-5:
        assert max(sizes) > 64 * 4  # past the first two candidate sets


@pytest.mark.parametrize("n", [1, 63, 64, 65, 1000])
def test_joint_counts_equal_boolean_sums(n):
    rng = np.random.default_rng(n)
    a = rng.random((3, n)) < 0.4
    b = rng.random((9, n)) < 0.6
    got = coactivation.joint_counts(np.packbits(a, axis=1, bitorder="little"),
                                    np.packbits(b, axis=1, bitorder="little"))
    np.testing.assert_array_equal(got, a.astype(np.int64) @ b.T.astype(np.int64))


@pytest.mark.parametrize("t", [0.3, 0.999995, -1.0, 1.0, 0.0])
def test_on_bits_equal_the_comparison(corpus, t):
    with lstmvis_db.open(corpus.path) as p:
        info = p.catalog.source("s")
        d = corpus.values.shape[1]
        on = coactivation.on_matrix(p.catalog, info, np.arange(d), np.full(d, t))
    np.testing.assert_array_equal(on, corpus.values.astype(np.float64) >= t)


def _answers(path):
    with lstmvis_db.open(path) as p:
        return [p.cells("s", "tag", "A", threshold=0.3), p.cells("s", "tag", "B", threshold=0.3),
                p.cells("s", "kind", "x", quantile=0.7, stat="iou"), p.cells("s", "tag", "C"),
                p.coactivation("s", [0, 3], threshold=0.3), p.coactivation("s", [1], quantile=0.6, lag=2),
                p.coactivation("s", [2, 4], threshold=0.999995, docs=[0, 2])]


def test_answers_do_not_depend_on_what_is_kept(corpus, monkeypatch):
    warm = _answers(corpus.path)
    with lstmvis_db.open(corpus.path) as p:  # each alone on a fresh project: nothing kept before it
        cold_b = p.cells("s", "tag", "B", threshold=0.3)
    assert cold_b == warm[1]
    monkeypatch.setenv("LSTMVIS_CELL_CACHE_MB", "0")  # codes read 64 cells a time, no bucket values kept
    assert _answers(corpus.path) == warm
    monkeypatch.setattr(_exact, "_IN_MEMORY", 0)  # exact values read from the file
    monkeypatch.setattr(_exact, "_CHUNK", 3)
    assert _answers(corpus.path) == warm


def _spaced_by_full_sort(values, pos, doc, k, gap, largest):
    order = np.lexsort((pos, -values if largest else values))
    taken: dict[int, list[int]] = {}
    out = []
    for i in order:
        if len(out) < k and all(abs(int(pos[i]) - q) >= gap for q in taken.get(int(doc[i]), ())):
            taken.setdefault(int(doc[i]), []).append(int(pos[i]))
            out.append(int(i))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_spaced_extremes_equal_the_full_sort(seed):
    from lstmvis_db.analysis.profile import LEVELS as QLEVELS
    from lstmvis_db.analysis.profile import _order_stats, quantile_cont, spaced_extremes

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    values = rng.integers(0, 5, n).astype(np.float64) if seed % 2 else rng.normal(size=n)  # ties, or none
    pos = np.sort(rng.choice(10 * n, n, replace=False))
    doc = np.searchsorted(np.sort(rng.choice(10 * n, 4)), pos)
    for k, gap in ((1, 0), (10, 5), (25, 200), (n + 5, 3)):
        for largest in (True, False):
            assert spaced_extremes(values, pos, doc, k, gap, largest) == \
                _spaced_by_full_sort(values, pos, doc, k, gap, largest)
    part, srt = _order_stats(values.copy(), QLEVELS), np.sort(values)
    assert [quantile_cont(part, q) for q in QLEVELS] == [quantile_cont(srt, q) for q in QLEVELS]


@pytest.mark.parametrize("seed", range(4))
def test_kept_bucket_offsets_equal_the_rank_correction(seed):
    rng = np.random.default_rng(seed)
    n, k = 2000, 3
    q = rng.integers(0, 30, n).astype(np.int64)
    v = (q + rng.integers(0, 4, n) / 4.0).astype(np.float32)  # ties inside buckets
    codes = rng.integers(0, k, n).astype(np.int64)
    mark = np.zeros(LEVELS, dtype=bool)
    mark[rng.choice(30, 12, replace=False)] = True
    want = _exact.rank_delta(q, codes, k, mark, lambda idx: v[idx].astype(np.float64))
    dev = _exact.bucket_rank_offsets(np.arange(n), v, q)
    sel = mark[q]
    np.testing.assert_allclose(np.bincount(codes[sel], weights=dev[sel], minlength=k), want, atol=1e-9)
