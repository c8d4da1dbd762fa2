"""The adapter for recurrent models (PyTorch ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` and Keras weights).

:class:`RecurrentAdapter` lists a source per layer and kind (hidden state, LSTM cell state,
backward direction), runs the stack through :func:`~lstmvis_db.extract.unroll.unroll` and
checks the result against the fused module on the first chunk it runs.  :func:`rnn_adapter`
builds one from a PyTorch module in memory; ``factory.py`` from a user's factory file.

The tokenizer is an object with ``encode``/``id_display``/``vocab_size`` (``CharTokenizer``,
``WordTokenizer``) or a vocabulary: a string or list of characters, or a ``{token: id}`` dict.

May import: numpy, torch (only inside functions), ``lstmvis_db.errors``, ``extract.base``,
``extract.weights``, ``extract.unroll``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import ChunkOutput, SourceKey, SourceSpec, TextTokenizer, Tokenized, as_tokenizer
from lstmvis_db.extract.provenance import tensors_sha256
from lstmvis_db.extract.unroll import CarryState, one_thread, unroll
from lstmvis_db.extract.weights import RecurrentStack, chain_modules, import_torch, stack_from_modules

if TYPE_CHECKING:
    import torch
    from torch import nn

VERIFY_TOLERANCE = 1e-4


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
        if self.family == "rnn":  # a model in memory: a checksum of its tensors (Keras: of its file)
            out["weights_sha256_tensors"] = tensors_sha256(
                (f"{k}.{d}.{n}", t) for k, dirs in enumerate(self.stack.layers) for d, w in enumerate(dirs)
                for n, t in (("w_ih", w.w_ih), ("w_hh", w.w_hh), ("b_ih", w.b_ih), ("b_hh", w.b_hh)))
        out["tokenizer"] = type(self.tokenizer).__name__
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
        torch = import_torch()
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
        torch = import_torch()
        with torch.inference_mode(), one_thread():
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
        torch = import_torch()
        ref = self.reference
        assert ref is not None
        was_training = ref.training
        ref.eval()
        try:
            batch_first = bool(getattr(ref, "batch_first", False))
            xin = x.unsqueeze(0) if batch_first else x.unsqueeze(1)
            carried = state if not self.stack.bidirectional else None
            y, h_rows, c_rows = _reference_run(ref, xin, carried, self.stack.mode == "LSTM")
        finally:
            ref.train(was_training)
        y = y[0] if batch_first else y[:, 0]
        mine = torch.cat([p[0] for p in outputs[-1]], dim=1)
        diffs = [float((y - mine).abs().max())]
        finals, cfin = [], []
        for per in outputs:  # final states in the modules' order: layer by layer, forward then backward
            finals.append(per[0][0][-1])
            cfin.append(per[0][1][-1] if per[0][1] is not None else None)
            if len(per) == 2:
                finals.append(per[1][0][0])
                cfin.append(per[1][1][0] if per[1][1] is not None else None)
        diffs += [float((a - b).abs().max()) for a, b in zip(h_rows, finals)]
        diffs += [float((a - b).abs().max()) for a, b in zip(c_rows, cfin) if b is not None]
        scale = max(1.0, float(y.abs().max()))
        if max(diffs) > VERIFY_TOLERANCE * scale:
            raise InputError(
                f"unrolled {self.stack.mode} states differ from the module's own output by "
                f"{max(diffs):.2e}: unsupported module variant"
            )
        self._verified = True


def _reference_run(ref: Any, xin: Any, state: CarryState | None, lstm: bool) -> tuple[Any, list[Any], list[Any]]:
    """The fused module (or a chain of them) on one chunk: ``(output, final h rows, final c rows)``."""
    if getattr(ref, "takes_state_rows", False):  # weights.chain_modules
        return ref(xin, state)  # type: ignore[no-any-return]
    torch = import_torch()
    hx = None
    if state is not None:
        h0 = torch.stack([s[0] for s in state]).unsqueeze(1)
        hx = (h0, torch.stack([s[1] for s in state]).unsqueeze(1)) if lstm else h0
    y, hn = ref(xin, hx)
    h_n = hn[0] if isinstance(hn, tuple) else hn
    c_rows = list(hn[1][:, 0]) if isinstance(hn, tuple) else []
    return y, list(h_n[:, 0]), c_rows


# -- building adapters from modules and factories -------------------------------------------


def _only(model: nn.Module, cls: type, what: str) -> Any:
    found = [m for m in model.modules() if isinstance(m, cls)]
    if len(found) > 1:
        raise InputError(f"the model has {len(found)} {what} modules: pass the one to use")
    return found[0] if found else None


def _recurrent_parts(rnn: Any, whole: Any, nn_: Any) -> list[Any]:
    """The recurrent modules to unroll: ``rnn`` (one or a list), else every one in ``whole``."""
    if rnn is None:
        if whole is None:
            raise InputError("no recurrent module given")
        parts = [m for m in whole.modules() if isinstance(m, nn_.RNNBase)]
        if not parts:
            raise InputError("the model has no nn.LSTM, nn.GRU or nn.RNN module")
        return parts
    return list(rnn) if isinstance(rnn, (list, tuple, nn_.ModuleList)) else [rnn]


def rnn_adapter(
    rnn: nn.Module | Sequence[nn.Module] | None,
    tokenizer: Any,
    embedding: Any = None,
    head: Any = None,
    *,
    name: str | None = None,
    verify: bool = True,
) -> RecurrentAdapter:
    """An adapter for a PyTorch recurrent module already in memory (the notebook case).

    Args:
        rnn: the ``nn.LSTM``/``nn.GRU``/``nn.RNN``, or several applied one after another (a list,
            their layers numbered on in order); None to use every one in ``embedding``, in the
            order they are registered, as a chain.
        tokenizer: a tokenizer object or a vocabulary (see the module docstring).
        embedding: an ``nn.Embedding``, a callable ids -> inputs, a whole model (its only
            embedding, recurrent module and vocabulary head are used), or None for one-hot.
        head: ``nn.Linear``/callable from the top-layer output to vocabulary logits.
        name: model name recorded in ``sources.model``.
        verify: compare the unrolled states with the fused module on the first chunk.
    """
    torch = import_torch()
    nn_ = torch.nn
    tok = as_tokenizer(tokenizer)
    whole = embedding if isinstance(embedding, nn_.Module) else None
    if whole is not None and isinstance(whole, (nn_.Embedding, nn_.RNNBase)):
        whole = None
    parts = _recurrent_parts(rnn, whole, nn_)
    stack = stack_from_modules(parts)
    reference = parts[0] if len(parts) == 1 else chain_modules(parts)
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
        reference=reference if verify else None,
        embedding_rows=rows,
    )
