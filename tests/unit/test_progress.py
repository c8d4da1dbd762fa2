"""The one progress abstraction: callback, terminal bar, log lines."""

from __future__ import annotations

import logging

from lstmvis_db import store
from lstmvis_db.progress import Counter, Progress


def test_callback_gets_every_call_and_nothing_is_printed(capsys):
    calls = []
    bar = Progress(lambda label, f: calls.append((label, f)))
    bar("a", 0.0)
    bar("a", 0.5)
    assert calls == [("a", 0.0), ("a", 0.5)]
    assert capsys.readouterr().err == ""


def test_log_lines_off_a_terminal(capsys, caplog):
    caplog.set_level(logging.INFO, logger="lstmvis_db.progress")
    bar = Progress(True)
    for i in range(11):
        bar("source s", i / 10)
    assert capsys.readouterr().err == ""  # no carriage-return bar in a pipe or log file
    assert [r.getMessage() for r in caplog.records] == [
        "source s: 0%", "source s: 30%", "source s: 50%", "source s: 80%", "source s: 100%"]


def test_disabled_is_silent(capsys, caplog):
    caplog.set_level(logging.INFO, logger="lstmvis_db.progress")
    Progress(False)("x", 1.0)
    assert capsys.readouterr().err == "" and not caplog.records


def test_terminal_bar_ends_its_line(capsys, monkeypatch):
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    bar = Progress(True)
    bar("x", 0.5)
    bar("x", 1.0)
    err = capsys.readouterr().err
    assert err.startswith("\rx ") and "#" * 15 in err and err.endswith("100.0%\n")


def test_counter_reports_fractions_of_the_total():
    calls = []
    c = Counter(lambda label, f: calls.append((label, f)), 4, "extract m")
    c.update(1)
    c.update(3)
    assert calls == [("extract m", 0.25), ("extract m", 1.0)]


def test_store_progress_is_the_same_class():
    assert store.Progress is Progress
