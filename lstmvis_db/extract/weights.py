"""The weights of recurrent models, in PyTorch's layout.

One layer and direction is a :class:`CellWeights` (gate rows ``i, f, g, o`` for LSTMs,
``r, z, n`` for GRUs), a whole model a :class:`RecurrentStack`; :func:`stack_from_module`
reads them from an ``nn.LSTM``/``nn.GRU``/``nn.RNN`` and ``keras.py`` converts Keras files
into the same form; :func:`stack_from_modules` joins several modules applied one after another.
:func:`import_torch` imports torch with one clear error when it is missing.

May import: torch (only inside functions) and ``lstmvis_db.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lstmvis_db.errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

MODES = ("LSTM", "GRU", "RNN_TANH", "RNN_RELU")


def import_torch() -> Any:
    """The torch module, or an InputError saying how to install it."""
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
    torch = import_torch()
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



def stack_from_modules(modules: list[nn.Module]) -> RecurrentStack:
    """One stack from several recurrent modules applied one after another (the output of each
    is the input of the next, nothing in between): their layers in order.

    Raises:
        InputError: modules of different kinds or directions, or widths that do not chain.
    """
    stacks = [stack_from_module(m) for m in modules]
    first = stacks[0]
    for i, st in enumerate(stacks[1:], start=1):
        if st.mode != first.mode or st.bidirectional != first.bidirectional:
            raise InputError(
                f"recurrent module {i + 1} is a {'bidirectional ' * st.bidirectional}{st.mode} but module 1 a "
                f"{'bidirectional ' * first.bidirectional}{first.mode}: several modules must be of one kind"
            )
        if st.input_size != stacks[i - 1].output_size:
            raise InputError(
                f"recurrent module {i + 1} takes inputs of width {st.input_size} but module {i} gives "
                f"{stacks[i - 1].output_size}: the modules do not chain"
            )
    return RecurrentStack(mode=first.mode, layers=[layer for st in stacks for layer in st.layers])


def chain_modules(modules: list[nn.Module]) -> nn.Module:
    """The modules run one after another as one module, to check unrolled states against:
    ``forward(x, state)`` takes the carried state as per-layer ``(h, c)`` rows (the widths may
    differ between modules) and returns ``(y, final h rows, final c rows)``."""
    th = import_torch()

    class Chain(th.nn.Module):  # type: ignore[misc,name-defined]
        takes_state_rows = True

        def __init__(self, parts: list[nn.Module]):
            super().__init__()
            self.parts = th.nn.ModuleList(parts)
            self.batch_first = bool(getattr(parts[0], "batch_first", False))

        def forward(self, x: Any, state: Any = None) -> tuple[Any, list[Any], list[Any]]:
            """``(output, final h per layer and direction, final c ...)`` from per-layer ``(h, c)`` rows."""
            h_rows: list[Any] = []
            c_rows: list[Any] = []
            at = 0
            for m in self.parts:
                n = m.num_layers * (2 if m.bidirectional else 1)
                hx = None
                if state is not None:
                    rows = state[at : at + n]
                    h0 = th.stack([r[0] for r in rows]).unsqueeze(1)
                    hx = (h0, th.stack([r[1] for r in rows]).unsqueeze(1)) if m.mode == "LSTM" else h0
                x, hn = m(x, hx)
                at += n
                h_rows += list((hn[0] if isinstance(hn, tuple) else hn)[:, 0])
                c_rows += list(hn[1][:, 0]) if isinstance(hn, tuple) else []
            return x, h_rows, c_rows

    if len({bool(getattr(m, "batch_first", False)) for m in modules}) > 1:
        raise InputError("the recurrent modules disagree on batch_first")
    return Chain(modules)
