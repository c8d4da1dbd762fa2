"""Robustness of extraction: state resets, binary files in a folder, arguments checked before
the weights load, SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import lstmvis_db.api as api  # noqa: E402
from lstmvis_db.cli import main  # noqa: E402
from lstmvis_db.errors import InputError  # noqa: E402
from lstmvis_db.extract import CharTokenizer, extract_project, load_model, rnn_adapter  # noqa: E402
from tests.support import ROOT  # noqa: E402

transformers.utils.logging.set_verbosity_error()
ATOL = 1e-5


def _lstm():
    torch.manual_seed(11)
    tok = CharTokenizer("abcdefgh ")
    emb = torch.nn.Embedding(tok.vocab_size, 4)
    return tok, emb, torch.nn.LSTM(4, 6, num_layers=2)


def test_reset_every_n_tokens(tmp_path: Path) -> None:
    tok, emb, lstm = _lstm()
    text = "abc defg hab cdefgha bcd efgh"
    s = extract_project(rnn_adapter(lstm, tok, emb), {"d": text}, tmp_path / "r.duckdb", chunk=4, reset_every=7)
    assert s.settings["extract.reset_every"] == "7" and "every 7 tokens" in s.settings["extract.processing"]
    ad = rnn_adapter(lstm, tok, emb)
    ids = tok.encode(text, "d").ids
    keys = [sp.key for sp in ad.sources()]
    segments = [ad.run(ids[a:a + 7], keys)[0] for a in range(0, len(ids), 7)]  # each from a zero state
    with api.open(tmp_path / "r.duckdb") as p:
        for key in keys:
            np.testing.assert_allclose(p.window(key[0], 0, len(ids) - 1),
                                       np.vstack([seg.states[key] for seg in segments]), atol=ATOL, rtol=0)
        ctx = p.annotations("context", np.arange(len(ids)))["value"].to_numpy()
    assert list(ctx) == [i % 7 + 1 for i in range(len(ids))]
    plain = extract_project(rnn_adapter(lstm, tok, emb), {"d": text}, tmp_path / "p.duckdb")
    assert plain.settings["extract.reset_every"] == "doc"
    with api.open(tmp_path / "p.duckdb") as p:  # without resets the state is carried through the document
        assert not np.allclose(p.window("cell2", 7, 13), segments[1].states[("cell2", 2, "cell")], atol=1e-3)
    with pytest.raises(InputError, match="must be 'doc' or at least 1"):
        extract_project(rnn_adapter(lstm, tok, emb), {"d": text}, tmp_path / "x.duckdb", reset_every=0)


def test_binary_and_undecodable_files_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tok, emb, lstm = _lstm()
    folder = tmp_path / "texts"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("abc def", encoding="utf-8")
    (folder / "sub" / "b.md").write_text("gh ab", encoding="utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    with caplog.at_level(logging.WARNING, logger="lstmvis_db.extract"):
        s = extract_project(rnn_adapter(lstm, tok, emb), [folder], tmp_path / "f.duckdb")
    assert s.documents == 2
    assert sorted(r.getMessage() for r in caplog.records) == [
        f"skipped {folder / 'image.png'}: binary (a NUL byte)",
        f"skipped {folder / 'latin.txt'}: not UTF-8 (byte 0xe9 at offset 3)",
    ]
    assert "image.png" in s.settings["extract.skipped"]
    only = extract_project(rnn_adapter(lstm, tok, emb), [folder], tmp_path / "g.duckdb", glob="*.md")
    assert only.documents == 1 and only.settings["extract.glob"] == "*.md"
    with pytest.raises(InputError, match="no files matching"):
        extract_project(rnn_adapter(lstm, tok, emb), [folder], tmp_path / "h.duckdb", glob="*.csv")
    with pytest.raises(InputError, match="not UTF-8"):  # a file named on its own is still an error
        extract_project(rnn_adapter(lstm, tok, emb), [folder / "latin.txt"], tmp_path / "i.duckdb")


@pytest.fixture()
def llama_folder(tmp_path: Path) -> Path:
    import tokenizers

    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=12, hidden_size=8, intermediate_size=12, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=32))
    tk = tokenizers.Tokenizer(tokenizers.models.WordLevel({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    tk.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    folder = tmp_path / "llama"
    model.save_pretrained(folder)
    transformers.PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]").save_pretrained(folder)
    return folder


def test_layers_and_kinds_checked_before_the_weights_load(llama_folder: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[str] = []

    def expensive(*_a: object, **_k: object) -> None:
        calls.append("loaded")
        raise AssertionError("the weights must not load")

    for auto in ("AutoModelForCausalLM", "AutoModel", "AutoTokenizer"):
        monkeypatch.setattr(getattr(transformers, auto), "from_pretrained", expensive)
    with pytest.raises(InputError, match="layer 5 does not exist: the model has layers 0..2"):
        load_model(str(llama_folder), layers=[5])
    with pytest.raises(InputError, match="kind 'cell' does not exist: the model has hidden, mlp, attn"):
        load_model(str(llama_folder), kinds=["cell"])
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="device 'cuda' is not available on this machine"):
            load_model(str(llama_folder), device="cuda")
    text = tmp_path / "t.txt"
    text.write_text("a b", encoding="utf-8")
    code = main(["extract", "--model", str(llama_folder), "--text", str(text), "--db", str(tmp_path / "o.duckdb"),
                 "--layers", "9", "--quiet"])
    assert code == 2 and "layer 9 does not exist" in capsys.readouterr().err
    assert calls == []
    monkeypatch.undo()
    ad = load_model(str(llama_folder), layers=[2], kinds=["attn"], device="auto", dtype="auto")
    assert ad.settings()["device"] == "cpu" or torch.cuda.is_available()


FACTORY = """
import time
import torch
from lstmvis_db.extract import CharTokenizer

