"""The word-type control's token types: each position's index among the sorted distinct token
strings, exactly as ``np.unique`` over every position's string gives it (the control's seeding,
and the statistics kept at ingest, depend on these numbers)."""

from __future__ import annotations

import numpy as np

from lstmvis_db import ProjectData, Source, write_project
from lstmvis_db.analysis import _labels
from lstmvis_db.api import open as open_project


def test_token_types_equal_unique_over_every_position(tmp_path) -> None:
    rng = np.random.default_rng(3)
    words = ["b", "a", " ", "", "é", "Z", "a\x00", "😀", "\t", "the", "The", "a b"]
    toks = [words[i] for i in rng.integers(0, len(words), 500)]
    db = tmp_path / "t.duckdb"
    states = rng.normal(size=(500, 3)).astype(np.float32)
    write_project(db, ProjectData(name="t", tokens=toks, sources=[Source("s", states)]))
    with open_project(db) as p:
        got = _labels.token_types(p.catalog)
        with p.catalog.cursor() as cur:  # the strings as stored
            stored = cur.execute("SELECT token FROM tokens ORDER BY pos").fetchnumpy()["token"]
    strings = np.asarray(stored, dtype=object).astype(str)
    want = np.unique(strings, return_inverse=True)[1].astype(np.int64).reshape(-1)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    assert len(np.unique(got)) == len(np.unique(strings))
