"""Built-in demos: numpy forward passes vs torch, determinism, data checksums, tracks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db.demos import cli as demo_cli
from lstmvis_db.demos import registry as demo
from lstmvis_db.demos.common import DATA_DIR, DATA_FILES, verify_data_file
from lstmvis_db.demos.nplstm import CharLstmModel, LstmWeights, TextgenrnnModel, stacked_forward
from lstmvis_db.demos.parens import PARENS_VOCAB, generate_parens
from lstmvis_db.demos.scenes import SEG_SPEECH, SEG_STAGE, parse_scenes
from lstmvis_db.errors import InputError
from tests.support import ROOT

DATA = DATA_DIR


def _torch_lstm(weights: list[LstmWeights]):
    """A torch.nn.LSTM (float32, batch_first) loaded with the given layers."""
    torch = pytest.importorskip("torch")
    lstm = torch.nn.LSTM(weights[0].n_in, weights[0].hidden, num_layers=len(weights),
                         batch_first=True)
    with torch.no_grad():
        for i, w in enumerate(weights):
            getattr(lstm, f"weight_ih_l{i}").copy_(torch.from_numpy(w.w_ih.astype(np.float32)))
            getattr(lstm, f"weight_hh_l{i}").copy_(torch.from_numpy(w.w_hh.astype(np.float32)))
            getattr(lstm, f"bias_ih_l{i}").copy_(torch.from_numpy(w.b_ih.astype(np.float32)))
            getattr(lstm, f"bias_hh_l{i}").copy_(torch.from_numpy(w.b_hh.astype(np.float32)))
    return lstm


def _torch_layer_states(weights: list[LstmWeights], x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-step (h, c) of every layer from torch, by running single-layer LSTMs in turn."""
    torch = pytest.importorskip("torch")
    out = []
    inp = torch.from_numpy(x.astype(np.float32))
    for w in weights:
        lstm = _torch_lstm([w])
        h = torch.zeros(1, x.shape[0], w.hidden)
        c = torch.zeros(1, x.shape[0], w.hidden)
        hs, cs = [], []
        with torch.no_grad():
            for t in range(x.shape[1]):  # step by step to get c at every step
                _, (h, c) = lstm(inp[:, t:t + 1], (h, c))
                hs.append(h[0].numpy().copy())
                cs.append(c[0].numpy().copy())
            inp = torch.from_numpy(np.stack(hs, axis=1))
        out.append((np.stack(hs, axis=1), np.stack(cs, axis=1)))
    return out


def test_numpy_lstm_matches_torch_random_weights() -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    layers = []
    for n_in in (5, 16):
        layers.append(LstmWeights(
            rng.normal(0, 0.5, (64, n_in)).astype(np.float32),
            rng.normal(0, 0.5, (64, 16)).astype(np.float32),
            rng.normal(0, 0.5, 64).astype(np.float32),
            rng.normal(0, 0.5, 64).astype(np.float32)))
    x = rng.normal(size=(3, 60, 5)).astype(np.float32)
    ours = stacked_forward(x, layers)
    ref = _torch_layer_states(layers, x)
    for st, (h, c) in zip(ours, ref):
        np.testing.assert_allclose(st.h, h, atol=1e-5)
        np.testing.assert_allclose(st.c, c, atol=1e-5)


def test_textgenrnn_forward_matches_torch_float64() -> None:
    """In float64 the numpy and torch passes agree to rounding (the algorithm is the same)."""
    torch = pytest.importorskip("torch")
    model = TextgenrnnModel.load(DATA / "textgenrnn" / "weights.npz", dtype=np.float64)
    ids = np.random.default_rng(3).integers(1, 465, size=(2, 40))
    states, _ = model.forward(ids)
    emb = torch.from_numpy(model.embedding[ids])
    inp = emb
    for w, st in zip(model.weights, states):
        lstm = torch.nn.LSTM(w.n_in, w.hidden, batch_first=True).double()
        with torch.no_grad():
            for name, arr in (("weight_ih_l0", w.w_ih), ("weight_hh_l0", w.w_hh),
                              ("bias_ih_l0", w.b_ih), ("bias_hh_l0", w.b_hh)):
                getattr(lstm, name).copy_(torch.from_numpy(arr.astype(np.float64)))
            h, (_hn, cn) = lstm(inp)
        np.testing.assert_allclose(st.h, h.numpy(), atol=1e-9)
        np.testing.assert_allclose(st.c[:, -1], cn[0].numpy(), atol=1e-9)
        inp = h


