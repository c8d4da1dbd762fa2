"""Top-k next-token predictions from final hidden states, never holding ``positions x vocabulary``.

The output embedding (``lm_head``, vocabulary x hidden) is applied to :data:`ROWS` positions
and :data:`BLOCK` vocabulary rows at a time; each block gives its best candidates
(``torch.topk``) and its part of the softmax normaliser (``sum(exp(logit - block max))``), and
the blocks are merged with one log-sum-exp, so no softmax is materialised and each block's
logits are read while they are still in the cache.

Two precisions (``--topk-head``):

* ``float32``: the logits are the float32 product, so the ids and probabilities are those of
  ``softmax(model logits)`` to float32 rounding.
* ``bf16``: the logits are screened with bfloat16 products accumulated in float32 (on CPUs with
  AMX or AVX512-BF16 and on CUDA; on the 2-core AMX machine of the benchmark the whole head
  costs about half of float32's, even with the doubled width below).  A float32 hidden state goes in as
  its bfloat16 part plus its bfloat16 remainder (``[hi, lo] @ [W, W]``), so only the weights and
  each logit's final rounding are bfloat16.  The ``k + MARGIN`` best candidates of the screen are
  then rescored exactly in float32 and the top k chosen among them, so the ids and the logits of
  the kept predictions are the float32 ones; only the normaliser's part from the other tokens
  comes from the screen.  On SmolLM2-135M (the benchmark's 4,096 Shakespeare positions,
  top-5) every id and its order agreed with float32, and the probabilities' relative error was
  1.6e-4 (median), 3.2e-3 (99th percentile), 5.1e-3 (largest).
* ``auto`` (the default): ``bf16`` on CUDA and on CPUs with AMX or AVX512-BF16 (where it is
  fast), ``float32`` elsewhere.

An output module that is not a plain bias-free linear layer (or soft-capped logits) is applied
as it is, in float32, :data:`ROWS` positions at a time.

May import: numpy, torch (only inside functions), ``lstmvis_db.errors``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lstmvis_db.errors import InputError

ROWS = 256
"""Positions whose logits are computed together."""

BLOCK = 8192
"""Vocabulary rows whose logits exist at once (per chunk of :data:`ROWS` positions)."""

MARGIN = 8
"""Extra screened candidates rescored exactly in ``bf16`` mode."""

HEAD_MODES = ("auto", "bf16", "float32")


def fast_bf16(torch: Any, device: Any) -> bool:
    """Whether bfloat16 matrix products are fast here (CUDA, or a CPU with AMX or AVX512-BF16)."""
    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        return True
    if kind != "cpu":
        return False
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


class TopkHead:
    """The top-k predictions of an output embedding.

    Args:
        torch: the torch module.
        output: the model's output embedding module (``get_output_embeddings()``).
        softcap: ``final_logit_softcapping`` (None or 0: none).
        mode: ``auto``, ``bf16`` or ``float32`` (see the module docstring).
    """

    def __init__(self, torch: Any, output: Any, softcap: float | None, mode: str = "auto"):
        if mode not in HEAD_MODES:
            raise InputError(f"unknown top-k head {mode!r} (expected one of {', '.join(HEAD_MODES)})")
        self.torch = torch
        self.output = output
        self.softcap = float(softcap) if softcap else None
        weight = getattr(output, "weight", None)
        plain = (isinstance(output, torch.nn.Linear) and output.bias is None and weight is not None
                 and weight.dim() == 2 and self.softcap is None)
        self.weight = weight if plain else None
        device = weight.device if weight is not None else "cpu"
        if mode == "auto":
            mode = "bf16" if plain and fast_bf16(torch, device) else "float32"
        self.mode = mode if plain else "float32"
        self._copies: dict[str, Any] = {}

    def describe(self) -> str:
        """What the head computes, for the project's settings."""
        if self.weight is None:
            return "float32: the output module on every position (not a plain linear layer)"
        if self.mode == "float32":
            return f"float32 logits in blocks of {BLOCK} tokens, one log-sum-exp"
        return (f"bf16 screen (float32 accumulation, hidden state as bf16 + remainder) of every logit; the best "
                f"k+{MARGIN} rescored in float32; normaliser outside them from the screen")

    def topk(self, hidden: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, probabilities)``, each ``(n, k)``, best first, for ``(n, hidden)`` final states."""
        torch = self.torch
        n = int(hidden.shape[0])
        ids = np.empty((n, k), dtype=np.int64)
        probs = np.empty((n, k), dtype=np.float32)
        with torch.inference_mode():
            for a in range(0, n, ROWS):
                x = hidden[a : a + ROWS]
                top, idx = self._generic(x, k) if self.weight is None else self._blocked(x, k)
                ids[a : a + ROWS] = idx.cpu().numpy()
                probs[a : a + ROWS] = top.float().cpu().numpy()
        return ids, probs

    def _generic(self, x: Any, k: int) -> tuple[Any, Any]:
        torch = self.torch
        logits = self.output(x).float()
        if self.softcap:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        top, idx = torch.topk(logits, k, dim=-1)
        z = logits.sub_(top[:, :1]).exp_().sum(-1, keepdim=True)
        return torch.exp(top - top[:, :1]) / z, idx

    def _weight_as(self, form: str) -> Any:
        """The weight in float32 (``f32``), in bfloat16 (``bf16``), or in bfloat16 twice side by
        side (``bf16x2``, for a hidden state given as hi + lo); converted once and kept."""
        w = self._copies.get(form)
        if w is None:
            torch = self.torch
            assert self.weight is not None
            base = self.weight.detach()
            if form == "f32":
                w = base if base.dtype == torch.float32 else base.float()
            else:
                wb = base.to(torch.bfloat16)
                w = torch.cat([wb, wb], 1).contiguous() if form == "bf16x2" else wb.contiguous()
            self._copies[form] = w
        return w

    def _blocked(self, x: Any, k: int) -> tuple[Any, Any]:
        """Blocks of the vocabulary: candidates and normaliser parts, merged."""
        torch = self.torch
        assert self.weight is not None
        weight = self.weight
        vocab = int(weight.shape[0])
        exact = self.mode == "float32"
        x32 = x.float()
        if exact:
            xs, ws = x32, self._weight_as("f32")
        else:
            hi = x.to(torch.bfloat16)
            split = x.dtype != torch.bfloat16
            xs = torch.cat([hi, (x32 - hi.float()).to(torch.bfloat16)], 1) if split else hi
            ws = self._weight_as("bf16x2" if split else "bf16")
        c = min(vocab, k if exact else k + MARGIN)
        vals, where, maxes, sums = [], [], [], []
        for s in range(0, vocab, BLOCK):
            logits = torch.nn.functional.linear(xs, ws[s : s + BLOCK])
            v, i = torch.topk(logits, min(c, int(logits.shape[1])), dim=-1)
            m = v[:, :1].float()
            sums.append(logits.float().sub_(m).exp_().sum(-1, keepdim=True))
            maxes.append(m)
            vals.append(v.float())
            where.append(i + s)
        m_blocks = torch.cat(maxes, 1)
        m_all = m_blocks.amax(1, keepdim=True)
        z = (torch.cat(sums, 1) * torch.exp(m_blocks - m_all)).sum(1, keepdim=True)
        screened, j = torch.topk(torch.cat(vals, 1), c, dim=-1)
        cand = torch.cat(where, 1).gather(1, j)
        if exact:
            top = screened[:, :k]
            return torch.exp(top - m_all) / z, cand[:, :k]
        rescored = torch.einsum("nd,ncd->nc", x32, weight[cand].float())
        z = (z - torch.exp(screened - m_all).sum(1, keepdim=True)).clamp_(min=0.0)
        z = z + torch.exp(rescored - m_all).sum(1, keepdim=True)
        top, order = torch.topk(rescored, k, dim=-1)
        return torch.exp(top - m_all) / z, cand.gather(1, order)
