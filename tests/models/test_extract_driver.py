"""The extraction driver, texts, documents, add-track and the CLI, with a numpy-only adapter.

No torch or transformers needed: these run in the core suite.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from lstmvis_db.errors import InputError, LstmvisError
from lstmvis_db.extract import (
    CharTokenizer,
    ChunkOutput,
    SourceKey,
    SourceSpec,
    Tokenized,
    WordTokenizer,
    extract_project,
    load_vocab,
    read_texts,
    select_sources,
    split_documents,
)
from lstmvis_db.extract import cli as extract_cli
from lstmvis_db.extract.phases import plan_windows
from lstmvis_db.extract.tracks import add_track


class FakeAdapter:
    """A deterministic numpy 'model' over a character vocabulary.

    Recurrent mode: ``sum{l}`` is the running sum of ids (carried across chunks), ``id{l}``
    is the id itself.  Windowed mode: ``sum`` is the sum over the window seen so far.
    """

    family = "fake"
    can_predict = True

    def __init__(self, windowed: int | None = None, width: int = 3, layers: int = 2):
        self.model = "fake"
        self.max_context = windowed
        self.whole_document = False
        self.tok = CharTokenizer("abcdefghijklmnopqrstuvwxyz .,\n()")
        self.width = width
        self.layers = layers
        self.calls: list[tuple[int, int]] = []

    def sources(self) -> list[SourceSpec]:
        out = []
        for layer in range(1, self.layers + 1):
            out.append(SourceSpec(f"sum{layer}", layer, "sum", self.width, "running sum"))
            out.append(SourceSpec(f"id{layer}", layer, "id", 1, "token id"))
        return out

    def settings(self) -> dict[str, str]:
        return {"architecture": "fake"}

    def tokenize(self, text: str, where: str) -> Tokenized:
        return self.tok.encode(text, where)

    def token_display(self, ids: Sequence[int]) -> list[str]:
        return [self.tok.id_display(i) for i in ids]

    def run(self, ids: np.ndarray, wanted: Sequence[SourceKey], state: Any = None, *,
            topk: int = 0, keep_from: int = 0) -> tuple[ChunkOutput, Any]:
        self.calls.append((len(ids), keep_from))
        base = 0.0 if state is None else state
        sums = base + np.cumsum(ids.astype(np.float64))
        out = ChunkOutput()
        for key in wanted:
            _, layer, kind = key
            if kind == "sum":
                mat = np.repeat(sums[:, None] * layer, self.width, axis=1)
            else:
                mat = ids[:, None].astype(np.float64)
            out.states[key] = mat[keep_from:].astype(np.float32)
        if topk:
            n = len(ids) - keep_from
            nxt = (ids[keep_from:, None] + np.arange(1, topk + 1)) % self.tok.vocab_size
            out.topk_ids = nxt
            out.topk_scores = np.tile(np.linspace(0.5, 0.1, topk, dtype=np.float32), (n, 1))
        return out, (None if self.max_context else float(sums[-1]))


def _states(db: Path, source: str) -> np.ndarray:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "SELECT pos, cell, value FROM states WHERE source = ? ORDER BY pos, cell", [source]
        ).fetchall()
        n_cells = con.execute("SELECT n_cells FROM sources WHERE source = ?", [source]).fetchone()[0]
    finally:
        con.close()
    return np.array([r[2] for r in rows], dtype=np.float32).reshape(-1, n_cells)


def _q(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("abc def\nghi\n\njkl (mno)\n", encoding="utf-8")
    (d / "sub" / "b.txt").write_text("pqr stu", encoding="utf-8")
    (d / ".hidden").write_text("ignored", encoding="utf-8")
    return d


# -- texts and documents -------------------------------------------------------------------


def test_read_texts_walks_folders_and_keeps_order(corpus: Path) -> None:
    texts = read_texts([corpus, ("mem", "xyz"), "plain text"])
    assert [t.name for t in texts] == [f"{corpus}/a.txt", f"{corpus}/sub/b.txt", "mem", "text1"]


def test_document_modes(corpus: Path) -> None:
    texts = read_texts([corpus])
    assert [d.name for d in split_documents(texts, "by-file")] == [f"{corpus}/a.txt", f"{corpus}/sub/b.txt"]
    lines = split_documents(texts, "by-line")
    assert [d.text for d in lines] == ["abc def", "ghi", "jkl (mno)", "pqr stu"]
    assert lines[2].name == f"{corpus}/a.txt:4"
    paras = split_documents(texts, "by-separator", "\n\n")
    assert [d.text for d in paras] == ["abc def\nghi", "jkl (mno)\n", "pqr stu"]
    with pytest.raises(InputError, match="unknown document mode"):
        split_documents(texts, "by-word")


def test_bad_text_inputs(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.txt: not UTF-8 text \(byte 0xe9 at offset 3\)"):
        read_texts([bad])
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(InputError, match=r"empty\.txt: empty text"):
        read_texts([empty])
    with pytest.raises(InputError, match="text file not found"):
        read_texts([tmp_path / "missing.txt"])
    (tmp_path / "void").mkdir()
    with pytest.raises(InputError, match="holds no text files"):
        read_texts([tmp_path / "void"])


def test_tokenizers_and_vocab_files(tmp_path: Path) -> None:
    tok = CharTokenizer({"a": 1, "b": 2, "<s>": 3}, unk_id=0)
    assert tok.encode("abz", "x").ids.tolist() == [1, 2, 0]
    with pytest.raises(InputError, match=r"doc\.txt: character 'z' at offset 2"):
        CharTokenizer("ab").encode("abz", "doc.txt")
    words = WordTokenizer(["the", "cat"], lower=True)
    t = words.encode("The  cat", "x")
    assert t.ids.tolist() == [0, 1] and t.display == ["The", "  cat"]
    (tmp_path / "v.json").write_text(json.dumps({"a": 0, "b": 1}), encoding="utf-8")
    assert load_vocab(tmp_path / "v.json") == {"a": 0, "b": 1}
    (tmp_path / "v.txt").write_text("x\ny\n", encoding="utf-8")
    assert load_vocab(tmp_path / "v.txt") == {"x": 0, "y": 1}
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_vocab(tmp_path / "bad.json")


def test_plan_windows_cover_each_position_once() -> None:
    plan = plan_windows(10, 4, 2)
    assert plan == [(0, 4, 0), (2, 6, 2), (4, 8, 2), (6, 10, 2)]
    kept = [p for s, e, k in plan for p in range(s + k, e)]
    assert kept == list(range(10))
    assert plan_windows(3, 8, 4) == [(0, 3, 0)]


def test_select_sources_errors() -> None:
    specs = FakeAdapter().sources()
    assert [s.source for s in select_sources(specs, [2], ["sum"])] == ["sum2"]
    with pytest.raises(InputError, match="layer 7 does not exist: the model has layers 1..2"):
        select_sources(specs, [7])
    with pytest.raises(InputError, match="kind 'cell' does not exist"):
        select_sources(specs, None, ["cell"])


# -- the driver ----------------------------------------------------------------------------


def test_recurrent_chunks_carry_state(corpus: Path, tmp_path: Path) -> None:
    one = tmp_path / "one.duckdb"
    many = tmp_path / "many.duckdb"
    extract_project(FakeAdapter(), [corpus], one, chunk=10_000)
    fake = FakeAdapter()
    summary = extract_project(fake, [corpus], many, chunk=3)
    assert max(n for n, _ in fake.calls) == 3
    np.testing.assert_array_equal(_states(one, "sum2"), _states(many, "sum2"))
    # the state restarts at each document
    docs = _q(many, "SELECT first_pos, last_pos FROM documents ORDER BY doc")
    ids = np.array([r[0] for r in _q(many, "SELECT token_id FROM tokens ORDER BY pos")])
    second = docs[1][0]
    assert _states(many, "sum1")[second, 0] == ids[second]
    assert summary.tokens == len(ids) and summary.documents == 2
    tokens = "".join(r[0] for r in _q(many, "SELECT token FROM tokens WHERE doc = 0 ORDER BY pos"))
    assert tokens == (corpus / "a.txt").read_text(encoding="utf-8")


def test_windows_keep_positions_with_context(tmp_path: Path) -> None:
    fake = FakeAdapter(windowed=4)
    db = tmp_path / "w.duckdb"
    text = "abcdefghij"
    extract_project(fake, [("t", text)], db, chunk=100, stride=2, layers=[1], kinds=["sum"])
    assert fake.calls == [(4, 0), (4, 2), (4, 2), (4, 2)]
    ids = np.array(CharTokenizer("abcdefghijklmnopqrstuvwxyz .,\n()").encode(text, "t").ids, float)
    got = _states(db, "sum1")[:, 0]
    starts = [0, 0, 0, 0, 2, 2, 4, 4, 6, 6]  # the window each position is kept from
    expect = [ids[s : p + 1].sum() for p, s in enumerate(starts)]
    np.testing.assert_allclose(got, expect)
    settings = dict(_q(db, "SELECT key, value FROM project"))
    assert settings["extract.stride"] == "2" and settings["extract.chunk"] == "4"
    assert settings["extract.layers"] == "1" and settings["extract.kinds"] == "sum"


def test_topk_track_and_settings(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    calls: list[tuple[str, float]] = []
    extract_project(FakeAdapter(), {"doc": "abc"}, db, topk=2, progress=lambda lab, f: calls.append((lab, f)))
    rows = _q(db, "SELECT pos, rank, token, score FROM predictions WHERE source = 'next_token' ORDER BY pos, rank")
    assert [(r[0], r[1], r[2]) for r in rows[:2]] == [(0, 1, "b"), (0, 2, "c")]
    assert _q(db, "SELECT kind FROM tracks WHERE track = 'next_token'") == [("topk",)]
    assert calls[-1][1] == 1.0 and any(lab.startswith("extract") for lab, _ in calls)
    desc = _q(db, "SELECT description FROM sources WHERE source = 'sum1'")[0][0]
    assert "state carried across chunks" in desc
    settings = dict(_q(db, "SELECT key, value FROM project"))
    assert settings["extract.adapter"] == "fake" and settings["extract.model.architecture"] == "fake"
    assert json.loads(settings["extract.inputs"]) == ["doc"]


def test_bad_inputs_leave_no_project(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.duckdb"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"texts": [bad]}, r"bad\.txt: not UTF-8"),
        ({"texts": [("e", " \n ")]}, "e: empty text"),
        ({"texts": [corpus], "layers": [3]}, "layer 3 does not exist"),
        ({"texts": [corpus], "kinds": ["mlp"]}, "kind 'mlp' does not exist"),
        ({"texts": [corpus], "max_gb": 1e-9}, r"exceeds the 1e-09 GB budget"),
        ({"texts": [("z", "abcZ")]}, r"z: character 'Z' at offset 3"),
        ({"texts": [corpus], "chunk": 0}, "chunk size 0"),
        ({"texts": [corpus], "documents": "by-para"}, "unknown document mode"),
    ]
    for kw, msg in cases:
        texts = kw.pop("texts")
        with pytest.raises(InputError, match=msg):
            extract_project(FakeAdapter(), texts, out, **kw)
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "corpus"]


def test_existing_project_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "p.duckdb"
    extract_project(FakeAdapter(), {"d": "abc"}, out)
    with pytest.raises(InputError, match="already exists"):
        extract_project(FakeAdapter(), {"d": "abcd"}, out)
    with pytest.raises(InputError, match="layer 9"):
        extract_project(FakeAdapter(), {"d": "abcd"}, out, overwrite=True, layers=[9])
    assert _q(out, "SELECT count(*) FROM tokens") == [(3,)]
    extract_project(FakeAdapter(), {"d": "abcd"}, out, overwrite=True)
    assert _q(out, "SELECT count(*) FROM tokens") == [(4,)]


def test_adapter_errors_are_reported(tmp_path: Path) -> None:
    class Broken(FakeAdapter):
        def run(self, ids, wanted, state=None, *, topk=0, keep_from=0):  # type: ignore[override]
            out, st = super().run(ids, wanted, state, topk=topk, keep_from=keep_from)
            out.states[wanted[0]] = out.states[wanted[0]] * np.nan
            return out, st

    with pytest.raises(InputError, match="non-finite value at position 0"):
        extract_project(Broken(), {"d": "abc"}, tmp_path / "x.duckdb")
    assert not (tmp_path / "x.duckdb").exists()


# -- add-track -----------------------------------------------------------------------------


@pytest.fixture()
def small_db(tmp_path: Path) -> Path:
    db = tmp_path / "small.duckdb"
    extract_project(FakeAdapter(), {"d": "abcdef"}, db, topk=0)
    return db


def test_add_categorical_and_scalar_tracks(small_db: Path, tmp_path: Path) -> None:
    csv = tmp_path / "pos.csv"
    csv.write_text("pos,label\n0,DT\n2,NN\n3,\n5,NN\n", encoding="utf-8")
    r = add_track(small_db, csv, "pos")
    assert r == {"db": str(small_db), "track": "pos", "kind": "categorical", "annotated": 3}
    assert _q(small_db, "SELECT pos, label FROM annotations WHERE track = 'pos' ORDER BY pos") == [
        (0, "DT"), (2, "NN"), (5, "NN")]
    assert _q(small_db, "SELECT list(category ORDER BY ord) FROM _idx.track_categories WHERE track = 'pos'") == [
        (["DT", "NN"],)]
    import pandas as pd

    pq = tmp_path / "depth.parquet"
    pd.DataFrame({"pos": [1, 4], "value": [0.5, 2.0]}).to_parquet(pq)
    add_track(small_db, pq, "depth")
    assert _q(small_db, "SELECT kind, min, max FROM tracks WHERE track = 'depth'") == [("scalar", 0.5, 2.0)]
    # replace
    csv2 = tmp_path / "pos2.csv"
    csv2.write_text("pos,label\n1,VB\n", encoding="utf-8")
    add_track(small_db, csv2, "pos", replace=True)
    assert _q(small_db, "SELECT pos, label FROM annotations WHERE track = 'pos'") == [(1, "VB")]


def test_add_track_bad_input_keeps_project(small_db: Path, tmp_path: Path) -> None:
    before = small_db.read_bytes()
    cases = {
        "range.csv": ("pos,label\n0,A\n6,B\n", "position 6 is outside the project's tokens 0..5"),
        "dup.csv": ("pos,label\n1,A\n1,B\n", "position 1 appears more than once"),
        "nopos.csv": ("p,label\n1,A\n", "no 'pos' column"),
        "float.csv": ("pos,value\n1.5,2\n", "pos 1.5 is not an integer"),
        "text.csv": ("pos,value\n1,abc\n", "value 'abc' is not a number"),
    }
    for name, (content, msg) in cases.items():
        f = tmp_path / name
        f.write_text(content, encoding="utf-8")
        with pytest.raises(InputError, match=msg):
            add_track(small_db, f, "t")
    ok = tmp_path / "ok.csv"
    ok.write_text("pos,label\n0,A\n", encoding="utf-8")
    add_track(small_db, ok, "t")
    with pytest.raises(InputError, match="track 't' already exists"):
        add_track(small_db, ok, "t")
    with pytest.raises(InputError, match="does not exist"):
        add_track(tmp_path / "nope.duckdb", ok, "t")
    assert _q(small_db, "SELECT count(*) FROM tracks") == [(2,)]  # context and the added t
    assert before != small_db.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# -- CLI -----------------------------------------------------------------------------------


def _cli(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="lstmvis-db")
    sub = ap.add_subparsers(dest="command", required=True)
    extract_cli.add_parser(sub)
    extract_cli.add_track_parser(sub)
    args = ap.parse_args(argv)
    args.handler(args)


FACTORY = '''
import sys
sys.path.insert(0, {tests!r})
from test_extract_driver import FakeAdapter

def build():
    return FakeAdapter()
'''


def test_cli_extract_and_add_track(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    factory = tmp_path / "my_model.py"
    factory.write_text(FACTORY.format(tests=str(Path(__file__).parent)), encoding="utf-8")
    db = tmp_path / "cli.duckdb"
    _cli(["extract", "--model", f"{factory}:build", "--text", str(corpus), "--db", str(db),
          "--documents", "by-separator", "--separator", r"\n\n", "--layers", "1-2", "--kinds", "sum",
          "--quiet", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["documents"] == 3 and [s["source"] for s in out["sources"]] == ["sum1", "sum2"]
    assert json.loads(dict(_q(db, "SELECT key, value FROM project"))["extract.separator"]) == "\n\n"
    _cli(["extract", "--model", f"{factory}:build", "--list-sources", "--json"])
    assert len(json.loads(capsys.readouterr().out)["sources"]) == 4
    csv = tmp_path / "t.csv"
    csv.write_text("pos,value\n0,1\n", encoding="utf-8")
    _cli(["add-track", "--db", str(db), "--file", str(csv), "--track", "x", "--json"])
    assert json.loads(capsys.readouterr().out)["annotated"] == 1
    with pytest.raises(LstmvisError, match="already exists"):
        _cli(["extract", "--model", f"{factory}:build", "--text", str(corpus), "--db", str(db)])
    with pytest.raises(LstmvisError, match="model not found: nowhere/model"):
        _cli(["extract", "--model", "nowhere/model", "--text", str(corpus), "--db", str(tmp_path / "n.duckdb")])
    with pytest.raises(LstmvisError, match="has no function 'nope'"):
        _cli(["extract", "--model", f"{factory}:nope", "--text", str(corpus), "--db", str(tmp_path / "n.duckdb")])
    with pytest.raises(SystemExit):
        _cli(["extract", "--model", "m", "--layers", "x-y"])


def test_layer_parsing() -> None:
    assert extract_cli.parse_layers("1,3-5") == [1, 3, 4, 5]
    assert extract_cli.parse_layers("all") is None
    assert extract_cli.unescape(r"a\nb\\n") == "a\nb\\n"


def test_cli_extract_off_a_terminal_logs_progress_lines(corpus: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    factory = tmp_path / "my_model.py"
    factory.write_text(FACTORY.format(tests=str(Path(__file__).parent)), encoding="utf-8")
    _cli(["extract", "--model", f"{factory}:build", "--text", str(corpus), "--db", str(tmp_path / "p.duckdb"),
          "--layers", "1", "--json"])
    err = capsys.readouterr().err
    assert "\r" not in err  # no bar redrawn in a pipe or a log file
    lines = err.splitlines()
    assert any(line.startswith("extract ") and line.endswith(": 100%") for line in lines)
    assert any(line.startswith("source ") and line.endswith(": 100%") for line in lines)
    # the lines are tied to the command: afterwards the library is silent again
    from lstmvis_db.progress import Progress

    Progress(True)("after", 1.0)
    assert capsys.readouterr().err == ""
