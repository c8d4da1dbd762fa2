"""Keras HDF5 weight files (LSTM, CuDNNLSTM, GRU) give the same states as torch modules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
h5py = pytest.importorskip("h5py")

from lstmvis_db.errors import InputError
from lstmvis_db.extract import extract_project, keras_adapter, load_model

ATOL = 1e-5
CHARS = "abcdefgh ()\n"
VOCAB = {c: i + 1 for i, c in enumerate(CHARS)}  # Keras style: 0 is the padding row
TEXT = "abc (def) gh\nhgf"


def write_keras(path: Path, layers: list[tuple[str, str, dict[str, np.ndarray], dict]], *,
                config: bool = False, full_model: bool = False) -> None:
    """A Keras 2 weight file: root attrs layer_names, per-layer weight_names and datasets."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.1.5"
        f.attrs["backend"] = b"tensorflow"
        root = f.create_group("model_weights") if full_model else f
        root.attrs["layer_names"] = np.array([n.encode() for n, _, _, _ in layers])
        for name, _, weights, _ in layers:
            g = root.create_group(name)
            g.attrs["weight_names"] = np.array([f"{name}/{w}:0".encode() for w in weights])
            for w, arr in weights.items():
                g.create_dataset(f"{name}/{w}:0", data=np.asarray(arr, dtype=np.float32))
        if config:
            cfg = {"class_name": "Model", "config": {"layers": [
                {"class_name": cls, "config": {"name": n, **conf}} for n, cls, _, conf in layers]}}
            f.attrs["model_config"] = json.dumps(cfg).encode()


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().astype(np.float32)


def lstm_keras(w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor) -> dict:
    return {"kernel": _np(w_ih).T, "recurrent_kernel": _np(w_hh).T, "bias": _np(b_ih + b_hh)}


def lstm_cudnn(w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor) -> dict:
    """Keras 2.1 CuDNNLSTM: each gate's (in, u) column block holds the raw (u, in) matrix."""
    u = w_hh.shape[1]
    n_in = w_ih.shape[1]
    kernel = np.concatenate([_np(w_ih[g * u:(g + 1) * u]).reshape(n_in, u) for g in range(4)], axis=1)
    rk = np.concatenate([_np(w_hh[g * u:(g + 1) * u]).reshape(u, u) for g in range(4)], axis=1)
    return {"kernel": kernel, "recurrent_kernel": rk, "bias": np.concatenate([_np(b_ih), _np(b_hh)])}


def gru_keras(w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor) -> dict:
    """Keras GRU with reset_after=True: gate columns z, r, h; bias rows input, recurrent."""
    u = w_hh.shape[1]

    def zrh(m: np.ndarray) -> np.ndarray:
        return np.concatenate([m[u:2 * u], m[:u], m[2 * u:]], axis=0)

    return {"kernel": zrh(_np(w_ih)).T, "recurrent_kernel": zrh(_np(w_hh)).T,
            "bias": np.stack([zrh(_np(b_ih)), zrh(_np(b_hh))])}


