"""PyTorch recurrent modules: unrolled states equal the fused modules; chunking is exact."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lstmvis_db.errors import InputError
from lstmvis_db.extract import CharTokenizer, extract_project, load_model
from lstmvis_db.extract.rnn import rnn_adapter
from lstmvis_db.extract.unroll import run_cell, run_cell_loop, unroll
from lstmvis_db.extract.weights import stack_from_module

ATOL = 1e-5

MODULES = [
    ("lstm", lambda bi: torch.nn.LSTM(5, 6, num_layers=3, bidirectional=bi)),
    ("lstm-proj", lambda bi: torch.nn.LSTM(5, 6, num_layers=2, bidirectional=bi, proj_size=3)),
    ("gru", lambda bi: torch.nn.GRU(5, 6, num_layers=3, bidirectional=bi)),
    ("rnn-tanh", lambda bi: torch.nn.RNN(5, 6, num_layers=2, bidirectional=bi)),
    ("rnn-relu", lambda bi: torch.nn.RNN(5, 6, num_layers=2, bidirectional=bi, nonlinearity="relu")),
    ("lstm-batch-first-nobias", lambda bi: torch.nn.LSTM(5, 6, num_layers=2, bidirectional=bi,
                                                           batch_first=True, bias=False)),
]


def _fused_layer_outputs(module: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Per-step outputs of every layer, from single-layer slices of the fused module."""
    outs = []
    inp = x
    for k in range(module.num_layers):
        sub = type(module)(inp.shape[1], module.hidden_size, num_layers=1,
                           bidirectional=module.bidirectional, bias=module.bias,
                           **({"proj_size": module.proj_size} if isinstance(module, torch.nn.LSTM) else {}),
                           **({"nonlinearity": module.nonlinearity} if isinstance(module, torch.nn.RNN) else {}))
        for name, _ in sub.named_parameters():
            getattr(sub, name).data.copy_(getattr(module, name.replace("_l0", f"_l{k}")))
        y, _ = sub(inp.unsqueeze(1))
        inp = y[:, 0]
        outs.append(inp)
    return outs


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("name,make", MODULES, ids=[m[0] for m in MODULES])
def test_unrolled_states_equal_fused_module(name: str, make, bidirectional: bool) -> None:
    torch.manual_seed(1)
    module = make(bidirectional).eval()
    x = torch.randn(17, 5)
    stack = stack_from_module(module)
    with torch.no_grad():
        xin = x.unsqueeze(0) if module.batch_first else x.unsqueeze(1)
        y, hn = module(xin)
        y = y[0] if module.batch_first else y[:, 0]
        outs, _ = unroll(stack, x)
        per_layer = _fused_layer_outputs(module, x) if not module.batch_first else None
        # every layer's per-step hidden state (both directions) against fused single layers
        for k, per in enumerate(outs):
            mine = torch.cat([p[0] for p in per], dim=1)
            if per_layer is not None:
                torch.testing.assert_close(mine, per_layer[k], atol=ATOL, rtol=0)
        torch.testing.assert_close(torch.cat([p[0] for p in outs[-1]], 1), y, atol=ATOL, rtol=0)
        # final states of every layer and direction (h_n, and c_n for LSTMs)
        h_n = hn[0] if isinstance(hn, tuple) else hn
        finals = [p[0][-1] if d == 0 else p[0][0] for per in outs for d, p in enumerate(per)]
        torch.testing.assert_close(torch.stack(finals), h_n[:, 0], atol=ATOL, rtol=0)
        if isinstance(hn, tuple):
            cells = [p[1][-1] if d == 0 else p[1][0] for per in outs for d, p in enumerate(per)]
            torch.testing.assert_close(torch.stack(cells), hn[1][:, 0], atol=ATOL, rtol=0)
        # the fast path (fused kernel + cell-state recurrence) equals the pure step loop
        inp = x
        for dirs in stack.layers:
            hs = []
            for d, w in enumerate(dirs):
                a = run_cell(w, inp, reverse=d == 1)
                b = run_cell_loop(w, inp, reverse=d == 1)
                torch.testing.assert_close(a[0], b[0], atol=ATOL, rtol=0)
                if a[1] is not None:
                    torch.testing.assert_close(a[1], b[1], atol=ATOL, rtol=0)
                hs.append(a[0])
            inp = torch.cat(hs, 1)