def test_textgenrnn_forward_matches_torch() -> None:
    """The converted pretrained LSTMs and the attention + softmax head (float32, the build's
    precision), against torch: h and probabilities to 1e-5; the unbounded cell states c
    (|c| up to ~6) to 1e-5 relative."""
    torch = pytest.importorskip("torch")
    model = TextgenrnnModel.load(DATA / "textgenrnn" / "weights.npz")
    vocab = json.loads((DATA / "textgenrnn" / "vocab.json").read_text(encoding="utf-8"))
    stoi = {c: i for i, c in enumerate(vocab["itos"]) if c is not None}
    text = "To be, or not to be, that is the question: Whether 'tis nobler"
    ids = np.array([[stoi.get(ch, 0) for ch in text[:40]]])
    states, feats = model.forward(ids)
    emb = model.embedding[ids]
    ref = _torch_layer_states(model.weights, emb)
    for st, (h, c) in zip(states, ref):
        np.testing.assert_allclose(st.h, h, atol=1e-5)
        np.testing.assert_allclose(st.c, c, atol=1e-5, rtol=1e-5)
    # attention + dense softmax over the 40-step window, written in torch
    x = torch.from_numpy(np.concatenate([emb, ref[0][0], ref[1][0]], axis=2)[0])
    logits = x @ torch.from_numpy(model.attention_w)
    ai = torch.exp(logits - logits.max())
    att = ai / (ai.sum() + 1e-7)
    pooled = (x * att[:, None]).sum(0)
    probs = torch.softmax(pooled @ torch.from_numpy(model.output_kernel)
                          + torch.from_numpy(model.output_bias), dim=0).numpy()
    ours = model.predict(feats, 1)[0, 0]
    np.testing.assert_allclose(ours, probs, atol=1e-5)


def test_textgenrnn_layout_reads_english() -> None:
    """With the right cuDNN layout the model predicts Shakespeare's next characters well
    (the transposed layout gives garbage: top-1 accuracy near zero)."""
    model = TextgenrnnModel.load(DATA / "textgenrnn" / "weights.npz")
    vocab = json.loads((DATA / "textgenrnn" / "vocab.json").read_text(encoding="utf-8"))
    stoi = {c: i for i, c in enumerate(vocab["itos"]) if c is not None}
    scenes = parse_scenes((DATA / "shakespeare" / "scenes.md").read_text(encoding="utf-8"))
    text = scenes[1].text[:800].replace("\n", " ")
    ids = np.array([stoi.get(ch, 0) for ch in text])
    run = model.run_documents([ids], k=5, stride=8)
    acc = float(np.mean(run["topk_ids"][:-1, 0] == ids[1:]))
    assert acc > 0.35


def test_char_lstm_matches_torch() -> None:
    """The parens model: numpy forward (states and probabilities) equals torch's."""
    torch = pytest.importorskip("torch")
    model = CharLstmModel.load(DATA / "parens" / "weights.npz")
    tokens, _ = generate_parens(300, np.random.default_rng(5))
    ids = np.array([[PARENS_VOCAB.index(t) for t in tokens]])
    states, probs = model.forward(ids)
    lstm = _torch_lstm(model.weights)
    with torch.no_grad():
        emb = torch.from_numpy(model.embedding[ids].astype(np.float32))
        h, _ = lstm(emb)
        logits = h @ torch.from_numpy(model.out_w).T + torch.from_numpy(model.out_b)
        ref = torch.softmax(logits, dim=2).numpy()
    np.testing.assert_allclose(states[-1].h, h.numpy(), atol=1e-5)
    np.testing.assert_allclose(probs, ref, atol=1e-5)


