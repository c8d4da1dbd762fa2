"""Top-k predictions through the blocked head (hf_head.py), batching, and no logits without top-k."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lstmvis_db.errors import InputError
from lstmvis_db.extract.hf import HFAdapter
from lstmvis_db.extract.hf_head import BLOCK, ROWS, TopkHead
from lstmvis_db.extract.phases import MAX_PADDING, Processing, batch_windows
from tests.models.test_extract_hf import TEXT, make_tokenizer

VOCAB = 2 * BLOCK + 1000  # three vocabulary blocks, the last one short
WIDTH = 48


def _case(seed: int, n: int = ROWS + 37) -> tuple[torch.nn.Linear, torch.Tensor]:
    """A head and hidden states with a few large dimensions (as LLMs' final states have)."""
    g = torch.Generator().manual_seed(seed)
    head = torch.nn.Linear(WIDTH, VOCAB, bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.randn(VOCAB, WIDTH, generator=g) * 0.3)
    hidden = torch.randn(n, WIDTH, generator=g)
    hidden[:, 3] *= 40.0
    hidden[:, 17] *= 15.0
    return head, hidden


def _reference(head: torch.nn.Linear, hidden: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        probs = torch.softmax(head(hidden).double(), -1)
    top, ids = torch.topk(probs, k, -1)
    return ids.numpy(), top.numpy()


def _same_predictions(head: torch.nn.Linear, hidden: torch.Tensor, ids: np.ndarray) -> None:
    """``ids`` are the best tokens in order, up to ties within float32 rounding: their true
    probabilities are the k largest, in order."""
    with torch.no_grad():
        probs = torch.softmax(head(hidden).double(), -1)
    top = torch.topk(probs, ids.shape[1], -1).values.numpy()
    np.testing.assert_allclose(probs.gather(1, torch.from_numpy(ids)).numpy(), top, rtol=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_float32_head_equals_the_softmax_of_the_logits(seed: int) -> None:
    head, hidden = _case(seed)
    h = TopkHead(torch, head, None, "float32")
    ids, probs = h.topk(hidden, 5)
    ref_ids, ref_probs = _reference(head, hidden, 5)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(probs, ref_probs, rtol=2e-5)
    assert h.mode == "float32" and "float32" in h.describe()


@pytest.mark.parametrize("seed", [0, 1])
def test_bf16_head_keeps_the_float32_ids_and_nearly_the_probabilities(seed: int) -> None:
    head, hidden = _case(seed)
    h = TopkHead(torch, head, None, "bf16")
    ids, probs = h.topk(hidden, 5)
    ref_ids, ref_probs = _reference(head, hidden, 5)
    _same_predictions(head, hidden, ids)
    assert (ids == ref_ids).all(1).mean() > 0.99
    rel = np.abs(probs - ref_probs) / ref_probs
    assert rel.max() < 1e-2, rel.max()
    # without the remainder of the hidden state the large dimensions' rounding shows
    plain = TopkHead(torch, head, None, "bf16")
    _, rough = plain.topk(hidden.to(torch.bfloat16), 5)
    assert np.abs(rough - ref_probs).max() > np.abs(probs - ref_probs).max()


def test_a_head_with_bias_or_softcap_runs_the_module_in_float32() -> None:
    head, hidden = _case(2, n=40)
    with_bias = torch.nn.Linear(WIDTH, VOCAB, bias=True)
    with torch.no_grad():
        with_bias.weight.copy_(head.weight)
        with_bias.bias.normal_()
    h = TopkHead(torch, with_bias, None, "bf16")
    assert h.mode == "float32" and "not a plain linear" in h.describe()
    ids, probs = h.topk(hidden, 3)
    ref_ids, ref_probs = _reference(with_bias, hidden, 3)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(probs, ref_probs, rtol=2e-5)
    capped = TopkHead(torch, head, 5.0, "auto")
    ids, probs = capped.topk(hidden, 3)
    with torch.no_grad():
        ref = torch.softmax(torch.tanh(head(hidden).double() / 5.0) * 5.0, -1)
    np.testing.assert_allclose(probs, torch.topk(ref, 3, -1).values.numpy(), rtol=2e-5)
    with pytest.raises(InputError, match="unknown top-k head"):
        TopkHead(torch, head, None, "int8")


@pytest.fixture(scope="module")
def llama() -> HFAdapter:
    tok = make_tokenizer("llama")
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=16, intermediate_size=24, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64))
    return HFAdapter(model, tok, "llama", topk_head="float32")


def test_adapter_predictions_equal_the_models_softmax(llama: HFAdapter) -> None:
    ids = llama.tokenize(TEXT, "t").ids
    out, _ = llama.run(ids, [("hidden2", 2, "hidden")], topk=4)
    with torch.no_grad():
        ref = llama.model_obj(torch.tensor([llama.prefix + ids.tolist()]))
    probs = torch.softmax(ref.logits[0, len(llama.prefix):].double(), -1)
    top, top_ids = torch.topk(probs, 4, -1)
    np.testing.assert_array_equal(out.topk_ids, top_ids.numpy())
    np.testing.assert_allclose(out.topk_scores, top.numpy(), rtol=2e-5)
    assert llama.settings()["topk_head"].startswith("float32")


def test_logits_are_computed_only_to_check_the_head_once(llama: HFAdapter) -> None:
    calls: list[int] = []
    handle = llama.model_obj.get_output_embeddings().register_forward_hook(
        lambda _m, _i, o: calls.append(int(o.shape[-2])))
    try:
        ids = llama.tokenize(TEXT, "t").ids
        llama._head_checked = False
        llama.run(ids, [("hidden1", 1, "hidden")], topk=0)
        assert calls == []  # the base model only: no output embedding at all
        llama.run(ids, [("hidden1", 1, "hidden")], topk=3)
        assert calls == [1, 1]  # one position, by the model and by the check itself
        llama.run(ids, [("hidden1", 1, "hidden")], topk=3)
        assert calls == [1, 1]  # later batches go through the blocked head only
    finally:
        handle.remove()


class _Batching:
    """Just what batch_windows asks of an adapter."""

    def run_batch(self, items: object, wanted: object, *, topk: int = 0) -> None:  # pragma: no cover
        raise AssertionError("not run")

    def forward_bytes(self, batch: int, length: int, topk: int = 0) -> int:
        return batch * length


def test_batches_keep_padding_at_most_a_quarter() -> None:
    lengths = [400, 390, 380, 300, 120, 100, 95, 90, 10]
    windows = [(i * 1000, 0, n, 0) for i, n in enumerate(lengths)]
    how = Processing(True, False, 512, 256, budget_bytes=10**9)
    groups = batch_windows(windows, _Batching(), how, 0)
    assert sorted(w for g in groups for w in g) == sorted(windows)
    for g in groups:
        width = max(w[2] for w in g)
        assert 1 - sum(w[2] for w in g) / (len(g) * width) <= MAX_PADDING
    # 120 joins the long ones (20.5% padding), 100 would make it 29.6%; 10 would make 26.3%
    assert [[w[2] for w in g] for g in groups] == [[400, 390, 380, 300, 120], [100, 95, 90], [10]]
    tight = Processing(True, False, 512, 256, budget_bytes=800)  # the memory budget still bounds a batch
    small = batch_windows(windows, _Batching(), tight, 0)
    assert [len(g) for g in small][:2] == [2, 2]
    assert all(len(g) * max(w[2] for w in g) <= 800 for g in small)
