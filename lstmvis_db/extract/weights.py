"""The weights of recurrent models, in PyTorch's layout.

One layer and direction is a :class:`CellWeights` (gate rows ``i, f, g, o`` for LSTMs,
``r, z, n`` for GRUs), a whole model a :class:`RecurrentStack`; :func:`stack_from_module`
reads them from an ``nn.LSTM``/``nn.GRU``/``nn.RNN`` and ``keras.py`` converts Keras files
into the same form.  :func:`import_torch` imports torch with one clear error when it is missing.

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

