"""Where a transformers model keeps its blocks, MLPs and attention, read from its architecture.

Blocks are found through the model class's own ``_no_split_modules`` (the decoder/encoder
layer class transformers itself keeps whole when it shards a model: ``LlamaDecoderLayer``,
``GPT2Block``, ``BertLayer`` ...), as the ``nn.ModuleList`` holding ``num_hidden_layers`` of
them; a model class without that list falls back to the only such ``ModuleList``.  Inside a
block, the MLP is the child module whose class name says MLP/FeedForward and its output
projection is its last linear layer (``down_proj``, ``c_proj``, ``fc2``, ``dense_4h_to_h``);
blocks without an MLP class (BERT's ``intermediate``/``output``) use a short list of known
names.  The attention is the child whose class name ends in ``Attention``.

Hooks (:func:`capture`) record the input of an MLP's output projection (the neuron
activations) and the first output of an attention module (what it adds to the residual
stream); they are removed in a ``finally``.

:func:`config_sources` lists the sources from a configuration alone, so layer and kind
arguments can be checked before any weight is loaded.

May import: torch (only inside functions), ``lstmvis_db.errors``, ``extract.base``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import SourceSpec

if TYPE_CHECKING:
    import torch
    from torch import nn

FALLBACK_MLP_OUTPUTS = ("output.dense", "ffn.lin2", "fc2", "feed_forward.w2")
"""Relative names of the MLP output projection in blocks that have no MLP class."""

_MLP_WORDS = ("mlp", "feedforward", "ffn")


@dataclass(frozen=True)
class Block:
    """One transformer block and the modules hooked in it (None when it has none)."""

    name: str
    module: Any
    mlp_out: Any
    mlp_out_name: str | None
    attention: Any
    attention_name: str | None


def _is_linear(mod: Any) -> bool:
    w = getattr(mod, "weight", None)
    return hasattr(mod, "in_features") or (type(mod).__name__ == "Conv1D" and w is not None and w.dim() == 2)


def in_width(mod: Any) -> int:
    """The input width of a linear layer (GPT-2's ``Conv1D`` keeps its weight as (in, out))."""
    if hasattr(mod, "in_features"):
        return int(mod.in_features)
    w = getattr(mod, "weight", None)
    if w is not None and w.dim() == 2:
        return int(w.shape[0])
    raise InputError(f"cannot tell the input width of MLP module {type(mod).__name__}")


def _block_list(model: nn.Module) -> tuple[str, list[nn.Module]]:
    """``(qualified name, blocks)`` of the model's list of ``num_hidden_layers`` blocks."""
    import torch

    n = getattr(model.config, "num_hidden_layers", None)
    layer_classes = set(getattr(model, "_no_split_modules", None) or [])
    lists = [(name, m) for name, m in model.named_modules()
             if isinstance(m, torch.nn.ModuleList) and len(m) == n and len(m) > 0]
    typed = [(name, m) for name, m in lists if type(m[0]).__name__ in layer_classes]
    found = typed or lists
    if not found:
        raise InputError(f"{type(model).__name__}: cannot find its {n} transformer blocks")
    name, blocks = found[0]
    return name, list(blocks)


def _mlp_output(block: nn.Module) -> tuple[str, nn.Module] | None:
    """The MLP's output projection: the last linear layer of the MLP-class child."""
    for child_name, child in block.named_children():
        cls = type(child).__name__.lower()
        if any(w in cls for w in _MLP_WORDS):
            linears = [(f"{child_name}.{n}", m) for n, m in child.named_modules() if n and _is_linear(m)]
            if len(linears) >= 2:
                return linears[-1]
    mods = dict(block.named_modules())
    for n in FALLBACK_MLP_OUTPUTS:
        if n in mods:
            return n, mods[n]
    return None


def _attention(block: nn.Module) -> tuple[str, nn.Module] | None:
    for child_name, child in block.named_children():
        if type(child).__name__.endswith(("Attention", "Attention2")):
            return child_name, child
    return None


def find_blocks(model: nn.Module) -> list[Block]:
    """Every block with its MLP output projection and attention module."""
    prefix, blocks = _block_list(model)
    out = []
    for i, b in enumerate(blocks):
        name = f"{prefix}.{i}"
        mlp = _mlp_output(b)
        att = _attention(b)
        out.append(Block(
            name, b,
            mlp[1] if mlp else None, f"{name}.{mlp[0]}" if mlp else None,
            att[1] if att else None, f"{name}.{att[0]}" if att else None,
        ))
    return out


def mlp_width(cfg: Any) -> int | None:
    """The MLP's inner width from a configuration (None when it does not say)."""
    for attr in ("intermediate_size", "n_inner", "ffn_dim", "hidden_dim"):
        v = getattr(cfg, attr, None)
        if isinstance(v, int) and v > 0:
            return v
    hidden = hidden_width(cfg)
    return 4 * hidden if getattr(cfg, "model_type", "") in ("gpt2", "gptj", "gpt_neo") and hidden else None


def hidden_width(cfg: Any) -> int:
    """The residual stream's width from a configuration."""
    for attr in ("hidden_size", "n_embd", "d_model", "dim"):
        v = getattr(cfg, attr, None)
        if isinstance(v, int) and v > 0:
            return v
    return 0


def config_sources(cfg: Any) -> list[SourceSpec]:
    """The sources a model of this configuration offers (widths as far as it says).

    Used to check ``layers``/``kinds`` before the weights load; the loaded adapter's own
    :meth:`sources` is the final word.
    """
    n = getattr(cfg, "num_hidden_layers", None)
    if not isinstance(n, int) or n < 1:
        raise InputError(f"the model configuration ({getattr(cfg, 'model_type', '?')}) names no layer count")
    h = hidden_width(cfg)
    inner = mlp_width(cfg) or 0
    out = [SourceSpec(f"hidden{i}", i, "hidden", h) for i in range(n + 1)]
    out += [SourceSpec(f"mlp{i}", i, "mlp", inner) for i in range(1, n + 1)]
    out += [SourceSpec(f"attn{i}", i, "attn", h) for i in range(1, n + 1)]
    return out


@contextmanager
def capture(pre: Mapping[Any, nn.Module], post: Mapping[Any, nn.Module]) -> Iterator[dict[Any, torch.Tensor]]:
    """Record the first positional input of each ``pre`` module and the first output of each
    ``post`` module while the block is active; the hooks are removed in a ``finally``."""
    out: dict[Any, torch.Tensor] = {}
    handles = []
    try:
        for key, mod in pre.items():

            def pre_hook(_m: nn.Module, args: tuple[Any, ...], key: Any = key) -> None:
                out[key] = args[0].detach()

            handles.append(mod.register_forward_pre_hook(pre_hook))
        for key, mod in post.items():

            def post_hook(_m: nn.Module, _args: tuple[Any, ...], res: Any, key: Any = key) -> None:
                first = res[0] if isinstance(res, (tuple, list)) else res
                out[key] = first.detach()

            handles.append(mod.register_forward_hook(post_hook))
        yield out
    finally:
        for h in handles:
            h.remove()
