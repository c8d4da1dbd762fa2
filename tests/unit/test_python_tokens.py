"""Per-character structure of Python source from tokenize (lstmvis_db.demos.pytokens), checked
by hand on small snippets (strings and comments with brackets, nested brackets across lines,
dedents, f-strings) and against tokenize's own operator tokens on the committed corpus; the
corpus listing and the character vocabulary (lstmvis_db.demos.pysource)."""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

import numpy as np

from lstmvis_db.demos import common
from lstmvis_db.demos.pysource import DEMO_FILES, UNKNOWN, VOCAB, encode, read_corpus_archive, stdlib_files
from lstmvis_db.demos.pytokens import python_structure


def _digits(values: np.ndarray) -> str:
    return "".join(str(int(v)) for v in values)


def _kinds(text: str) -> str:
    short = {"string": "s", "comment": "#", "keyword": "k", "name": "n", "number": "9", "op": "o",
             "newline": "/", "space": "_", "other": "?"}
    return "".join(short[k] for k in python_structure(text).token_type)


def test_bracket_depth_by_hand_brackets_in_strings_and_comments_do_not_count() -> None:
    src = 'f("(", [1, {2: \')\'}])  # ) (\n'
    # chars:  f ( " ( " , ␣ [ 1 , ␣ { 2 : ␣ ' ) ' } ] ) ␣ ␣ # ␣ ) ␣ ( \n
    depth = "0" "1" "111" "1" "1" "2" "2" "2" "2" "3" "3" "3" "3" "333" "2" "1" "0" "0" "0" "00000" "0"
    assert _digits(python_structure(src).bracket_depth) == depth
    kinds = "n" "o" "sss" "o" "_" "o" "9" "o" "_" "o" "9" "o" "_" "sss" "o" "o" "o" "_" "_" "#####" "/"
    assert _kinds(src) == kinds


def test_nested_brackets_across_lines_and_a_triple_quoted_string() -> None:
    src = 'x = [(1,\n      2)]\ny = """[(\n"""\n'
    s = python_structure(src)
    # line 1 (9 chars): x _ = _ [ ( 1 , NL; line 2 (10): six spaces 2 ) ] NEWLINE; then y = """[(\n""" NEWLINE
    depth = "000012222" + "2222222100" + "0000" + "000000000" + "0"
    assert _digits(s.bracket_depth) == depth
    assert set(s.indent_depth.tolist()) == {0}
    assert _kinds(src)[:9] == "n_o_oo9o/"
    assert _kinds(src)[19:] == "n_o_" + "s" * 9 + "/"


def test_indentation_depth_with_dedents_comments_and_continuations() -> None:
    src = ("class A:\n"          # 0
           "    def f(self,\n"   # 1 (logical line continues)
           "          x):\n"     # 1 (continuation of the def line)
           "        # note\n"    # 2 (comment line: the level of the statement after it)
           "        return x\n"  # 2
           "\n"                  # 0 (blank line before a dedented statement)
           "y = 1\n")            # 0
    s = python_structure(src)
    lines = src.splitlines(keepends=True)
    want = [0, 1, 1, 2, 2, 0, 0]
    pos = 0
    for line, level in zip(lines, want, strict=True):
        assert set(s.indent_depth[pos:pos + len(line)].tolist()) == {level}, (line, level)
        pos += len(line)
    assert _digits(s.bracket_depth[len(lines[0]):][:15]) == "000000000111111"  # "    def f(" then "self,"


def test_dedent_over_several_levels_and_no_final_newline() -> None:
    src = "if a:\n    if b:\n        c\nd"
    s = python_structure(src)
    assert _digits(s.indent_depth) == "000000" + "1111111111" + "2222222222" + "0"
    assert _kinds(src)[-1] == "n"


def test_fstring_brackets_are_inside_a_string() -> None:
    src = 'f"{a[0]}" + (b)\n'
    s = python_structure(src)
    assert _digits(s.bracket_depth) == "000000000000" + "110" + "0"
    assert _kinds(src)[:9] == "s" * 9


def test_tracks_agree_with_tokenize_on_the_committed_corpus() -> None:
    """Every opening/closing bracket operator token moves the depth by one, and nothing else."""
    files = read_corpus_archive(common.verify_data_file("python/corpus.tar.gz"))
    assert [n for n, _ in files] == list(DEMO_FILES)
    for _name, src in files:
        s = python_structure(src)
        delta = np.diff(np.concatenate([[0], s.bracket_depth]))
        line_starts = [0] + [i + 1 for i, ch in enumerate(src) if ch == "\n"]
        want = np.zeros(len(src), np.int64)
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.OP and tok.string in "([{)]}" and len(tok.string) == 1:
                want[line_starts[tok.start[0] - 1] + tok.start[1]] = 1 if tok.string in "([{" else -1
        assert np.array_equal(delta, want)
        assert s.bracket_depth.min() == 0 and s.bracket_depth[-1] == 0


def test_vocabulary_and_unknown_characters() -> None:
    ids = encode("a\tb\u00e9\n")
    assert [VOCAB[i] for i in ids] == ["a", "\t", "b", UNKNOWN, "\n"]


def test_stdlib_listing_skips_tests(tmp_path: Path) -> None:
    for rel in ("a.py", "pkg/b.py", "test/x.py", "pkg/tests/y.py", "idlelib/idle_test/z.py", "test_c.py",
                "site-packages/d.py", "pydoc_data/topics.py", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    assert stdlib_files(tmp_path) == ["a.py", "pkg/b.py"]