def _states_bytes(path: Path) -> tuple[bytes, dict[str, bytes]]:
    p = lstmvis_db.open(path)
    try:
        n = p.n_positions
        tokens = "\x00".join(p.tokens(0, n - 1)["token"]).encode("utf-8")
        states = {s: p.window(s, 0, n - 1).astype(np.float32).tobytes() for s in p.sources}
    finally:
        p.close()
    return tokens, states


@pytest.mark.parametrize("name,limit", [("shakespeare", 1500), ("phrases", 1200), ("parens", 3000),
                                        ("chorales", 1500)])
def test_builds_are_deterministic(tmp_path: Path, name: str, limit: int) -> None:
    if name not in demo.DEMOS:
        pytest.skip(f"demo {name} not registered")
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    pa = demo.build_demo(name, a, limit=limit)
    pb = demo.build_demo(name, b, limit=limit)
    ta, sa = _states_bytes(pa)
    tb, sb = _states_bytes(pb)
    assert ta == tb
    assert sa.keys() == sb.keys() and len(sa) == 4
    for key in sa:
        assert sa[key] == sb[key], key
    # the ProjectData itself is identical too (before the store)
    da = demo.demo_data(name, limit=limit)
    db = demo.demo_data(name, limit=limit)
    for s1, s2 in zip(da.sources, db.sources):
        assert np.asarray(s1.values).tobytes() == np.asarray(s2.values).tobytes()


def _copy_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for rel in DATA_FILES:
        src = DATA / rel
        dst = data / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return data


