"""The Python demo: tokenize's bracket depth, indentation depth and token type per character
(checked by hand on small snippets), the build from the committed corpus, its data checks, and
the finding its description states, recomputed by the tool's own statistics."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.demos import common, nesting_findings, python_code
from lstmvis_db.demos import registry as demo
from lstmvis_db.demos.pysource import DEMO_FILES, read_corpus_archive
from lstmvis_db.demos.pytokens import python_structure
from lstmvis_db.errors import InputError


def test_full_files_start_with_the_held_out_modules(tmp_path: Path) -> None:
    for name in (*DEMO_FILES, "aaa.py", "zzz.py", "pkg/inner.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x = (1,\n     2)\n" * 10)
    chosen = python_code.full_files(tmp_path, chars=1000)
    assert chosen == [*DEMO_FILES, "aaa.py", "zzz.py"]
    assert python_code.full_files(tmp_path, chars=1) == [DEMO_FILES[0]]


def test_small_build_tracks_are_tokenize_exact(tmp_path: Path) -> None:
    files = read_corpus_archive(common.verify_data_file("python/corpus.tar.gz"))
    limit = len(files[0][1]) + 2000  # the first file whole, the second cut at a line end
    path = demo.build_demo("python", tmp_path, limit=limit)
    with lstmvis_db.open(path) as p:
        n = p.n_positions
        assert limit - 200 <= n <= limit
        text = "".join(p.tokens(0, n - 1)["token"])
        assert text == "".join(src for _, src in files)[:n] and text.endswith("\n")
        s = python_structure(files[0][1])
        first = len(files[0][1])
        # the cut second file's tracks come from tokenizing it whole
        second = python_structure(files[1][1])
        tail = p.annotations("bracket_depth", list(range(first, n)))["value"].to_numpy().astype(int)
        assert np.array_equal(tail, second.bracket_depth[:n - first])
        depth = p.annotations("bracket_depth", list(range(first)))["value"].to_numpy().astype(int)
        indent = p.annotations("indent_depth", list(range(first)))["value"].to_numpy().astype(int)
        assert np.array_equal(depth, s.bracket_depth) and np.array_equal(indent, s.indent_depth)
        kinds = list(p.annotations("token_type", list(range(first)))["label"])
        assert kinds == s.token_type
        assert set(p.sources) == {"layer1_h", "layer1_c", "layer2_h", "layer2_c"}
        assert list(p.documents["name"])[:2] == list(DEMO_FILES[:2])


def test_a_corrupted_corpus_is_refused_with_its_name(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "python").mkdir(parents=True)
    shutil.copy(common.DATA_DIR / "python" / "weights.npz", data / "python" / "weights.npz")
    (data / "python" / "corpus.tar.gz").write_bytes(b"not the corpus")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError, match="corpus.tar.gz.*corrupted.*extract_python_corpus"):
        demo.build_demo("python", out, limit=500, data_dir=data)
    assert not list(out.iterdir())


@pytest.fixture(scope="module")
def python_project(built_demo):
    project = lstmvis_db.open(built_demo("python"))
    yield project
    project.close()


def _same(got: object, stated: object, key: str = "") -> None:
    if isinstance(stated, dict):
        assert isinstance(got, dict)
        for k, v in stated.items():
            _same(got[k], v, f"{key}.{k}")
    elif isinstance(stated, float):
        assert isinstance(got, float) and math.isclose(got, stated, rel_tol=1e-6, abs_tol=1e-12), (key, got, stated)
    else:
        assert got == stated, (key, got, stated)


def test_python_finding_is_what_the_description_states(python_project) -> None:
    p = python_project
    got = nesting_findings.python_finding(p)
    assert nesting_findings.STATED, "the stated finding is missing"
    _same(got, nesting_findings.STATED)
    assert got["instances"] >= 30  # every long bracket pair of the text, not one picked example
    assert got["null_k"] == 99 and got["q"] is not None
    assert nesting_findings.stated_python_finding("default") in p.meta()["description"]
    # the tokenize track the cells ranking used is the exact one
    inside = (p.annotations("bracket_depth", list(range(p.n_positions)))["value"].to_numpy() > 0)
    labels = np.array(p.annotations("in_brackets", list(range(p.n_positions)))["label"]) == "inside"
    assert np.array_equal(inside, labels)


def test_full_python_build_reads_the_running_interpreters_stdlib(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "lib"
    for name in (*DEMO_FILES, "zz.py", "test/test_x.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("def f(a,\n      b):\n    return [a, b]  # ]\n")
    (root / "bad.py").write_text('x = """never closed\n')
    monkeypatch.setattr(python_code, "stdlib_dir", lambda: root)
    data = demo.demo_data("python", size="full")
    names = [d.name for d in data.documents or []]
    assert names == [*DEMO_FILES, "zz.py"]  # bad.py does not tokenize: left out; tests skipped
    assert data.extra["size"] == "full" and data.extra["python"].count(".") == 2
    assert nesting_findings.stated_python_finding("full") in data.description
    assert "Measured on a full build made on the project machine" in data.description
    depth = next(t for t in data.tracks if t.track == "bracket_depth").values
    assert depth is not None and list(depth[:12]) == [0.0] * 5 + [1.0] * 7