def test_lstm_cell_state_matches_manual_step_loop() -> None:
    torch.manual_seed(2)
    lstm = torch.nn.LSTM(3, 4, num_layers=2).eval()
    x = torch.randn(9, 3)
    outs, _ = unroll(stack_from_module(lstm), x)
    cell = torch.nn.LSTMCell(4, 4)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(lstm, f"{name}_l1"))
        h = c = torch.zeros(1, 4)
        for t in range(9):
            h, c = cell(outs[0][0][0][t : t + 1], (h, c))
            torch.testing.assert_close(c[0], outs[1][0][1][t], atol=ATOL, rtol=0)


def _tiny(mode: str = "lstm", bidirectional: bool = False):
    torch.manual_seed(3)
    tok = CharTokenizer("abcdefgh ()\n")
    emb = torch.nn.Embedding(tok.vocab_size, 4)
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[mode]
    rnn = cls(4, 5, num_layers=2, bidirectional=bidirectional)
    head = torch.nn.Linear(5, tok.vocab_size) if not bidirectional else None
    return tok, emb, rnn, head


def _read(db: Path) -> dict[str, np.ndarray]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for (src, d) in con.execute("SELECT source, n_cells FROM sources").fetchall():
            vals = con.execute("SELECT value FROM states WHERE source = ? ORDER BY pos, cell", [src]).fetchall()
            out[src] = np.array([v[0] for v in vals], dtype=np.float32).reshape(-1, d)
        return out
    finally:
        con.close()


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn"])
def test_chunks_with_carried_state_equal_one_pass(mode: str) -> None:
    tok, emb, rnn, head = _tiny(mode)
    ad = rnn_adapter(rnn, tok, emb, head)
    ids = tok.encode("abc (def) gh\nabc hgf edc", "x").ids
    keys = [s.key for s in ad.sources()]
    whole, _ = ad.run(ids, keys, topk=2)
    state, parts = None, []
    for lo in range(0, len(ids), 4):
        out, state = ad.run(ids[lo:lo + 4], keys, state, topk=2)
        parts.append(out)
    expected = {"lstm": ["hidden1", "cell1", "hidden2", "cell2"]}.get(mode, ["hidden1", "hidden2"])
    assert [k[0] for k in keys] == expected
    for k in keys:
        np.testing.assert_allclose(np.vstack([p.states[k] for p in parts]), whole.states[k], atol=ATOL, rtol=0)
    np.testing.assert_array_equal(np.vstack([p.topk_ids for p in parts]), whole.topk_ids)
    with torch.no_grad():  # the top layer equals the fused module
        y, _ = rnn(emb(torch.tensor(ids)).unsqueeze(1))
    np.testing.assert_allclose(whole.states[("hidden2", 2, "hidden")], y[:, 0].numpy(), atol=ATOL, rtol=0)


def test_chunked_extraction_equals_unchunked(tmp_path: Path) -> None:
    tok, emb, rnn, head = _tiny("lstm")
    texts = {"one": "abc (def) gh\nabc", "two": "hgf edc"}
    db = tmp_path / "parts.duckdb"
    s = extract_project(rnn_adapter(rnn, tok, emb, head), texts, db, chunk=3, topk=3)
    assert s.tracks == [{"track": "context", "kind": "scalar"}, {"track": "next_token", "kind": "topk"}]
    stored = _read(db)
    ad = rnn_adapter(rnn, tok, emb, head)
    keys = [sp.key for sp in ad.sources()]
    runs = [ad.run(tok.encode(t, "x").ids, keys)[0] for t in texts.values()]  # one pass per document
    for k in keys:
        np.testing.assert_allclose(stored[k[0]], np.vstack([r.states[k] for r in runs]), atol=ATOL, rtol=0)