def build():
    torch.manual_seed(0)
    emb = torch.nn.Embedding(3, 2)
    def slow(ids):
        time.sleep(0.05)
        return emb(ids)
    return slow, torch.nn.LSTM(2, 3), CharTokenizer("ab ")
"""


def test_sigterm_removes_temporary_files(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(FACTORY, encoding="utf-8")
    (tmp_path / "t.txt").write_text("ab " * 400, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lstmvis_db", "extract", "--model", f"{tmp_path / 'slow.py'}:build",
                             "--text", str(tmp_path / "t.txt"), "--db", str(out / "o.duckdb"), "--chunk", "1",
                             "--quiet"], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not any(out.glob(".lstmvis-extract-*")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert any(out.glob(".lstmvis-extract-*")), "extraction never started"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert list(out.iterdir()) == []


class TwoLSTMs(torch.nn.Module):
    """A model built from two separate recurrent modules, one after the other."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.emb = torch.nn.Embedding(9, 4)
        self.first = torch.nn.LSTM(4, 6)
        self.second = torch.nn.LSTM(6, 3, num_layers=2)
        self.out = torch.nn.Linear(3, 9)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y1, _ = self.first(self.emb(ids).unsqueeze(1))
        y2, _ = self.second(y1)
        return y1[:, 0], y2[:, 0]


def test_model_of_several_recurrent_modules(tmp_path: Path) -> None:
    tok = CharTokenizer("abcdefgh ")
    model = TwoLSTMs()
    ad = rnn_adapter(None, tok, model)
    assert [s.source for s in ad.sources()] == ["hidden1", "cell1", "hidden2", "cell2", "hidden3", "cell3"]
    assert ad.can_predict  # the Linear from the last module's output to the vocabulary
    text = "abc defg hab cdefgha"
    extract_project(ad, {"d": text}, tmp_path / "two.duckdb", chunk=5)
    ids = torch.tensor(tok.encode(text, "d").ids)
    with torch.no_grad():
        y1, y3 = model(ids)
    with api.open(tmp_path / "two.duckdb") as p:
        np.testing.assert_allclose(p.window("hidden1", 0, len(ids) - 1), y1.numpy(), atol=ATOL, rtol=0)
        np.testing.assert_allclose(p.window("hidden3", 0, len(ids) - 1), y3.numpy(), atol=ATOL, rtol=0)
    with pytest.raises(InputError, match="module 2 takes inputs of width 5 but module 1 gives 6"):
        rnn_adapter([torch.nn.LSTM(4, 6), torch.nn.LSTM(5, 3)], tok, torch.nn.Embedding(9, 4))
    with pytest.raises(InputError, match="several modules must be of one kind"):
        rnn_adapter([torch.nn.LSTM(4, 6), torch.nn.GRU(6, 3)], tok, torch.nn.Embedding(9, 4))


def test_quiet_silences_the_gguf_loaders_bar_and_restores_it(capsys: pytest.CaptureFixture[str]) -> None:
    """tqdm reads TQDM_DISABLE once, at its import: the GGUF loader's bar needs its own switch."""
    gguf_utils = pytest.importorskip("transformers.modeling_gguf_pytorch_utils")
    from lstmvis_db.extract.hf_load import quiet_transformers

    original = gguf_utils.tqdm
    with quiet_transformers(True):
        for _ in gguf_utils.tqdm(range(3), desc="Converting and de-quantizing GGUF tensors..."):
            pass
    assert "de-quantizing" not in capsys.readouterr().err
    assert gguf_utils.tqdm is original
