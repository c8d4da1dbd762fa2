"""Hugging Face transformers models: causal LMs and encoders, in batches of windows.

Sources (layers are 1-based transformer blocks, 0 is the embedding output; where the blocks
and their MLPs and attention live is read from the architecture, see ``hf_arch.py``):

* ``hidden{l}`` for l = 0..L: the residual stream, ``output_hidden_states[l]`` (the last one
  is after the final norm, as transformers returns it).
* ``mlp{l}`` for l = 1..L: the MLP neuron activations of block l, i.e. the input of the MLP's
  output projection (``down_proj`` / ``c_proj`` / ``output.dense`` ...), by forward pre-hooks.
* ``attn{l}`` for l = 1..L: the output of block l's attention module (what it adds to the
  residual stream, after its output projection), by forward hooks.

Tokens: the text's tokens without special tokens; the model sees the tokenizer's own special
tokens around every window (``[CLS] ... [SEP]``, ``<bos> ...``) but their states are dropped.
Display forms come from the fast tokenizer's character offsets, so a document's tokens
concatenate back to its text.

Windows of different documents run together in one padded batch (right padding with an
attention mask, which leaves every real position's states as they are alone, to float
rounding).  Causal LMs also give the top-k next-token predictions, computed from the final
hidden states through the output embedding in blocks of positions and vocabulary
(``hf_head.py``: ``torch.topk`` and one log-sum-exp, bf16 screen or float32), so the
``positions x vocabulary`` logits never exist; the first batch checks the output embedding
against the model's own logits.  Otherwise the model's base (``model.base_model``, without the
output embedding) runs, so no logits are computed at all.

Loading a model folder or a ``.gguf`` file offline is in ``hf_load.py``.

May import: numpy, torch and transformers (only inside functions), ``lstmvis_db.errors``,
``extract.base``, ``extract.hf_arch``, ``extract.hf_head``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import ChunkOutput, SourceKey, SourceSpec, Tokenized
from lstmvis_db.extract.hf_arch import capture, find_blocks, hidden_width, in_width
from lstmvis_db.extract.hf_head import BLOCK, ROWS, TopkHead

HEAD_TOLERANCE = 1e-3


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


def _is_causal(model: Any) -> bool:
    name = type(model).__name__
    return name.endswith(("ForCausalLM", "LMHeadModel")) and not getattr(model.config, "is_encoder_decoder", False)


def capture_inputs(modules: dict[int, Any]) -> Any:
    """Record the first positional input of each module while the block is active."""
    return capture(modules, {})


class HFAdapter:
    """Hidden states, MLP activations, attention outputs and next-token predictions.

    Args:
        model: a loaded ``PreTrainedModel`` (causal LM or encoder), on its device.
        tokenizer: its tokenizer (a fast tokenizer gives exact display forms).
        name: model name recorded in ``sources.model``.
        provenance: facts about where the model came from, recorded with the settings.
        topk_head: how top-k predictions are computed: ``auto``, ``bf16`` or ``float32``
            (``hf_head.py``).
    """

    family = "hf"
    whole_document = False

    def __init__(self, model: Any, tokenizer: Any, name: str = "transformer",
                 provenance: dict[str, str] | None = None, topk_head: str = "auto"):
        torch, _ = import_libs()
        self.torch = torch
        self.model_obj = model.eval()
        self.tokenizer = tokenizer
        self.model = name
        self.provenance = dict(provenance or {})
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
        self.block_info = find_blocks(model)
        self.blocks = [b.module for b in self.block_info]
        self.n_layers = len(self.blocks)
        self.hidden_size = hidden_width(cfg) or int(emb.embedding_dim)
        self.mlp_modules = {i: b.mlp_out for i, b in enumerate(self.block_info, 1) if b.mlp_out is not None}
        self.attn_modules = {i: b.attention for i, b in enumerate(self.block_info, 1) if b.attention is not None}
        self.prefix, self.suffix = self._special_affixes()
        limit = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)
        limit = int(limit) if limit else 2048
        self.model_limit = limit
        self.max_context: int | None = limit - len(self.prefix) - len(self.suffix)
        self._logits_to_keep = "logits_to_keep" in inspect.signature(model.forward).parameters
        self._head_checked = False
        self.head: TopkHead | None = None
        self.use_topk_head(topk_head)
        base = getattr(model, "base_model", model)
        self._base = base if self.causal and base is not model else None
        self._display_cache: dict[int, str] = {}
        pad = getattr(tokenizer, "pad_token_id", None)
        self._pad = int(pad) if isinstance(pad, int) and 0 <= pad < self.vocab_rows else 0

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

    def use_topk_head(self, mode: str) -> None:
        """Compute top-k predictions from now on with ``mode``: ``auto``, ``bf16`` or ``float32``."""
        if self.causal:
            self.head = TopkHead(self.torch, self.model_obj.get_output_embeddings(),
                                 getattr(self.model_obj.config, "final_logit_softcapping", None), mode)

    # -- description ------------------------------------------------------------------
    def sources(self) -> list[SourceSpec]:
        """``hidden0..hiddenL``, then ``mlp1..mlpL``, then ``attn1..attnL``."""
        out = [
            SourceSpec(
                f"hidden{i}", i, "hidden", self.hidden_size,
                "embedding output (residual stream before block 1)" if i == 0
                else f"residual stream after block {i}" + (" (after the final norm)" if i == self.n_layers else ""),
            )
            for i in range(self.n_layers + 1)
        ]
        for i, mod in self.mlp_modules.items():
            out.append(SourceSpec(f"mlp{i}", i, "mlp", in_width(mod),
                                  f"MLP neuron activations of block {i} (input of its output projection)"))
        for i in self.attn_modules:
            out.append(SourceSpec(f"attn{i}", i, "attn", self.hidden_size,
                                  f"attention output of block {i} (what it adds to the residual stream)"))
        return out

    def hooks(self, wanted: Sequence[SourceKey]) -> list[str]:
        """The modules hooked to capture ``wanted`` (for the provenance record)."""
        out = []
        for _, layer, kind in wanted:
            b = self.block_info[layer - 1] if layer >= 1 else None
            if kind == "mlp" and b is not None:
                out.append(f"{b.mlp_out_name} (forward pre-hook: its input)")
            elif kind == "attn" and b is not None:
                out.append(f"{b.attention_name} (forward hook: its first output)")
        if any(k[2] == "hidden" for k in wanted):
            out.append("output_hidden_states")
        return out

    def settings(self) -> dict[str, str]:
        """Architecture facts and provenance recorded in the project."""
        cfg = self.model_obj.config
        p = next(self.model_obj.parameters())
        out = {
            "architecture": type(self.model_obj).__name__,
            "model_type": str(getattr(cfg, "model_type", "")),
            "layers": str(self.n_layers),
            "hidden_size": str(self.hidden_size),
            "vocab_size": str(self.vocab_rows),
            "causal": str(self.causal).lower(),
            "max_positions": str(self.model_limit),
            "max_context": str(self.max_context),
            "special_prefix": json.dumps(self.prefix),
            "special_suffix": json.dumps(self.suffix),
            "dtype": str(p.dtype).removeprefix("torch."),
            "device": str(p.device),
            "blocks": self.block_info[0].name.rsplit(".", 1)[0] + f".0..{self.n_layers - 1}",
        }
        if self.head is not None:
            out["topk_head"] = self.head.describe()
        out.update(self.provenance)
        return out

    def forward_bytes(self, batch: int, length: int, topk: int = 0) -> int:
        """A bound on the memory one forward pass of ``batch`` windows of ``length`` tokens needs:
        every layer's hidden states kept, the MLP's inner activations, one layer's attention
        scores and one chunk of top-k logits."""
        cfg = self.model_obj.config
        size = next(self.model_obj.parameters()).element_size()
        heads = int(getattr(cfg, "num_attention_heads", None) or getattr(cfg, "n_head", 1) or 1)
        inner = max((in_width(m) for m in self.mlp_modules.values()), default=4 * self.hidden_size)
        tokens = batch * length
        per_token = (self.n_layers + 1) * self.hidden_size + 3 * inner
        est = tokens * per_token * size + batch * heads * length * length * size
        if topk:
            est += ROWS * min(BLOCK, self.vocab_rows) * 4 * 3
        return int(est)

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
            display.append(piece or self._one(tid))
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
    def run(self, ids: np.ndarray, wanted: Sequence[SourceKey], state: Any = None, *,
            topk: int = 0, keep_from: int = 0) -> tuple[ChunkOutput, Any]:
        """One window: states of ``ids[keep_from:]``; windows carry no state."""
        return self.run_batch([(ids, keep_from)], wanted, topk=topk)[0], None

    def run_batch(self, items: Sequence[tuple[np.ndarray, int]], wanted: Sequence[SourceKey], *,
                  topk: int = 0) -> list[ChunkOutput]:
        """Several windows ``(ids, keep_from)`` in one padded forward pass."""
        torch = self.torch
        for ids, _ in items:
            if self.max_context is not None and len(ids) > self.max_context:
                raise InputError(f"window of {len(ids)} tokens exceeds the model's {self.max_context}")
        rows = [self.prefix + [int(i) for i in ids] + self.suffix for ids, _ in items]
        width = max(len(r) for r in rows)
        dev = self._device()
        input_ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            input_ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[r, : len(row)] = 1
        want_hidden = any(k[2] == "hidden" for k in wanted) or bool(topk and self.causal)
        kwargs: dict[str, Any] = {"input_ids": input_ids.to(dev), "attention_mask": mask.to(dev),
                                  "output_hidden_states": want_hidden}
        forward = self.model_obj
        if self.causal:
            kwargs["use_cache"] = False
            if topk and not self._head_checked:  # the model's own logits, once, for _check_head
                if self._logits_to_keep:
                    kwargs["logits_to_keep"] = 1
            elif self._base is not None:
                forward = self._base  # no output embedding at all
            elif self._logits_to_keep:
                kwargs["logits_to_keep"] = 1
        pre = {("mlp", k[1]): self.mlp_modules[k[1]] for k in wanted if k[2] == "mlp"}
        post = {("attn", k[1]): self.attn_modules[k[1]] for k in wanted if k[2] == "attn"}
        with torch.inference_mode(), capture(pre, post) as acts:
            res = forward(**kwargs)
        spans = [(len(self.prefix) + keep, len(self.prefix) + len(ids)) for ids, keep in items]
        outs = []
        for r, (lo, hi) in enumerate(spans):
            out = ChunkOutput()
            for key in wanted:
                _, layer, kind = key
                mat = res.hidden_states[layer] if kind == "hidden" else acts[(kind, layer)]
                out.states[key] = mat[r, lo:hi].float().cpu().numpy()
            outs.append(out)
        if topk and self.causal:
            self._predict(res, spans, topk, [len(r) for r in rows], outs)
        return outs

    def _predict(self, res: Any, spans: list[tuple[int, int]], topk: int, lengths: list[int],
                 outs: list[ChunkOutput]) -> None:
        """Top-k next-token predictions of the kept positions (``hf_head.TopkHead``)."""
        torch = self.torch
        final = res.hidden_states[-1]
        if not self._head_checked:
            self._check_head(final, res.logits, lengths)
        assert self.head is not None
        flat = torch.cat([final[r, lo:hi] for r, (lo, hi) in enumerate(spans)])
        ids, scores = self.head.topk(flat, min(topk, self.vocab_rows))
        at = 0
        for out, (lo, hi) in zip(outs, spans):
            out.topk_ids = ids[at : at + hi - lo]
            out.topk_scores = scores[at : at + hi - lo]
            at += hi - lo

    def _logits(self, hidden: Any) -> Any:
        """Vocabulary logits of final hidden states (the output embedding, soft-capped if the
        model says so)."""
        logits = self.model_obj.get_output_embeddings()(hidden)
        cap = getattr(self.model_obj.config, "final_logit_softcapping", None)
        if cap:
            logits = self.torch.tanh(logits / cap) * cap
        return logits

    def _check_head(self, final: Any, logits: Any, lengths: list[int]) -> None:
        """The chunked logits must equal the model's own for the last position of a full row."""
        r = int(np.argmax(lengths))
        with self.torch.inference_mode():
            mine = self._logits(final[r, lengths[r] - 1 : lengths[r]]).float()
        theirs = logits[r, -1:].float()
        scale = max(1.0, float(theirs.abs().max()))
        if float((mine - theirs).abs().max()) > HEAD_TOLERANCE * scale:
            raise InputError(
                f"{type(self.model_obj).__name__}: its output embedding applied to the final hidden state does "
                "not give the model's logits; extract with --topk 0"
            )
        self._head_checked = True

    def _device(self) -> Any:
        return next(self.model_obj.parameters()).device