def _layer(module: torch.nn.Module, k: int, sfx: str = "") -> tuple[torch.Tensor, ...]:
    return tuple(getattr(module, f"{n}_l{k}{sfx}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def _reference(module: torch.nn.Module, emb: np.ndarray, text: str) -> dict[int, np.ndarray]:
    """Per-layer outputs of a torch stack, layer by layer (fused single-layer runs)."""
    ids = torch.tensor([VOCAB[c] for c in text])
    x = torch.tensor(emb)[ids]
    out = {}
    with torch.no_grad():
        for k in range(module.num_layers):
            sub = type(module)(x.shape[1], module.hidden_size, bidirectional=module.bidirectional)
            for name, _ in sub.named_parameters():
                getattr(sub, name).copy_(getattr(module, name.replace("_l0", f"_l{k}")))
            y, _ = sub(x.unsqueeze(1))
            x = y[:, 0]
            out[k + 1] = x.numpy()
    return out


def _states(adapter, text: str) -> dict:
    out, _ = adapter.run(adapter.tokenize(text, "t").ids, [s.key for s in adapter.sources()])
    return {k[0]: v for k, v in out.states.items()}


@pytest.fixture()
def emb() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(size=(len(CHARS) + 1, 4)).astype(np.float32)


@pytest.fixture()
def vocab_file(tmp_path: Path) -> Path:
    p = tmp_path / "vocab.json"
    p.write_text(json.dumps(VOCAB), encoding="utf-8")
    return p


@pytest.mark.parametrize("layout", ["LSTM", "CuDNNLSTM"])
def test_lstm_layouts_equal_torch(layout: str, emb: np.ndarray, vocab_file: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 5, num_layers=2)
    conv = lstm_keras if layout == "LSTM" else lstm_cudnn
    layers = [("embedding", "Embedding", {"embeddings": emb}, {})]
    layers += [(f"rnn_{k + 1}", layout, conv(*_layer(lstm, k)), {}) for k in range(2)]
    layers += [("attention", "Attention", {"attention_W": np.ones((9, 1))}, {})]
    path = tmp_path / "w.hdf5"
    write_keras(path, layers)
    ad = keras_adapter(path, vocab_file)
    got = _states(ad, TEXT)
    ref = _reference(lstm, emb, TEXT)
    np.testing.assert_allclose(got["hidden1"], ref[1], atol=ATOL)
    np.testing.assert_allclose(got["hidden2"], ref[2], atol=ATOL)
    assert set(got) == {"hidden1", "cell1", "hidden2", "cell2"}
    with torch.no_grad():  # the last cell state of each layer is torch's c_n
        x = torch.tensor(emb)[torch.tensor([VOCAB[c] for c in TEXT])]
        _, (_, c_n) = lstm(x.unsqueeze(1))
    np.testing.assert_allclose(got["cell1"][-1], c_n[0, 0].numpy(), atol=ATOL)
    np.testing.assert_allclose(got["cell2"][-1], c_n[1, 0].numpy(), atol=ATOL)
    if layout == "CuDNNLSTM":  # reading raw cuDNN memory as plain Keras kernels is wrong
        wrong = _states(keras_adapter(path, vocab_file, cudnn_layout="keras"), TEXT)
        assert np.abs(wrong["hidden2"] - ref[2]).max() > 1e-3


def test_gru_reset_after_equals_torch(emb: np.ndarray, vocab_file: Path, tmp_path: Path) -> None:
    torch.manual_seed(1)
    gru = torch.nn.GRU(4, 5, num_layers=2)
    layers = [("embedding", "Embedding", {"embeddings": emb}, {})]
    layers += [(f"gru_{k + 1}", "GRU", gru_keras(*_layer(gru, k)), {"reset_after": True}) for k in range(2)]
    path = tmp_path / "gru.h5"
    write_keras(path, layers, config=True, full_model=True)
    got = _states(keras_adapter(path, vocab_file), TEXT)
    ref = _reference(gru, emb, TEXT)
    assert set(got) == {"hidden1", "hidden2"}
    np.testing.assert_allclose(got["hidden1"], ref[1], atol=ATOL)
    np.testing.assert_allclose(got["hidden2"], ref[2], atol=ATOL)


def _hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def test_classic_keras_gru_and_hard_sigmoid_lstm(emb: np.ndarray, vocab_file: Path, tmp_path: Path) -> None:
    """Variants torch has no module for, against the Keras formulas written out in numpy."""
    rng = np.random.default_rng(2)
    u = 3
    k_gru = rng.normal(size=(4, 3 * u)).astype(np.float32)
    r_gru = rng.normal(size=(u, 3 * u)).astype(np.float32)
    b_gru = rng.normal(size=(3 * u,)).astype(np.float32)
    k_lstm = rng.normal(size=(4, 4 * u)).astype(np.float32)
    r_lstm = rng.normal(size=(u, 4 * u)).astype(np.float32)
    b_lstm = rng.normal(size=(4 * u,)).astype(np.float32)
    xs = emb[[VOCAB[c] for c in TEXT]]

    h = np.zeros(u, np.float32)
    gru_ref = []
    for x in xs:  # Keras GRU, reset_after=False, gates z, r, h; hard_sigmoid from the config
        z = _hard_sigmoid(x @ k_gru[:, :u] + b_gru[:u] + h @ r_gru[:, :u])
        r = _hard_sigmoid(x @ k_gru[:, u:2 * u] + b_gru[u:2 * u] + h @ r_gru[:, u:2 * u])
        hh = np.tanh(x @ k_gru[:, 2 * u:] + b_gru[2 * u:] + (r * h) @ r_gru[:, 2 * u:])
        h = z * h + (1 - z) * hh
        gru_ref.append(h)
    path = tmp_path / "gru_classic.h5"
    write_keras(path, [("embedding", "Embedding", {"embeddings": emb}, {}),
                       ("gru", "GRU", {"kernel": k_gru, "recurrent_kernel": r_gru, "bias": b_gru},
                        {"recurrent_activation": "hard_sigmoid", "reset_after": False})], config=True)
    got = _states(keras_adapter(path, vocab_file), TEXT)
    np.testing.assert_allclose(got["hidden1"], np.array(gru_ref), atol=ATOL)

    h, c = np.zeros(u, np.float32), np.zeros(u, np.float32)
    hs, cs = [], []
    for x in xs:  # Keras LSTM with hard_sigmoid gates (the config is absent: passed as argument)
        g = x @ k_lstm + h @ r_lstm + b_lstm
        i, f, cc, o = (g[j * u:(j + 1) * u] for j in range(4))
        c = _hard_sigmoid(f) * c + _hard_sigmoid(i) * np.tanh(cc)
        h = _hard_sigmoid(o) * np.tanh(c)
        hs.append(h)
        cs.append(c)
    path2 = tmp_path / "lstm_hard.h5"
    write_keras(path2, [("embedding", "Embedding", {"embeddings": emb}, {}),
                        ("lstm", "LSTM", {"kernel": k_lstm, "recurrent_kernel": r_lstm, "bias": b_lstm}, {})])
    got = _states(keras_adapter(path2, vocab_file, recurrent_activation="hard_sigmoid"), TEXT)
    np.testing.assert_allclose(got["hidden1"], np.array(hs), atol=ATOL)
    np.testing.assert_allclose(got["cell1"], np.array(cs), atol=ATOL)


def test_bidirectional_keras_lstm(emb: np.ndarray, vocab_file: Path, tmp_path: Path) -> None:
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(4, 5, bidirectional=True)
    weights = {}
    for d, sfx in (("forward_lstm_1", ""), ("backward_lstm_1", "_reverse")):
        for k, v in lstm_keras(*_layer(lstm, 0, sfx)).items():
            weights[f"{d}/{k}"] = v
    path = tmp_path / "bi.h5"
    write_keras(path, [("embedding", "Embedding", {"embeddings": emb}, {}),
                       ("bidirectional_1", "Bidirectional", weights, {})])
    ad = keras_adapter(path, vocab_file)
    assert ad.whole_document
    got = _states(ad, TEXT)
    ref = _reference(lstm, emb, TEXT)
    np.testing.assert_allclose(np.hstack([got["hidden1"], got["hidden_reverse1"]]), ref[1], atol=ATOL)


def test_keras_extraction_end_to_end(emb: np.ndarray, vocab_file: Path, tmp_path: Path) -> None:
    torch.manual_seed(4)
    lstm = torch.nn.LSTM(4, 5)
    dense = {"kernel": np.random.default_rng(5).normal(size=(5, len(CHARS) + 1)), "bias": np.zeros(len(CHARS) + 1)}
    path = tmp_path / "m.hdf5"
    write_keras(path, [("embedding", "Embedding", {"embeddings": emb}, {}),
                       ("lstm_1", "LSTM", lstm_keras(*_layer(lstm, 0)), {}),
                       ("output", "Dense", dense, {})])
    ad = load_model(str(path), vocab=vocab_file)
    assert ad.family == "keras" and ad.can_predict  # the Dense after the LSTM is the head
    s = extract_project(ad, {"d": TEXT + "zz"}, tmp_path / "k.duckdb", chunk=4, topk=2)
    assert s.tokens == len(TEXT) + 2  # unknown characters map to the padding id 0
    assert s.tracks == [{"track": "context", "kind": "scalar"}, {"track": "next_token", "kind": "topk"}]


def test_bad_keras_inputs(emb: np.ndarray, vocab_file: Path, tmp_path: Path) -> None:
    not_h5 = tmp_path / "x.h5"
    not_h5.write_text("nope", encoding="utf-8")
    with pytest.raises(InputError, match="not an HDF5 file"):
        keras_adapter(not_h5, vocab_file)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f.create_dataset("x", data=np.zeros(2))
    with pytest.raises(InputError, match="not a Keras 2 weight file"):
        keras_adapter(plain, vocab_file)
    only_emb = tmp_path / "emb.h5"
    write_keras(only_emb, [("embedding", "Embedding", {"embeddings": emb}, {})])
    with pytest.raises(InputError, match="no LSTM, CuDNNLSTM or GRU layer"):
        keras_adapter(only_emb, vocab_file)
    with pytest.raises(InputError, match="needs a vocabulary"):
        load_model(str(only_emb))
    small = tmp_path / "small.h5"
    torch.manual_seed(0)
    write_keras(small, [("embedding", "Embedding", {"embeddings": emb[:5]}, {}),
                        ("lstm", "LSTM", lstm_keras(*_layer(torch.nn.LSTM(4, 3), 0)), {})])
    with pytest.raises(InputError, match="tokenizer has 13 ids but the embedding has 5 rows"):
        keras_adapter(small, vocab_file)
