"""Recurrent models (PyTorch ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` and Keras weights).

The fused modules return per-step outputs of the top layer only, plus the final state of each
layer.  LSTMVis needs the per-step hidden state of *every* layer and the LSTM cell state, so
this module unrolls the recurrence step by step with the module's own weights
(:func:`unroll`), and :class:`RecurrentAdapter` checks the result against the fused module on
the first chunk it runs.

The weights of one layer and direction are held as :class:`CellWeights` in PyTorch's layout
(gate rows ``i, f, g, o`` for LSTMs, ``r, z, n`` for GRUs); ``keras.py`` converts Keras files
into the same form.

A factory file for the CLI (``--model my_model.py:build``) defines a function without
arguments that returns one of:

* an adapter (any object implementing :class:`lstmvis_db.extract.base.Adapter`);
* a dict with keys ``rnn`` (or ``model``), ``tokenizer`` and optionally ``embedding``,
  ``head`` and ``name``;
* a tuple ``(embedding_or_model, rnn_or_None, tokenizer)`` or ``(..., tokenizer, head)``.

``embedding_or_model`` is an ``nn.Embedding``, a callable mapping a 1-D LongTensor of ids to
``(T, input_size)`` inputs, the whole model (its only ``nn.Embedding`` and, when ``rnn`` is
None, its only recurrent module are used; an ``nn.Linear`` from the RNN output to the vocabulary
becomes the prediction head), or None (one-hot inputs).  The tokenizer is an object with
``encode``/``id_display``/``vocab_size`` (``CharTokenizer``, ``WordTokenizer``) or a vocabulary:
a string or list of characters, or a ``{token: id}`` dict.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import (
    Adapter,
    CharTokenizer,
    ChunkOutput,
    SourceKey,
    SourceSpec,
    TextTokenizer,
    Tokenized,
    WordTokenizer,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

MODES = ("LSTM", "GRU", "RNN_TANH", "RNN_RELU")
VERIFY_TOLERANCE = 1e-4


def _torch() -> Any:
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise InputError(
            "extracting from recurrent models needs torch: pip install -r requirements-models.txt"
        ) from e
    return torch


@dataclass
class CellWeights:
    """One layer and direction of a recurrent network, in PyTorch's layout.

    Attributes:
        mode: ``LSTM``, ``GRU``, ``RNN_TANH`` or ``RNN_RELU``.
        w_ih: ``(G*H, in)`` input weights (G gates: 4 LSTM, 3 GRU, 1 RNN).
        w_hh: ``(G*H, out)`` recurrent weights.
        b_ih: ``(G*H,)`` input bias.
        b_hh: ``(G*H,)`` recurrent bias.
        w_hr: ``(P, H)`` LSTM projection (``proj_size``), or None.
        recurrent_activation: gate squashing, ``sigmoid`` or Keras 2's ``hard_sigmoid``.
        reset_after: GRU only; True applies the reset gate after the recurrent matmul
            (PyTorch, cuDNN, Keras ``reset_after=True``), False before it (classic Keras).
    """

    mode: str
    w_ih: torch.Tensor
    w_hh: torch.Tensor
    b_ih: torch.Tensor
    b_hh: torch.Tensor
    w_hr: torch.Tensor | None = None
    recurrent_activation: str = "sigmoid"
    reset_after: bool = True
    fused: Any = field(default=None, repr=False, compare=False)

    @property
    def hidden_size(self) -> int:
        """H, the width of the cell state and of the gates."""
        return int(self.w_hh.shape[1]) if self.w_hr is None else int(self.w_hr.shape[1])

    @property
    def output_size(self) -> int:
        """The width of h_t (the projection size when there is one)."""
        return int(self.w_hh.shape[1])


@dataclass
class RecurrentStack:
    """A stack of recurrent layers: ``layers[l][d]`` for layer l (0-based), direction d."""

    mode: str
    layers: list[list[CellWeights]]

    @property
    def bidirectional(self) -> bool:
        """Whether every layer has a reverse direction."""
        return len(self.layers[0]) == 2

    @property
    def input_size(self) -> int:
        """Width of the inputs of the first layer."""
        return int(self.layers[0][0].w_ih.shape[1])

    @property
    def output_size(self) -> int:
        """Width of the top layer's output (both directions concatenated)."""
        return sum(c.output_size for c in self.layers[-1])


