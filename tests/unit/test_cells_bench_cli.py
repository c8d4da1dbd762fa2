"""``python -m lstmvis_db.bench.cells_bench`` refuses an unknown track or label with one line
and exit 2, before it times anything."""

from __future__ import annotations

import pytest

from lstmvis_db.bench import cells_bench
from tests.support.cells_oracle import random_corpus


@pytest.mark.parametrize(("track", "label", "says"), [("nope", "A", "unknown track 'nope'"),
                                                      ("tag", "Z", "unknown label 'Z' of track 'tag'")])
def test_unknown_track_or_label_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, track, label, says):
    c = random_corpus(tmp_path, seed=1, n=200, d=4)
    monkeypatch.setattr(cells_bench, "measure", lambda *a, **k: pytest.fail("timed a bad request"))
    assert cells_bench.main(["--db", str(c.path), "--track", track, "--label", label, "--repeat", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]
