"""Full-context transformer extraction against plain transformers, on tiny random Llama and GPT-2
models built in-process (config objects, no hub), past the old 512-token window."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

import lstmvis_db.api as api  # noqa: E402
from lstmvis_db.errors import InputError  # noqa: E402
from lstmvis_db.extract import extract_project, hf_adapter  # noqa: E402
from lstmvis_db.extract.hf import HFAdapter  # noqa: E402

transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

WORDS = [f"w{i}" for i in range(40)]
ATOL = 2e-5


def _tokenizer(bos: bool) -> transformers.PreTrainedTokenizerFast:
    vocab = {w: i for i, w in enumerate(["[UNK]", "<s>", "[PAD]", *WORDS])}
    tk = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    if bos:
        tk.post_processor = tokenizers.processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", bos_token="<s>",
                                                pad_token="[PAD]")


def _model(kind: str, positions: int) -> tuple[torch.nn.Module, transformers.PreTrainedTokenizerFast]:
    torch.manual_seed(7)
    n_vocab = len(WORDS) + 3
    if kind == "llama":
        cfg = transformers.LlamaConfig(vocab_size=n_vocab, hidden_size=16, intermediate_size=24, num_hidden_layers=3,
                                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=positions)
        return transformers.LlamaForCausalLM(cfg).eval(), _tokenizer(bos=True)
    cfg = transformers.GPT2Config(vocab_size=n_vocab, n_embd=16, n_layer=3, n_head=2, n_positions=positions,
                                  bos_token_id=1, eos_token_id=1)
    return transformers.GPT2LMHeadModel(cfg).eval(), _tokenizer(bos=False)


def _text(n: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), n))


def _reference(model: torch.nn.Module, ids: list[int]) -> tuple[list[np.ndarray], torch.Tensor]:
    with torch.no_grad():
        res = model(torch.tensor([ids]), output_hidden_states=True)
    return [h[0].numpy() for h in res.hidden_states], res.logits[0]


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_full_context_equals_output_hidden_states(kind: str, tmp_path: Path) -> None:
    model, tok = _model(kind, positions=1024)
    ad = hf_adapter(model, tok, name=kind)
    assert ad.max_context == 1024 - len(ad.prefix)
    texts = {"long": _text(700, 1), "short": _text(20, 2)}  # the two windows share one padded batch
    db = tmp_path / f"{kind}.duckdb"
    s = extract_project(ad, texts, db, topk=3, kinds=["hidden", "mlp", "attn"])
    assert s.settings["extract.window"] == str(ad.max_context)
    assert s.settings["extract.window_reason"] == "the model's maximum context"
    with api.open(db) as p:
        first = 0
        for name, text in texts.items():
            ids = tok(text, add_special_tokens=False)["input_ids"]
            n, lo = len(ids), len(ad.prefix)
            hidden, logits = _reference(model, ad.prefix + ids)
            for layer in range(4):
                got = p.window(f"hidden{layer}", first, first + n - 1)
                np.testing.assert_allclose(got, hidden[layer][lo:], atol=ATOL, rtol=0, err_msg=f"{name} {layer}")
            ctx = p.annotations("context", np.arange(first, first + n))
            np.testing.assert_array_equal(ctx["value"].to_numpy(), np.arange(1, n + 1))
            top = p.predictions("next_token", first, first + n - 1)
            best = top[top["rank"] == 1] if "rank" in top else top.groupby("pos").head(1)
            expected = logits[lo:].argmax(-1).numpy()
            assert [tok.convert_ids_to_tokens(int(i)) for i in expected] == [t.strip() for t in best["token"]]
            if kind == "llama":  # pre-norm residual: hidden1 - hidden0 = attention out + MLP out of block 1
                attn = p.window("attn1", first, first + n - 1)
                mlp = torch.tensor(p.window("mlp1", first, first + n - 1))
                with torch.no_grad():
                    mlp_out = model.model.layers[0].mlp.down_proj(mlp).numpy()
                np.testing.assert_allclose(hidden[1][lo:] - hidden[0][lo:], attn + mlp_out, atol=ATOL, rtol=0)
            first += n


def test_sliding_window_beyond_the_context(tmp_path: Path) -> None:
    model, tok = _model("llama", positions=64)
    ad = hf_adapter(model, tok)
    text = _text(150, 3)
    s = extract_project(ad, {"d": text}, tmp_path / "w.duckdb", topk=0, kinds=["hidden"], layers=[2])
    window = ad.max_context
    assert window == 63 and s.settings["extract.stride"] == str(window // 2)
    assert s.settings["extract.overlap"] == str(window - window // 2)
    assert f"overlap {window - window // 2}" in s.settings["extract.processing"]
    ids = tok(text, add_special_tokens=False)["input_ids"]
    hidden, _ = _reference(model, ad.prefix + ids[:window])
    with api.open(tmp_path / "w.duckdb") as p:
        np.testing.assert_allclose(p.window("hidden2", 0, window - 1), hidden[2][1:], atol=ATOL, rtol=0)
        ctx = p.annotations("context", np.arange(150))["value"].to_numpy()
        # positions 63..93 come from the second window, ids[31:94], after its 32 overlapping tokens
        second = p.window("hidden2", 63, 93)
    assert list(ctx[:window]) == list(range(1, window + 1))
    assert list(ctx[63:94]) == list(range(33, 64)) and ctx.max() == window
    hidden2, _ = _reference(model, ad.prefix + ids[31:94])
    np.testing.assert_allclose(second, hidden2[2][1 + 32:], atol=ATOL, rtol=0)


def test_memory_budget_and_chunk_shorten_the_window(tmp_path: Path) -> None:
    model, tok = _model("gpt2", positions=1024)
    ad = hf_adapter(model, tok)
    text = {"d": _text(300, 4)}
    s = extract_project(ad, text, tmp_path / "a.duckdb", topk=0, window_gb=ad.forward_bytes(1, 200) / 1e9)
    assert s.settings["extract.window"] == "200" and "--window-gb" in s.settings["extract.window_reason"]
    s = extract_project(ad, text, tmp_path / "b.duckdb", topk=0, chunk=100, stride=25)
    assert (s.settings["extract.window"], s.settings["extract.overlap"]) == ("100", "75")
    with pytest.raises(InputError, match="--reset-every applies to recurrent models"):
        extract_project(ad, text, tmp_path / "c.duckdb", reset_every=10)


def test_provenance_in_info(tmp_path: Path) -> None:
    from lstmvis_db.cli import main
    from lstmvis_db.extract.hf_load import load_hf

    model, tok = _model("llama", positions=128)
    folder = tmp_path / "m"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    ad = load_hf(folder, quiet=True)
    assert not transformers.utils.logging.is_progress_bar_enabled()
    texts = {"a": _text(30, 5), "b": _text(10, 6)}
    db = tmp_path / "p.duckdb"
    extract_project(ad, texts, db, layers=[1], kinds=["mlp", "attn"], topk=2)
    with api.open(db) as p:
        ext = p.info()["extraction"]
    corpus = hashlib.sha256(b"".join(n.encode() + b"\0" + t.encode() + b"\0" for n, t in texts.items())).hexdigest()
    weights = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert ext["corpus_sha256"] == corpus and ext["model.weights_sha256"] == weights
    assert ext["model.tokenizer_sha256"] == hashlib.sha256(tok.backend_tokenizer.to_str().encode()).hexdigest()
    assert (ext["model.dtype"], ext["model.device"], ext["model.quantization"]) == ("float32", "cpu", "none")
    assert ext["hooks"] == "model.layers.0.mlp.down_proj (forward pre-hook: its input); " \
                           "model.layers.0.self_attn (forward hook: its first output)"
    assert ext["window"] == "127" and ext["overlap"] == "64" and ext["topk"] == "2"
    assert ext["model.blocks"] == "model.layers.0..2"
    assert main(["info", "--db", str(db)]) in (0, None)


def test_in_memory_model_gets_a_tensor_checksum() -> None:
    model, tok = _model("gpt2", positions=32)
    a = hf_adapter(model, tok).settings()
    with torch.no_grad():
        model.transformer.h[0].mlp.c_proj.weight[0, 0] += 1.0
    b: HFAdapter = hf_adapter(model, tok)
    assert a["weights_sha256_tensors"] != b.settings()["weights_sha256_tensors"]
    assert [s.source for s in b.sources() if s.layer == 1] == ["hidden1", "mlp1", "attn1"]
    assert b.block_info[0].mlp_out_name == "transformer.h.0.mlp.c_proj"