def stack_from_module(rnn: nn.Module) -> RecurrentStack:
    """Read the weights of an ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN`` (no copy).

    Raises:
        InputError: the module is not one of those.
    """
    torch = _torch()
    mode = getattr(rnn, "mode", None)
    if not isinstance(rnn, torch.nn.RNNBase) or mode not in MODES:
        raise InputError(
            f"model part of type {type(rnn).__name__} is not an nn.LSTM, nn.GRU or nn.RNN"
        )
    layers: list[list[CellWeights]] = []
    for k in range(rnn.num_layers):
        dirs: list[CellWeights] = []
        for sfx in ("", "_reverse") if rnn.bidirectional else ("",):
            w_ih = getattr(rnn, f"weight_ih_l{k}{sfx}").detach()
            w_hh = getattr(rnn, f"weight_hh_l{k}{sfx}").detach()
            if rnn.bias:
                b_ih = getattr(rnn, f"bias_ih_l{k}{sfx}").detach()
                b_hh = getattr(rnn, f"bias_hh_l{k}{sfx}").detach()
            else:
                b_ih = w_ih.new_zeros(w_ih.shape[0])
                b_hh = w_ih.new_zeros(w_ih.shape[0])
            w_hr = None
            if getattr(rnn, "proj_size", 0):
                w_hr = getattr(rnn, f"weight_hr_l{k}{sfx}").detach()
            dirs.append(CellWeights(mode, w_ih, w_hh, b_ih, b_hh, w_hr))
        layers.append(dirs)
    return RecurrentStack(mode=mode, layers=layers)


def _gate_fn(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    torch = _torch()
    if name == "sigmoid":
        return torch.sigmoid
    if name == "hard_sigmoid":
        return lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0)
    raise InputError(f"unsupported recurrent activation {name!r} (sigmoid or hard_sigmoid)")


