"""Hugging Face transformers models: causal LMs and encoders, loaded offline.

Sources (layers are 1-based transformer blocks, 0 is the embedding output):

* ``hidden{l}`` for l = 0..L: the residual stream, ``output_hidden_states[l]`` (the last one
  is after the final norm, as transformers returns it).
* ``mlp{l}`` for l = 1..L: the MLP neuron activations of block l, i.e. the input of the MLP's
  output projection (``down_proj`` / ``c_proj`` / ``output.dense`` / ``fc2`` ...), captured by
  forward pre-hooks that are removed when the capture ends.

Tokens: the text's tokens without special tokens; the model sees the tokenizer's own special
tokens around every window (``[CLS] ... [SEP]``, ``<bos> ...``) but their states are dropped.
Display forms come from the fast tokenizer's character offsets, so a document's tokens
concatenate back to its text.  Causal LMs also give the top-k next-token predictions.

Loading a model folder or a ``.gguf`` file offline is in ``hf_load.py``.

May import: numpy, torch and transformers (only inside functions), ``lstmvis_db.errors``,
``extract.base``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import ChunkOutput, SourceKey, SourceSpec, Tokenized

if TYPE_CHECKING:
    import torch
    from torch import nn

MLP_OUTPUT_NAMES = (
    "mlp.down_proj",  # Llama, Mistral, Qwen, Gemma, SmolLM
    "mlp.c_proj",  # GPT-2
    "output.dense",  # BERT, RoBERTa, MiniLM (BertOutput)
    "mlp.fc2",  # Phi, OPT-like
    "fc2",  # OPT
    "mlp.dense_4h_to_h",  # GPT-NeoX, Falcon
    "ffn.lin2",  # DistilBERT
    "mlp.fc_out",  # GPT-J
    "feed_forward.w2",  # Mixtral-like
)
"""Names (relative to a block) of the module whose input is the MLP's neuron activations."""


def import_libs() -> tuple[Any, Any]:
    """``(torch, transformers)``, or an InputError saying how to install them."""
    try:
        import torch
        import transformers
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise InputError(
            "extracting from transformers models needs torch and transformers: "
            "pip install -r requirements-models.txt"
        ) from e
    return torch, transformers


def _is_causal(model: nn.Module) -> bool:
    name = type(model).__name__
    return name.endswith(("ForCausalLM", "LMHeadModel")) and not getattr(
        model.config, "is_encoder_decoder", False
    )


def find_blocks(model: nn.Module) -> list[nn.Module]:
    """The transformer blocks: the longest ``nn.ModuleList`` of ``num_hidden_layers`` items."""
    torch, _ = import_libs()
    n = getattr(model.config, "num_hidden_layers", None)
    lists = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList) and len(m) == n]
    if not lists:
        raise InputError(f"{type(model).__name__}: cannot find its {n} transformer blocks")
    return list(lists[0])


def _find_mlp_output(block: nn.Module, names: Sequence[str]) -> nn.Module | None:
    mods = dict(block.named_modules())
    for n in names:
        if n in mods:
            return mods[n]
    return None


def _in_width(mod: Any) -> int:
    if hasattr(mod, "in_features"):
        return int(mod.in_features)
    w = getattr(mod, "weight", None)
    if w is not None and w.dim() == 2:  # GPT-2's Conv1D keeps (in, out)
        return int(w.shape[0])
    raise InputError(f"cannot tell the input width of MLP module {type(mod).__name__}")


@contextmanager
def capture_inputs(modules: dict[int, nn.Module]) -> Iterator[dict[int, torch.Tensor]]:
    """Record the first positional input of each module while the block is active.

    The forward pre-hooks are removed in a ``finally``, whatever happens inside.
    """
    out: dict[int, torch.Tensor] = {}
    handles = []
    try:
        for key, mod in modules.items():

            def hook(_m: nn.Module, args: tuple[Any, ...], key: int = key) -> None:
                out[key] = args[0].detach()

            handles.append(mod.register_forward_pre_hook(hook))
        yield out
    finally:
        for h in handles:
            h.remove()


