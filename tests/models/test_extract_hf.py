"""transformers adapter on tiny Llama-like and BERT-like models built in-process (no hub)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from lstmvis_db.errors import InputError
from lstmvis_db.extract import extract_project, load_model
from lstmvis_db.extract.hf import HFAdapter, capture_inputs
from lstmvis_db.extract.hf_load import load_hf

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "<s>", "</s>", "[PAD]"]
WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "and", ".", ",", "(", ")"]
TEXT = "the cat sat on the mat.\nthe dog ran , and the cat sat ( on a mat )"


def make_tokenizer(style: str, extra_words: int = 0):
    vocab = {w: i for i, w in enumerate(SPECIALS + WORDS + [f"w{i}" for i in range(extra_words)])}
    tk = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    if style == "bert":
        tk.post_processor = tokenizers.processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
        return transformers.PreTrainedTokenizerFast(
            tokenizer_object=tk, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]")
    tk.post_processor = tokenizers.processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 3)])
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tk, unk_token="[UNK]", bos_token="<s>", eos_token="</s>")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf")
    n_vocab = len(SPECIALS) + len(WORDS)
    torch.manual_seed(0)
    llama = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=n_vocab, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64))
    bert = transformers.BertModel(transformers.BertConfig(
        vocab_size=n_vocab, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
        intermediate_size=20, max_position_embeddings=32))
    out = {}
    for name, model, style in (("llama", llama, "llama"), ("bert", bert, "bert")):
        d = root / name
        model.save_pretrained(d)
        make_tokenizer(style).save_pretrained(d)
        out[name] = d
    big = root / "big_tokenizer"
    make_tokenizer("llama", extra_words=50).save_pretrained(big)
    out["big_tokenizer"] = big
    (root / "empty").mkdir()
    out["empty"] = root / "empty"
    return out


@pytest.fixture(scope="module")
def llama(models: dict[str, Path]) -> HFAdapter:
    return load_hf(models["llama"])


@pytest.fixture(scope="module")
def bert(models: dict[str, Path]) -> HFAdapter:
    return load_hf(models["bert"])


def _hooks(model: torch.nn.Module) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Hook ids per module (transformers 5 keeps its own output-capturing forward hooks)."""
    return {n: (tuple(m._forward_pre_hooks), tuple(m._forward_hooks)) for n, m in model.named_modules()}


def _all_hooks_gone(model: torch.nn.Module) -> bool:
    """The adapter's hooks are forward pre-hooks; none may be left behind."""
    return all(not m._forward_pre_hooks for m in model.modules())


@pytest.mark.parametrize("which,layers,inter,prefix,suffix", [
    ("llama", 2, 24, [3], []),
    ("bert", 3, 20, [1], [2]),
])
def test_sources_and_states_per_layer(request: pytest.FixtureRequest, which: str, layers: int, inter: int,
                                      prefix: list[int], suffix: list[int]) -> None:
    ad: HFAdapter = request.getfixturevalue(which)
    specs = ad.sources()
    assert [s.source for s in specs if s.kind == "hidden"] == [f"hidden{i}" for i in range(layers + 1)]
    assert [s.source for s in specs if s.kind == "mlp"] == [f"mlp{i}" for i in range(1, layers + 1)]
    assert {s.n_cells for s in specs if s.kind == "mlp"} == {inter}
    assert (ad.prefix, ad.suffix) == (prefix, suffix)
    tok = ad.tokenize(TEXT, "t")
    assert "".join(tok.display) == TEXT  # display forms carry the whitespace before a token
    assert tok.display[:3] == ["the", " cat", " sat"]

    # hidden states equal transformers' own output_hidden_states; MLP activations, sent
    # through the block's output projection, give the MLP's output
    with torch.no_grad():
        ref = ad.model_obj(torch.tensor([prefix + tok.ids.tolist() + suffix]), output_hidden_states=True)
    before = _hooks(ad.model_obj)
    out, state = ad.run(tok.ids, [s.key for s in specs], topk=3)
    assert _hooks(ad.model_obj) == before and _all_hooks_gone(ad.model_obj)
    mlp_out: dict[int, torch.Tensor] = {}
    mods, handles = {}, []
    for i, block in enumerate(ad.blocks, start=1):
        mlp = block.mlp if which == "llama" else block.output.dense
        mods[i] = block.mlp.down_proj if which == "llama" else block.output.dense
        handles.append(mlp.register_forward_hook(lambda _m, _i, o, i=i: mlp_out.__setitem__(i, o.detach())))
    try:
        with torch.no_grad():
            ad.model_obj(torch.tensor([prefix + tok.ids.tolist() + suffix]))
    finally:
        for h in handles:
            h.remove()
    assert state is None
    n, lo = len(tok.ids), len(prefix)
    for i in range(layers + 1):
        got = out.states[(f"hidden{i}", i, "hidden")]
        assert got.shape == (n, 16)
        np.testing.assert_allclose(got, ref.hidden_states[i][0, lo:lo + n].numpy(), atol=1e-5)
    for i in range(1, layers + 1):
        acts = torch.tensor(out.states[(f"mlp{i}", i, "mlp")])
        assert acts.shape == (n, inter)
        with torch.no_grad():
            proj = mods[i](acts)
        np.testing.assert_allclose(proj.numpy(), mlp_out[i][0, lo:lo + n].numpy(), atol=1e-5)
    if which == "llama":
        assert out.topk_ids.shape == (n, 3) and out.topk_scores.shape == (n, 3)
        probs = torch.softmax(ref.logits[0, lo:lo + n], -1)
        np.testing.assert_array_equal(out.topk_ids[:, 0], probs.argmax(-1).numpy())
    else:
        assert out.topk_ids is None