def run_cell_loop(
    w: CellWeights,
    x: torch.Tensor,
    h0: torch.Tensor | None = None,
    c0: torch.Tensor | None = None,
    reverse: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run one layer and direction over ``x`` (T, in), one step at a time in Python.

    The reference implementation, and the only one for variants PyTorch has no fused kernel
    for (``hard_sigmoid`` gates, GRU with ``reset_after=False``).

    Returns:
        ``(hs, cs)``: h_t for every step ``(T, out)`` and, for LSTMs, c_t ``(T, H)`` (else
        None).  Row t is the state after reading input t (for ``reverse``, after reading
        inputs T-1 down to t).
    """
    torch = _torch()
    T = x.shape[0]
    H = w.hidden_size
    gate = _gate_fn(w.recurrent_activation)
    h = h0 if h0 is not None else x.new_zeros(w.output_size)
    hs = x.new_empty(T, w.output_size)
    cs = x.new_empty(T, H) if w.mode == "LSTM" else None
    steps = range(T - 1, -1, -1) if reverse else range(T)
    xi = torch.addmm(w.b_ih, x, w.w_ih.t())
    w_hh = w.w_hh.contiguous()
    if w.mode == "LSTM":
        assert cs is not None
        c = c0 if c0 is not None else x.new_zeros(H)
        xi = xi + w.b_hh
        w_hr = w.w_hr.contiguous() if w.w_hr is not None else None
        for t in steps:
            g = torch.addmv(xi[t], w_hh, h)
            c = gate(g[H : 2 * H]) * c + gate(g[:H]) * torch.tanh(g[2 * H : 3 * H])
            h = gate(g[3 * H :]) * torch.tanh(c)
            if w_hr is not None:
                h = w_hr @ h
            hs[t] = h
            cs[t] = c
    elif w.mode == "GRU":
        if w.reset_after:
            for t in steps:
                gh = torch.addmv(w.b_hh, w_hh, h)
                gx = xi[t]
                r = gate(gx[:H] + gh[:H])
                z = gate(gx[H : 2 * H] + gh[H : 2 * H])
                n = torch.tanh(gx[2 * H :] + r * gh[2 * H :])
                h = n + z * (h - n)
                hs[t] = h
        else:
            w_rz, b_rz = w_hh[: 2 * H], w.b_hh[: 2 * H]
            w_n, b_n = w_hh[2 * H :], w.b_hh[2 * H :]
            for t in steps:
                gh = torch.addmv(b_rz, w_rz, h)
                gx = xi[t]
                r = gate(gx[:H] + gh[:H])
                z = gate(gx[H : 2 * H] + gh[H:])
                n = torch.tanh(gx[2 * H :] + torch.addmv(b_n, w_n, r * h))
                h = n + z * (h - n)
                hs[t] = h
    else:
        act = torch.tanh if w.mode == "RNN_TANH" else torch.relu
        xi = xi + w.b_hh
        for t in steps:
            h = act(torch.addmv(xi[t], w_hh, h))
            hs[t] = h
    return hs, cs


def _fusable(w: CellWeights) -> bool:
    return w.recurrent_activation == "sigmoid" and (w.mode != "GRU" or w.reset_after)


def _fused_layer(w: CellWeights) -> nn.Module:
    """A single-layer PyTorch module holding ``w`` (built once, kept on ``w``)."""
    if w.fused is None:
        torch = _torch()
        nn_ = torch.nn
        inp, H = int(w.w_ih.shape[1]), w.hidden_size
        kw: dict[str, Any] = {"dtype": w.w_ih.dtype, "device": w.w_ih.device}
        m: nn.Module
        if w.mode == "LSTM":
            proj = w.output_size if w.w_hr is not None else 0
            m = nn_.LSTM(inp, H, proj_size=proj, **kw)
        elif w.mode == "GRU":
            m = nn_.GRU(inp, H, **kw)
        else:
            nl = "tanh" if w.mode == "RNN_TANH" else "relu"
            m = nn_.RNN(inp, H, nonlinearity=nl, **kw)
        params = dict(m.named_parameters())
        with torch.no_grad():
            params["weight_ih_l0"].copy_(w.w_ih)
            params["weight_hh_l0"].copy_(w.w_hh)
            params["bias_ih_l0"].copy_(w.b_ih)
            params["bias_hh_l0"].copy_(w.b_hh)
            if w.w_hr is not None:
                params["weight_hr_l0"].copy_(w.w_hr)
        w.fused = m.eval()
    return w.fused


def run_cell(
    w: CellWeights,
    x: torch.Tensor,
    h0: torch.Tensor | None = None,
    c0: torch.Tensor | None = None,
    reverse: bool = False,
    loop: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run one layer and direction over ``x`` (T, in); same results as :func:`run_cell_loop`.

    h_t comes from PyTorch's fused single-layer kernel.  For LSTMs the gates of every step
    are then recomputed in two matrix products from the inputs and h_{t-1}, and the cell
    state follows from c_t = f_t * c_{t-1} + i_t * g_t, one element-wise op per step.
    ``loop=True`` (or a variant without a fused kernel) uses :func:`run_cell_loop`.
    """
    if loop or not _fusable(w):
        return run_cell_loop(w, x, h0, c0, reverse)
    torch = _torch()
    T, H = x.shape[0], w.hidden_size
    xs = x.flip(0) if reverse else x
    h_init = h0 if h0 is not None else x.new_zeros(w.output_size)
    m = _fused_layer(w)
    cs: Any = None
    if w.mode == "LSTM":
        c_init = c0 if c0 is not None else x.new_zeros(H)
        y, _ = m(xs.unsqueeze(1), (h_init.view(1, 1, -1), c_init.view(1, 1, -1)))
        hs = y[:, 0]
        h_prev = torch.cat([h_init.view(1, -1), hs[:-1]])
        # gates i, f, g of every step (o is not needed: h_t is known)
        g = torch.addmm(w.b_ih[: 3 * H] + w.b_hh[: 3 * H], xs, w.w_ih[: 3 * H].t())
        g = torch.addmm(g, h_prev, w.w_hh[: 3 * H].t())
        u = torch.sigmoid(g[:, :H]) * torch.tanh(g[:, 2 * H :])
        f = torch.sigmoid(g[:, H : 2 * H])
        c = c_init
        rows = []
        for t in range(T):
            c = torch.addcmul(u[t], f[t], c)
            rows.append(c)
        cs = torch.stack(rows)
    else:
        y, _ = m(xs.unsqueeze(1), h_init.view(1, 1, -1))
        hs = y[:, 0]
    if reverse:
        hs = hs.flip(0)
        cs = cs.flip(0) if cs is not None else None
    return hs, cs


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread: the per-step ops are tiny, and on a busy machine the
    synchronisation of a second thread makes them 10-30x slower."""
    torch = _torch()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


CarryState = list[tuple[Any, Any]]
"""Per layer (forward direction): ``(h, c)`` after the last step; c is None except for LSTMs."""


def unroll(
    stack: RecurrentStack, x: torch.Tensor, state: CarryState | None = None
) -> tuple[list[list[tuple[torch.Tensor, torch.Tensor | None]]], CarryState]:
    """Run a whole stack over ``x`` (T, input_size), layer by layer.

    Args:
        stack: the weights.
        x: the first layer's inputs.
        state: the carried forward-direction state from the previous chunk, or None (zeros).
            Reverse directions always start from zeros at the end of ``x``.

    Returns:
        ``(outputs, new_state)``: ``outputs[l][d] = (hs, cs)`` as :func:`run_cell` returns
        them, and the forward state after the last step of every layer.
    """
    torch = _torch()
    outputs: list[list[tuple[Any, Any]]] = []
    new_state: CarryState = []
    inp = x
    for k, dirs in enumerate(stack.layers):
        h0, c0 = state[k] if state is not None else (None, None)
        fwd = run_cell(dirs[0], inp, h0, c0)
        per = [fwd]
        if len(dirs) == 2:
            per.append(run_cell(dirs[1], inp, reverse=True))
        outputs.append(per)
        new_state.append((fwd[0][-1], fwd[1][-1] if fwd[1] is not None else None))
        inp = torch.cat([p[0] for p in per], dim=1) if len(per) == 2 else fwd[0]
    return outputs, new_state


def _kind_names(mode: str, reverse: bool) -> list[str]:
    sfx = "_reverse" if reverse else ""
    return [f"hidden{sfx}", f"cell{sfx}"] if mode == "LSTM" else [f"hidden{sfx}"]


_MODE_LABEL = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN (tanh)", "RNN_RELU": "RNN (relu)"}


class RecurrentAdapter:
    """States of every layer of a recurrent stack (see the module docstring).

    Args:
        stack: the weights (:func:`stack_from_module` or ``keras.stack_from_hdf5``).
        tokenizer: text -> ids (:class:`CharTokenizer`, :class:`WordTokenizer`, ...).
        embed: ids (1-D LongTensor) -> ``(T, input_size)`` inputs; None means one-hot.
        head: top-layer output ``(T, out)`` -> vocabulary logits, for top-k predictions.
        model: the name recorded in ``sources.model``.
        family: ``rnn`` or ``keras``.
        reference: the fused module, to check the unrolled states on the first chunk.
        embedding_rows: rows of the embedding table, to check the tokenizer against.
        extra_settings: more settings to record.
    """

    def __init__(
        self,
        stack: RecurrentStack,
        tokenizer: TextTokenizer,
        embed: Callable[[torch.Tensor], torch.Tensor] | None = None,
        head: Callable[[torch.Tensor], torch.Tensor] | None = None,
        *,
        model: str = "rnn",
        family: str = "rnn",
        reference: nn.Module | None = None,
        embedding_rows: int | None = None,
        extra_settings: Mapping[str, str] | None = None,
    ):
        self.stack = stack
        self.tokenizer = tokenizer
        self.embed = embed
        self.head = head if not stack.bidirectional else None
        self.model = model
        self.family = family
        self.max_context: int | None = None
        self.whole_document = stack.bidirectional
        self.can_predict = self.head is not None
        self.reference = reference
        self._verified = reference is None
        self._extra = dict(extra_settings or {})
        self._rows: int | None
        w0 = stack.layers[0][0].w_ih
        self._dtype = w0.dtype
        self._device = w0.device
        vocab = int(tokenizer.vocab_size)
        if embed is None:
            if vocab > stack.input_size:
                raise InputError(
                    f"tokenizer has {vocab} ids but the one-hot input of the {stack.mode} has "
                    f"{stack.input_size} units: the tokenizer does not match the model"
                )
            self._rows = stack.input_size
        else:
            self._rows = embedding_rows
            if embedding_rows is not None and vocab > embedding_rows:
                raise InputError(
                    f"tokenizer has {vocab} ids but the embedding has {embedding_rows} rows: "
                    "the tokenizer does not match the model"
                )

    # -- description ------------------------------------------------------------------
    def sources(self) -> list[SourceSpec]:
        """``hidden{l}`` (and ``cell{l}`` for LSTMs) for every layer l = 1..L, with
        ``*_reverse`` sources for the backward direction of bidirectional stacks."""
        label = _MODE_LABEL[self.stack.mode]
        out: list[SourceSpec] = []
        for k, dirs in enumerate(self.stack.layers, start=1):
            for d, w in enumerate(dirs):
                for kind in _kind_names(self.stack.mode, d == 1):
                    width = w.hidden_size if kind.startswith("cell") else w.output_size
                    what = "cell state c_t" if kind.startswith("cell") else "hidden state h_t"
                    direction = ", backward direction" if d == 1 else ""
                    out.append(
                        SourceSpec(
                            source=f"{kind}{k}",
                            layer=k,
                            kind=kind,
                            n_cells=width,
                            description=f"{label} layer {k} {what}{direction}",
                        )
                    )
        return out

    def settings(self) -> dict[str, str]:
        """Architecture facts recorded in the project."""
        first = self.stack.layers[0][0]
        out = {
            "architecture": self.stack.mode,
            "layers": str(len(self.stack.layers)),
            "hidden_size": str(first.hidden_size),
            "input_size": str(self.stack.input_size),
            "bidirectional": str(self.stack.bidirectional).lower(),
            "recurrent_activation": first.recurrent_activation,
            "inputs": "one-hot" if self.embed is None else "embedding",
            "vocab_size": str(self.tokenizer.vocab_size),
        }
        if first.w_hr is not None:
            out["proj_size"] = str(first.output_size)
        out.update(self._extra)
        return out

    # -- tokens -------------------------------------------------------------------------
    def tokenize(self, text: str, where: str) -> Tokenized:
        """Ids via the tokenizer, checked against the model's input table."""
        tok = self.tokenizer.encode(text, where)
        if self._rows is not None and len(tok.ids) and int(tok.ids.max()) >= self._rows:
            raise InputError(
                f"{where}: token id {int(tok.ids.max())} is outside the model's "
                f"{self._rows}-row input table: the tokenizer does not match the model"
            )
        return tok

    def token_display(self, ids: Sequence[int]) -> list[str]:
        """Readable forms of single ids."""
        return [self.tokenizer.id_display(int(i)) for i in ids]

    # -- states ---------------------------------------------------------------------------
    def _inputs(self, ids: np.ndarray) -> torch.Tensor:
        torch = _torch()
        t = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=self._device)
        if self.embed is None:
            return torch.nn.functional.one_hot(t, self.stack.input_size).to(self._dtype)
        x = self.embed(t)
        if x.dim() != 2 or x.shape[1] != self.stack.input_size:
            raise InputError(
                f"the embedding gives inputs of shape {tuple(x.shape)}, the {self.stack.mode} "
                f"expects (T, {self.stack.input_size})"
            )
        return x.to(self._dtype)

    def run(
        self,
        ids: np.ndarray,
        wanted: Sequence[SourceKey],
        state: Any = None,
        *,
        topk: int = 0,
        keep_from: int = 0,
    ) -> tuple[ChunkOutput, Any]:
        """Unrolled states of ``ids`` starting from ``state`` (None = zeros)."""
        torch = _torch()
        with torch.inference_mode(), _one_thread():
            x = self._inputs(ids)
            outputs, new_state = unroll(self.stack, x, state)
            if not self._verified:
                self._verify(x, state, outputs, new_state)
            want = {(k[1], k[2]) for k in wanted}
            out = ChunkOutput()
            for k, per in enumerate(outputs, start=1):
                for d, (hs, cs) in enumerate(per):
                    names = _kind_names(self.stack.mode, d == 1)
                    for kind, mat in zip(names, (hs, cs)):
                        if (k, kind) in want and mat is not None:
                            out.states[(f"{kind}{k}", k, kind)] = (
                                mat[keep_from:].float().cpu().numpy()
                            )
            if topk and self.head is not None:
                top = outputs[-1][0][0][keep_from:]
                probs = torch.softmax(self.head(top).float(), dim=-1)
                k = min(topk, probs.shape[-1])
                scores, idx = torch.topk(probs, k, dim=-1)
                out.topk_ids = idx.cpu().numpy()
                out.topk_scores = scores.cpu().numpy().astype(np.float32)
        return out, new_state

    def _verify(
        self,
        x: torch.Tensor,
        state: CarryState | None,
        outputs: list[list[tuple[Any, Any]]],
        new_state: CarryState,
    ) -> None:
        """Compare with the fused module on this chunk: top outputs and final states."""
        torch = _torch()
        ref = self.reference
        assert ref is not None
        was_training = ref.training
        ref.eval()
        try:
            batch_first = bool(getattr(ref, "batch_first", False))
            xin = x.unsqueeze(0) if batch_first else x.unsqueeze(1)
            hx = None
            if state is not None and not self.stack.bidirectional:
                h0 = torch.stack([s[0] for s in state]).unsqueeze(1)
                if self.stack.mode == "LSTM":
                    c0 = torch.stack([s[1] for s in state]).unsqueeze(1)
                    hx = (h0, c0)
                else:
                    hx = h0
            y, hn = ref(xin, hx)
        finally:
            ref.train(was_training)
        y = y[0] if batch_first else y[:, 0]
        mine = torch.cat([p[0] for p in outputs[-1]], dim=1)
        diffs = [float((y - mine).abs().max())]
        h_n = hn[0] if isinstance(hn, tuple) else hn
        finals = []
        for per in outputs:
            finals.append(per[0][0][-1])
            if len(per) == 2:
                finals.append(per[1][0][0])
        diffs.append(float((h_n[:, 0] - torch.stack(finals)).abs().max()))
        if isinstance(hn, tuple):
            cfin = []
            for per in outputs:
                cfin.append(per[0][1][-1])
                if len(per) == 2:
                    cfin.append(per[1][1][0])
            diffs.append(float((hn[1][:, 0] - torch.stack(cfin)).abs().max()))
        scale = max(1.0, float(y.abs().max()))
        if max(diffs) > VERIFY_TOLERANCE * scale:
            raise InputError(
                f"unrolled {self.stack.mode} states differ from the module's own output by "
                f"{max(diffs):.2e}: unsupported module variant"
            )
        self._verified = True


