"""Running recurrent weights step by step, keeping the state of every layer and step.

The fused PyTorch modules return per-step outputs of the top layer only, plus the final state
of each layer.  LSTMVis needs the per-step hidden state of *every* layer and the LSTM cell
state, so :func:`unroll` runs a :class:`~lstmvis_db.extract.weights.RecurrentStack` layer by
layer: :func:`run_cell` uses PyTorch's fused single-layer kernel for h_t and recomputes the
LSTM cell state from the gates; :func:`run_cell_loop` is the plain per-step reference (and the
only path for ``hard_sigmoid`` gates and classic Keras GRUs).

May import: torch (only inside functions), ``lstmvis_db.errors``, ``extract.weights``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lstmvis_db.errors import InputError
from lstmvis_db.extract.weights import CellWeights, RecurrentStack, import_torch

if TYPE_CHECKING:
    import torch
    from torch import nn


def _gate_fn(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    torch = import_torch()
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
    torch = import_torch()
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
        torch = import_torch()
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
    torch = import_torch()
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
def one_thread() -> Iterator[None]:
    """Run torch on one thread: the per-step ops are tiny, and on a busy machine the
    synchronisation of a second thread makes them 10-30x slower."""
    torch = import_torch()
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
    torch = import_torch()
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