def test_bidirectional_extraction(tmp_path: Path) -> None:
    tok, emb, rnn, _ = _tiny("lstm", bidirectional=True)
    db = tmp_path / "bi.duckdb"
    s = extract_project(rnn_adapter(rnn, tok, emb), {"d": "abc def gh"}, db, chunk=2)
    names = [x["source"] for x in s.sources]
    assert names == ["hidden1", "cell1", "hidden_reverse1", "cell_reverse1",
                     "hidden2", "cell2", "hidden_reverse2", "cell_reverse2"]
    assert s.tracks == [{"track": "context", "kind": "scalar"}]  # no next-token head for a bidirectional model
    assert "each document in one pass" in s.settings["extract.processing"]
    with torch.no_grad():
        y, _ = rnn(emb(torch.tensor(tok.encode("abc def gh", "x").ids)).unsqueeze(1))
    st = _read(db)
    np.testing.assert_allclose(np.hstack([st["hidden2"], st["hidden_reverse2"]]), y[:, 0].numpy(), atol=ATOL)


FACTORY = '''
import torch
from torch import nn
from lstmvis_db.extract import CharTokenizer

class CharLM(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.embed = nn.Embedding(vocab, 4)
        self.lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True)
        self.out = nn.Linear(6, vocab)

def build():
    torch.manual_seed(0)
    chars = "abcdefgh ()\\n"
    return CharLM(len(chars)), None, chars

def build_dict():
    model, _, chars = build()
    return {"model": model, "tokenizer": chars, "name": "charlm"}

def build_bad_vocab():
    torch.manual_seed(0)
    return nn.Embedding(3, 4), nn.LSTM(4, 6), "abcdefgh"

def build_wrong():
    return 42
'''


def test_factory_file_model(tmp_path: Path) -> None:
    f = tmp_path / "user_model.py"
    f.write_text(FACTORY, encoding="utf-8")
    ad = load_model(f"{f}:build")
    assert ad.family == "rnn" and ad.model == "user_model" and ad.can_predict
    assert [s.source for s in ad.sources()] == ["hidden1", "cell1", "hidden2", "cell2"]
    db = tmp_path / "f.duckdb"
    extract_project(ad, {"d": "abc (de)"}, db, chunk=3, topk=2)  # verifies against the fused LSTM
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM predictions").fetchone()[0] == 8 * 2
    finally:
        con.close()
    assert load_model(f"{f}:build_dict").model == "charlm"
    with pytest.raises(InputError, match="tokenizer has 8 ids but the embedding has 3 rows"):
        load_model(f"{f}:build_bad_vocab")
    with pytest.raises(InputError, match="factory returned a int"):
        load_model(f"{f}:build_wrong")
    with pytest.raises(InputError, match="model file not found"):
        load_model(f"{tmp_path / 'missing.py'}:build")


def test_mismatch_with_fused_module_is_detected(tmp_path: Path) -> None:
    tok, emb, rnn, head = _tiny("lstm")
    ad = rnn_adapter(rnn, tok, emb, head)
    cell = ad.stack.layers[1][0]
    cell.w_hh = cell.w_hh + 0.5  # the unrolled weights no longer match the module's
    with pytest.raises(InputError, match="differ from the module's own output"):
        extract_project(ad, {"d": "abcd"}, tmp_path / "x.duckdb")
    assert not (tmp_path / "x.duckdb").exists()


def test_one_hot_inputs_and_vocab_checks() -> None:
    tok = CharTokenizer("abc")
    rnn = torch.nn.GRU(3, 4)
    ad = rnn_adapter(rnn, tok)  # one-hot inputs of width 3
    out, _ = ad.run(ad.tokenize("abca", "x").ids, [("hidden1", 1, "hidden")])
    assert out.states[("hidden1", 1, "hidden")].shape == (4, 4)
    with pytest.raises(InputError, match="one-hot input of the GRU has 2 units"):
        rnn_adapter(torch.nn.GRU(2, 4), tok)
    with pytest.raises(InputError, match="not an nn.LSTM, nn.GRU or nn.RNN"):
        rnn_adapter(torch.nn.Linear(2, 2), tok)