def test_hooks_removed_when_the_forward_fails(models: dict[str, Path]) -> None:
    llama = load_hf(models["llama"])  # its own copy: a block's forward gets replaced below
    mods = {1: llama.mlp_modules[1], 2: llama.mlp_modules[2]}
    with pytest.raises(RuntimeError, match="boom"), capture_inputs(mods):
        assert all(m._forward_pre_hooks for m in mods.values())
        raise RuntimeError("boom")
    assert _all_hooks_gone(llama.model_obj)

    def broken(*_a, **_k):
        raise RuntimeError("forward failed")

    llama.blocks[1].forward = broken
    with pytest.raises(RuntimeError, match="forward failed"):
        llama.run(np.array([6, 7, 8]), [("mlp1", 1, "mlp"), ("mlp2", 2, "mlp")])
    assert _all_hooks_gone(llama.model_obj)


def test_extract_project_with_windows_and_predictions(llama: HFAdapter, tmp_path: Path) -> None:
    text = " ".join([TEXT] * 2)
    db = tmp_path / "llama.duckdb"
    s = extract_project(llama, {"d": text, "e": "the cat"}, db, chunk=12, stride=4, topk=3,
                        layers=[0, 2], kinds=["hidden", "mlp"])
    assert [x["source"] for x in s.sources] == ["hidden0", "hidden2", "mlp2"]
    assert s.tracks == [{"track": "context", "kind": "scalar"}, {"track": "next_token", "kind": "topk"}]
    con = duckdb.connect(str(db), read_only=True)
    try:
        n = con.execute("SELECT count(*) FROM tokens").fetchone()[0]
        assert n == s.tokens
        preds = con.execute("SELECT pos, rank, score FROM predictions ORDER BY pos, rank").fetchall()
        assert len(preds) == 3 * n
        scores = np.array([p[2] for p in preds]).reshape(n, 3)
        assert (np.diff(scores, axis=1) <= 0).all() and (scores <= 1).all()
        vals = con.execute("SELECT value FROM states WHERE source = 'hidden2' ORDER BY pos, cell").fetchall()
        stored = np.array([v[0] for v in vals], dtype=np.float32).reshape(n, 16)
        settings = dict(con.execute("SELECT key, value FROM project").fetchall())
    finally:
        con.close()
    assert settings["extract.chunk"] == "12" and settings["extract.stride"] == "4"
    ids = llama.tokenize(text, "d").ids
    # positions 12..15 come from the window ids[4:16], with the BOS prefix
    out, _ = llama.run(ids[4:16], [("hidden2", 2, "hidden")], keep_from=8)
    np.testing.assert_allclose(stored[12:16], out.states[("hidden2", 2, "hidden")], atol=1e-5)
    first, _ = llama.run(ids[:12], [("hidden2", 2, "hidden")])
    np.testing.assert_allclose(stored[:12], first.states[("hidden2", 2, "hidden")], atol=1e-5)


def test_encoder_windows_respect_max_positions(bert: HFAdapter, tmp_path: Path) -> None:
    assert bert.max_context == 30  # 32 positions minus [CLS] and [SEP]
    s = extract_project(bert, {"d": " ".join([TEXT] * 3)}, tmp_path / "b.duckdb", chunk=512, topk=5)
    assert s.settings["extract.chunk"] == "30" and s.tracks == [{"track": "context", "kind": "scalar"}]


def test_bad_models(models: dict[str, Path], tmp_path: Path, llama: HFAdapter) -> None:
    with pytest.raises(InputError, match="model not found"):
        load_model(str(tmp_path / "no-such-model"))
    with pytest.raises(InputError, match="no config.json"):
        load_hf(models["empty"])
    with pytest.raises(InputError, match="tokenizer has 69 tokens but the model.s embedding has 19 rows"):
        load_hf(models["llama"], tokenizer=models["big_tokenizer"])
    with pytest.raises(InputError, match="layer 5 does not exist: the model has layers 0..2"):
        extract_project(llama, {"d": TEXT}, tmp_path / "x.duckdb", layers=[5])
    with pytest.raises(InputError, match="empty text"):
        extract_project(llama, {"d": "   "}, tmp_path / "x.duckdb")
    assert not (tmp_path / "x.duckdb").exists()


def test_model_in_memory(llama: HFAdapter) -> None:
    from lstmvis_db.extract import hf_adapter

    ad = hf_adapter(llama.model_obj, llama.tokenizer, name="notebook")
    assert ad.model == "notebook" and [s.key for s in ad.sources()] == [s.key for s in llama.sources()]