class HFAdapter:
    """Hidden states, MLP activations and next-token predictions of a transformers model.

    Args:
        model: a loaded ``PreTrainedModel`` (causal LM or encoder).
        tokenizer: its tokenizer (a fast tokenizer gives exact display forms).
        name: model name recorded in ``sources.model``.
        mlp_names: candidate names of the MLP output projection inside a block.
    """

    family = "hf"
    whole_document = False

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        name: str = "transformer",
        mlp_names: Sequence[str] = MLP_OUTPUT_NAMES,
    ):
        torch, _ = import_libs()
        self.torch = torch
        self.model_obj = model.eval()
        self.tokenizer = tokenizer
        self.model = name
        cfg = model.config
        self.causal = _is_causal(model)
        self.can_predict = self.causal
        emb = model.get_input_embeddings()
        self.vocab_rows = int(emb.num_embeddings)
        n_tok = len(tokenizer)
        if n_tok > self.vocab_rows:
            raise InputError(
                f"tokenizer has {n_tok} tokens but the model's embedding has {self.vocab_rows} "
                "rows: the tokenizer does not match the model"
            )
        self.blocks = find_blocks(model)
        self.n_layers = len(self.blocks)
        self.hidden_size = int(getattr(cfg, "hidden_size", emb.embedding_dim))
        self.mlp_modules: dict[int, nn.Module] = {}
        for i, block in enumerate(self.blocks, start=1):
            mod = _find_mlp_output(block, mlp_names)
            if mod is not None:
                self.mlp_modules[i] = mod
        self.prefix, self.suffix = self._special_affixes()
        limit = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)
        limit = int(limit) if limit else 2048
        self.max_context: int | None = limit - len(self.prefix) - len(self.suffix)
        params = inspect.signature(model.forward).parameters
        self._logits_to_keep = "logits_to_keep" in params
        self._display_cache: dict[int, str] = {}

    def _special_affixes(self) -> tuple[list[int], list[int]]:
        """Special ids the tokenizer puts before and after a text (e.g. [CLS] and [SEP])."""
        tok = self.tokenizer
        try:
            plain = list(tok("a", add_special_tokens=False)["input_ids"])
            full = list(tok("a", add_special_tokens=True)["input_ids"])
        except Exception:  # noqa: BLE001 - a tokenizer without special-token support
            return [], []
        for i in range(len(full) - len(plain) + 1):
            if full[i : i + len(plain)] == plain:
                return full[:i], full[i + len(plain) :]
        return [], []

    # -- description ------------------------------------------------------------------
    def sources(self) -> list[SourceSpec]:
        """``hidden0..hiddenL`` then ``mlp1..mlpL``."""
        out = [
            SourceSpec(
                f"hidden{i}",
                i,
                "hidden",
                self.hidden_size,
                "embedding output (residual stream before block 1)"
                if i == 0
                else f"residual stream after block {i}"
                + (" (after the final norm)" if i == self.n_layers else ""),
            )
            for i in range(self.n_layers + 1)
        ]
        for i, mod in self.mlp_modules.items():
            out.append(
                SourceSpec(
                    f"mlp{i}",
                    i,
                    "mlp",
                    _in_width(mod),
                    f"MLP neuron activations of block {i} (input of its output projection)",
                )
            )
        return out

    def settings(self) -> dict[str, str]:
        """Architecture facts recorded in the project."""
        cfg = self.model_obj.config
        return {
            "architecture": type(self.model_obj).__name__,
            "model_type": str(getattr(cfg, "model_type", "")),
            "layers": str(self.n_layers),
            "hidden_size": str(self.hidden_size),
            "vocab_size": str(self.vocab_rows),
            "causal": str(self.causal).lower(),
            "max_context": str(self.max_context),
            "special_prefix": json.dumps(self.prefix),
            "special_suffix": json.dumps(self.suffix),
        }

    # -- tokens -------------------------------------------------------------------------
    def tokenize(self, text: str, where: str) -> Tokenized:
        """Ids without special tokens, and display pieces from the character offsets."""
        tok = self.tokenizer
        fast = bool(getattr(tok, "is_fast", False))
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=fast, verbose=False)
        ids = np.asarray(enc["input_ids"], dtype=np.int64)
        if len(ids) and int(ids.max()) >= self.vocab_rows:
            raise InputError(
                f"{where}: token id {int(ids.max())} is outside the model's {self.vocab_rows}-row "
                "embedding: the tokenizer does not match the model"
            )
        if not fast:
            return Tokenized(ids=ids, display=self.token_display(ids.tolist()))
        display: list[str] = []
        prev = 0
        for tid, (_start, end) in zip(ids.tolist(), enc["offset_mapping"]):
            piece = text[prev:end] if end > prev else ""
            if not piece:
                piece = self._one(tid)
            display.append(piece)
            prev = max(prev, end)
        return Tokenized(ids=ids, display=display)

    def _one(self, tid: int) -> str:
        s = self._display_cache.get(tid)
        if s is None:
            s = self.tokenizer.decode([tid])
            self._display_cache[tid] = s
        return s

    def token_display(self, ids: Sequence[int]) -> list[str]:
        """Decoded text of single token ids (cached)."""
        return [self._one(int(i)) for i in ids]

    # -- states ---------------------------------------------------------------------------
    def run(
        self,
        ids: np.ndarray,
        wanted: Sequence[SourceKey],
        state: Any = None,
        *,
        topk: int = 0,
        keep_from: int = 0,
    ) -> tuple[ChunkOutput, Any]:
        """One window: states of ``ids[keep_from:]``; windows carry no state."""
        torch = self.torch
        if self.max_context is not None and len(ids) > self.max_context:
            raise InputError(f"window of {len(ids)} tokens exceeds the model's {self.max_context}")
        full = self.prefix + [int(i) for i in ids] + self.suffix
        input_ids = torch.tensor([full], dtype=torch.long, device=self._device())
        lo = len(self.prefix) + keep_from
        hi = len(self.prefix) + len(ids)
        hidden_layers = {k[1] for k in wanted if k[2] == "hidden"}
        mlp_layers = {k[1]: self.mlp_modules[k[1]] for k in wanted if k[2] == "mlp"}
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "output_hidden_states": bool(hidden_layers),
        }
        if self.causal:
            kwargs["use_cache"] = False
            if self._logits_to_keep:
                kwargs["logits_to_keep"] = len(full) - lo if topk else 1
        out = ChunkOutput()
        with torch.inference_mode(), capture_inputs(mlp_layers) as acts:
            res = self.model_obj(**kwargs)
        for key in wanted:
            _, layer, kind = key
            mat = res.hidden_states[layer] if kind == "hidden" else acts[layer]
            out.states[key] = mat[0, lo:hi].float().cpu().numpy()
        if topk and self.causal:
            logits = res.logits[0]
            logits = logits[-(len(full) - lo) :][: hi - lo]
            probs = torch.softmax(logits.float(), dim=-1)
            scores, idx = torch.topk(probs, min(topk, probs.shape[-1]), dim=-1)
            out.topk_ids = idx.cpu().numpy()
            out.topk_scores = scores.cpu().numpy().astype(np.float32)
        return out, None

    def _device(self) -> Any:
        return next(self.model_obj.parameters()).device
