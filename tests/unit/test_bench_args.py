"""The benchmark's own flags: documents split the synthetic corpus exactly; bad flags are one line, exit 2."""

from __future__ import annotations

import pytest

from lstmvis_db.bench import runner
from lstmvis_db.cli import main
from lstmvis_db.errors import InputError


def test_documents_cover_every_position_once() -> None:
    docs = runner._documents(1_003, 7)
    assert docs is not None and len(docs) == 7
    assert docs[0].first_pos == 0 and docs[-1].last_pos == 1_002
    for a, b in zip(docs, docs[1:], strict=False):
        assert b.first_pos == a.last_pos + 1
    lengths = [d.last_pos - d.first_pos + 1 for d in docs]
    assert max(lengths) - min(lengths) <= 1
    assert runner._documents(1_003, 1) is None


@pytest.mark.parametrize("count", [0, -3, 101])
def test_documents_out_of_range(count: int) -> None:
    with pytest.raises(InputError, match="--documents"):
        runner._documents(1_000, count)


@pytest.mark.parametrize("argv, needle", [
    (["--documents", "0"], "--documents"),
    (["--sql-memory", "lots"], "--sql-memory"),
    (["--sql-memory", "4GB; DROP TABLE x"], "--sql-memory"),
])
def test_bad_flags_exit_2_with_one_line(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str],
                                        tmp_path) -> None:
    assert main(["bench", "--size", "tiny", "--workdir", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "states.h5").exists()  # refused before any work