# -- building adapters from modules and factories -------------------------------------------


def _as_tokenizer(tok: Any) -> TextTokenizer:
    if hasattr(tok, "encode") and hasattr(tok, "id_display") and hasattr(tok, "vocab_size"):
        return tok  # type: ignore[no-any-return]
    if isinstance(tok, str):
        return CharTokenizer(tok)
    if isinstance(tok, (Mapping, list, tuple)):
        keys = list(tok.keys()) if isinstance(tok, Mapping) else list(tok)
        if keys and all(isinstance(k, str) and len(k) == 1 for k in keys):
            return CharTokenizer(tok)
        return WordTokenizer(tok)
    raise InputError(
        f"tokenizer of type {type(tok).__name__} is not supported: pass a CharTokenizer, "
        "a WordTokenizer, a string of characters or a {token: id} dict"
    )


def _only(model: nn.Module, cls: type, what: str) -> Any:
    found = [m for m in model.modules() if isinstance(m, cls)]
    if len(found) > 1:
        raise InputError(f"the model has {len(found)} {what} modules: pass the one to use")
    return found[0] if found else None


def rnn_adapter(
    rnn: nn.Module | None,
    tokenizer: Any,
    embedding: Any = None,
    head: Any = None,
    *,
    name: str | None = None,
    verify: bool = True,
) -> RecurrentAdapter:
    """An adapter for a PyTorch recurrent module already in memory (the notebook case).

    Args:
        rnn: the ``nn.LSTM``/``nn.GRU``/``nn.RNN``; None to find the only one in ``embedding``.
        tokenizer: a tokenizer object or a vocabulary (see the module docstring).
        embedding: an ``nn.Embedding``, a callable ids -> inputs, a whole model (its only
            embedding, recurrent module and vocabulary head are used), or None for one-hot.
        head: ``nn.Linear``/callable from the top-layer output to vocabulary logits.
        name: model name recorded in ``sources.model``.
        verify: compare the unrolled states with the fused module on the first chunk.
    """
    torch = _torch()
    nn_ = torch.nn
    tok = _as_tokenizer(tokenizer)
    whole = embedding if isinstance(embedding, nn_.Module) else None
    if whole is not None and isinstance(whole, (nn_.Embedding, nn_.RNNBase)):
        whole = None
    if rnn is None:
        if whole is None:
            raise InputError("no recurrent module given")
        rnn = _only(whole, nn_.RNNBase, "recurrent")
        if rnn is None:
            raise InputError("the model has no nn.LSTM, nn.GRU or nn.RNN module")
    stack = stack_from_module(rnn)
    if whole is not None:
        emb = _only(whole, nn_.Embedding, "nn.Embedding")
        if head is None and not stack.bidirectional:
            heads = [
                m
                for m in whole.modules()
                if isinstance(m, nn_.Linear)
                and m.in_features == stack.output_size
                and m.out_features >= tok.vocab_size
            ]
            head = heads[0] if len(heads) == 1 else None
        embedding = emb
    rows = embedding.num_embeddings if isinstance(embedding, nn_.Embedding) else None
    if embedding is not None and not callable(embedding):
        raise InputError(f"embedding of type {type(embedding).__name__} is not callable")
    if head is not None and not callable(head):
        raise InputError(f"head of type {type(head).__name__} is not callable")
    mode_name = {"LSTM": "lstm", "GRU": "gru"}.get(stack.mode, "rnn")
    return RecurrentAdapter(
        stack,
        tok,
        embed=embedding,
        head=head,
        model=name or mode_name,
        family="rnn",
        reference=rnn if verify else None,
        embedding_rows=rows,
    )