def test_corrupted_data_file_names_file_and_script(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    target = data / "shakespeare_chars" / "weights.npz"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    out = tmp_path / "out"
    out.mkdir()
    good = out / "shakespeare.duckdb"
    good.write_bytes(b"previous good file")
    with pytest.raises(InputError) as err:
        demo.build_demo("shakespeare", out, limit=500, data_dir=data)
    msg = str(err.value)
    assert "weights.npz" in msg and "corrupted" in msg
    assert "scripts/train_char_lm.py" in msg
    assert good.read_bytes() == b"previous good file"  # a failed build keeps the old file


def test_missing_data_file_names_file_and_script(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    (data / "parens" / "weights.npz").unlink()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError) as err:
        demo.build_demo("parens", out, limit=500, data_dir=data)
    msg = str(err.value)
    assert "parens/weights.npz" in msg and "missing" in msg
    assert "scripts/train_parens.py" in msg


def test_committed_data_files_match_checksums() -> None:
    for rel in DATA_FILES:
        verify_data_file(rel)


def test_unknown_demo() -> None:
    with pytest.raises(InputError, match="unknown demo"):
        demo.demo_data("nope")


EXPECTED_TRACKS = {
    "shakespeare": {"char_class", "word_boundary", "word_pos", "word_length", "pos", "tag", "dep",
                    "dep_depth", "chunk_iob", "noun_chunk", "entity", "speaker", "segment", "stage_direction",
                    "verse_line", "line_pos", "line_remaining", "next_char", "surprisal"},
    "phrases": {"pos", "tag", "dep", "dep_depth", "chunk_iob", "noun_chunk", "entity", "speaker", "segment",
                "stage_direction", "verse_line", "next_word", "surprisal"},
    "parens": {"depth", "depth_value", "token_type", "next_token", "surprisal"},
    "chorales": {"key", "local_key", "local_numeral", "roman_numeral", "function", "phrase_end", "cadence",
                 "human_numeral", "human_key", "sonority", "transposition", "on_beat", "next_chord", "surprisal"},
}


@pytest.mark.parametrize("name,limit", [("shakespeare", 2500), ("phrases", 4000), ("parens", 2000),
                                        ("chorales", 2000)])
def test_demo_tracks_sources_and_suggestion(tmp_path: Path, name: str, limit: int) -> None:
    if name not in demo.DEMOS:
        pytest.skip(f"demo {name} not registered")
    path = demo.build_demo(name, tmp_path, limit=limit)
    assert path == tmp_path / f"{name}.duckdb"
    p = lstmvis_db.open(path)
    try:
        assert set(p.tracks()["track"]) >= EXPECTED_TRACKS[name]
        assert p.sources == ["layer1_h", "layer1_c", "layer2_h", "layer2_c"]
        assert p.n_positions == limit
        assert len(p.documents) >= 1
        meta = p.meta()
        for key in ("suggest_source", "suggest_start", "suggest_end", "suggest_threshold"):
            assert key in meta
        assert meta["suggest_source"] in p.sources
        assert "Try first" in meta["description"]
        start, end = int(meta["suggest_start"]), int(meta["suggest_end"])
        cells = p.select(meta["suggest_source"], start, end, float(meta["suggest_threshold"]))
        assert cells, "the suggested hypothesis selects no cell"
    finally:
        p.close()


def test_shakespeare_rendering_keeps_structure() -> None:
    scenes = parse_scenes((DATA / "shakespeare" / "scenes.md").read_text(encoding="utf-8"))
    assert len(scenes) == 8
    hamlet = scenes[2]
    assert hamlet.name.startswith("Hamlet III.1")
    text = hamlet.text
    assert "HAMLET:\nTo be, or not to be: that is the question:\n" in text
    i = text.index("[Exeunt ROSENCRANTZ and GUILDENSTERN]")
    assert set(hamlet.segment[i:i + 10]) == {SEG_STAGE}
    j = text.index("To be, or not to be")
    assert hamlet.speaker[j] == "HAMLET" and hamlet.segment[j] == SEG_SPEECH
    assert "_" not in text and "\\" not in text


def test_chorales_suggestion_is_an_authentic_cadence(tmp_path: Path) -> None:
    """On a cut build (first 10,000 chords, no held-out chorale) the suggestion falls back to the
    first authentic cadence; its cells' matches are still enriched in authentic cadences.  (The
    default build's suggestion and its q are checked in tests/unit/test_demo_findings.py.)"""
    path = demo.build_demo("chorales", tmp_path, limit=10_000)
    p = lstmvis_db.open(path)
    try:
        meta = p.meta()
        start, end = int(meta["suggest_start"]), int(meta["suggest_end"])
        assert end == start + 1
        cad = p.annotations("cadence", [start, end])
        assert list(cad["label"]) == ["authentic", "authentic"]
        threshold = float(meta["suggest_threshold"])
        cells = p.select(meta["suggest_source"], start, end, threshold)
        assert cells
        result = p.align(meta["suggest_source"], cells, threshold, tracks=["cadence"])
        best = min((r for r in result["tests"] if r["label"] == "authentic"), key=lambda r: r["p"])
        assert best["q"] <= 0.01 and best["lift"] > 2
    finally:
        p.close()


def test_build_needs_no_torch(tmp_path: Path) -> None:
    """The demo build runs the models in numpy: it works with torch made unimportable."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from lstmvis_db.demos import registry as demo\n"
        f"demo.build_demo('parens', {str(tmp_path)!r}, limit=400)\n"
        f"demo.build_demo('shakespeare', {str(tmp_path)!r}, limit=300)\n"
        f"demo.build_demo('phrases', {str(tmp_path)!r}, limit=300)\n"
        "assert 'streamlit' not in sys.modules and 'spacy' not in sys.modules\n"
    )
    root = ROOT
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
    assert (tmp_path / "parens.duckdb").is_file() and (tmp_path / "shakespeare.duckdb").is_file()
    assert (tmp_path / "phrases.duckdb").is_file()


def test_cli_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``lstmvis-db demo --only NAME --out DIR`` (registered through demo_cli.add_parser)."""
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    demo_cli.add_parser(sub)
    args = parser.parse_args(["demo", "--only", "parens", "--out", str(tmp_path), "--limit", "300"])
    args.handler(args)
    assert (tmp_path / "parens.duckdb").is_file()
    assert "parens.duckdb" in capsys.readouterr().out


def test_data_readme_lists_every_checksum() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for rel, spec in DATA_FILES.items():
        assert f"`{rel}`" in readme and spec.sha256 in readme, rel