def test_parens_full_size_is_a_million_tokens() -> None:
    from lstmvis_db.demos import parens

    tokens, depths = parens._generate_documents(None, parens.PARENS_FULL_DOCS)
    assert sum(len(t) for t in tokens) == 1_000_000 and len(tokens) == 1000
    small, _ = parens._generate_documents(None)
    assert tokens[:len(small)] == small  # the default build's sequences come first
    data = demo.demo_data("parens", size="full", limit=3000)
    assert len(data.tokens) == 3000
    from lstmvis_db.demos.sizes import estimate_bytes
    full = estimate_bytes("parens", "full")
    assert full is not None and full > 500_000_000
    python_full = estimate_bytes("python", "full")
    assert python_full is not None and python_full > 3_000_000_000


def test_the_corpus_archive_is_reproducible_and_carries_the_licence(tmp_path: Path) -> None:
    import subprocess
    import sys
    import tarfile

    stdlib = Path("/usr/lib/python3.11")
    committed = common.DATA_DIR / "python" / "corpus.tar.gz"
    with tarfile.open(committed) as tar:
        names = tar.getnames()
        licence = tar.extractfile("LICENSE.txt").read().decode()  # type: ignore[union-attr]
    assert names == [*DEMO_FILES, "LICENSE.txt"] and "PYTHON SOFTWARE FOUNDATION LICENSE" in licence
    system = Path("/usr/bin/python3.11")
    version = ""
    if system.is_file():
        version = subprocess.run([str(system), "--version"], capture_output=True, text=True).stdout
    if not all((stdlib / n).is_file() for n in names) or version.strip() != "Python 3.11.2":
        pytest.skip("Debian's Python 3.11.2 standard library is not on this machine")
    out = tmp_path / "corpus.tar.gz"
    script = Path(__file__).resolve().parents[2] / "scripts" / "extract_python_corpus.py"
    subprocess.run([sys.executable, str(script), "--out", str(out)], check=True, capture_output=True)
    assert out.read_bytes() == committed.read_bytes()


def test_small_builds_are_deterministic(tmp_path: Path) -> None:
    a = demo.demo_data("python", limit=1500)
    b = demo.demo_data("python", limit=1500)
    assert list(a.tokens) == list(b.tokens) and len(a.sources) == 4
    for s1, s2 in zip(a.sources, b.sources, strict=True):
        assert np.asarray(s1.values).tobytes() == np.asarray(s2.values).tobytes()


def test_full_build_states_disk_and_logs_progress_off_a_terminal(tmp_path: Path, capsys) -> None:
    import argparse

    from lstmvis_db.demos import cli as demo_cli

    parser = argparse.ArgumentParser()
    demo_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["demo", "--only", "parens", "--size", "full", "--limit", "2000", "--out", str(tmp_path)])
    args.handler(args)
    captured = capsys.readouterr()
    assert "needs about 0.9 GB" in captured.err
    assert "parens: running the LSTM" in captured.err and "100%" in captured.err
    assert captured.out.strip() == str(tmp_path / "parens-full.duckdb")


def test_the_corpus_line_counts_the_files_read(tmp_path: Path) -> None:
    files = read_corpus_archive(common.verify_data_file("python/corpus.tar.gz"))
    data = demo.demo_data("python", limit=len(files[0][1]) + 10)
    assert len(data.documents or []) == 2 and data.extra["corpus"].startswith("2 modules of Python 3.11.2")
    full = demo.demo_data("python")
    assert full.extra["corpus"].startswith("5 modules of Python 3.11.2's standard library")


def test_parens_depth_cells_are_what_the_description_states(built_demo) -> None:
    with lstmvis_db.open(built_demo("parens")) as p:
        got = nesting_findings.parens_depth_cells(p)
        assert nesting_findings.PARENS_DEPTH_STATED, "the stated depth cells are missing"
        assert len(got) == len(nesting_findings.PARENS_DEPTH_STATED) == 5
        for row, stated in zip(got, nesting_findings.PARENS_DEPTH_STATED, strict=True):
            _same(row, stated)
        assert all(r["auroc"] > 0.95 for r in got)
        assert nesting_findings.stated_parens_depth() in p.meta()["description"]