def load_factory(spec: str) -> Adapter:
    """Import ``path/to/file.py:function``, call the function and build an adapter from it.

    Raises:
        InputError: the file or function does not exist, raising inside it, or it returns
            something that is not a model description (see the module docstring).
    """
    path_s, sep, func_name = spec.rpartition(":")
    if not sep or not path_s.endswith(".py") or not func_name:
        raise InputError(f"model factory {spec!r} is not of the form path/to/file.py:function")
    path = Path(path_s)
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    mod_name = f"_lstmvis_factory_{abs(hash(str(path.resolve())))}"
    loader_spec = importlib.util.spec_from_file_location(mod_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise InputError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[mod_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as e:
        raise InputError(f"{path}: importing failed: {type(e).__name__}: {e}") from e
    func = getattr(module, func_name, None)
    if not callable(func):
        raise InputError(f"{path}: has no function {func_name!r}")
    try:
        made = func()
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"{spec}: the factory raised {type(e).__name__}: {e}") from e
    return adapter_from_parts(made, default_name=path.stem)


def adapter_from_parts(made: Any, default_name: str = "rnn") -> Adapter:
    """Build an adapter from what a factory returned (see the module docstring)."""
    if all(hasattr(made, a) for a in ("run", "sources", "tokenize")):
        return made  # type: ignore[no-any-return]
    if isinstance(made, Mapping):
        unknown = set(made) - {"rnn", "model", "tokenizer", "embedding", "head", "name"}
        if unknown:
            raise InputError(f"factory result has unknown key {min(unknown)!r}")
        if "tokenizer" not in made:
            raise InputError("factory result has no 'tokenizer'")
        embedding = made.get("embedding")
        model = made.get("model")
        if embedding is None and model is not None:
            embedding = model
        return rnn_adapter(
            made.get("rnn"),
            made["tokenizer"],
            embedding,
            made.get("head"),
            name=str(made.get("name") or default_name),
        )
    if isinstance(made, tuple) and len(made) in (3, 4):
        head = made[3] if len(made) == 4 else None
        return rnn_adapter(made[1], made[2], made[0], head, name=default_name)
    raise InputError(
        f"the factory returned a {type(made).__name__}: expected an adapter, a dict or a "
        "tuple (embedding_or_model, rnn, tokenizer)"
    )
