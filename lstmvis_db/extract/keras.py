"""Keras recurrent weights from an HDF5 file (Keras 2 ``save_weights``/``save`` layout).

Supported layers: ``Embedding``, ``LSTM``, ``CuDNNLSTM``, ``GRU`` (``reset_after`` either way),
each optionally inside ``Bidirectional``.  Recurrent layers are taken in file order and must
be stacked (each consumes the previous one's output); other layers (attention, dense, ...)
are ignored, except a ``Dense`` right after the last recurrent layer whose output width is the
vocabulary, which becomes the prediction head.

Layouts, converted into PyTorch's (:class:`lstmvis_db.extract.weights.CellWeights`):

* Keras LSTM: ``kernel (in, 4u)``, ``recurrent_kernel (u, 4u)``, ``bias (4u)``, gate columns
  ``i, f, c, o``; PyTorch's matrices are the transposes.
* CuDNNLSTM (as written by Keras 2.1): ``bias (8u)`` = input biases then recurrent biases, and
  each gate's column slice is raw cuDNN memory: the PyTorch gate matrix is
  ``slice.reshape(u, in)`` in C order, **not** ``slice.T`` (``cudnn_layout="raw"``, the
  default).  ``cudnn_layout="keras"`` reads files whose CuDNN kernels were stored like plain
  Keras kernels.
* Keras GRU: gate columns ``z, r, h`` (PyTorch: ``r, z, n``); ``bias (3u)`` with
  ``reset_after=False`` (classic), ``bias (2, 3u)`` with ``reset_after=True``.

The recurrent activation comes from the file's ``model_config`` when present (Keras 2 full
model files), else from ``recurrent_activation`` (``sigmoid`` or ``hard_sigmoid``: Keras 2.2's
LSTM/GRU default); CuDNN layers always use ``sigmoid``.  The states are computed with the
same unrolled loop as PyTorch modules (torch is needed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import CharTokenizer, TextTokenizer, WordTokenizer, load_vocab
from lstmvis_db.extract.provenance import weights_provenance
from lstmvis_db.extract.rnn import RecurrentAdapter
from lstmvis_db.extract.weights import CellWeights, RecurrentStack, import_torch


@dataclass
class KerasLayer:
    """One layer group of a Keras weight file: its name, class (if known) and arrays."""

    name: str
    class_name: str | None
    weights: dict[str, np.ndarray]
    config: dict[str, Any] = field(default_factory=dict)


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def read_keras_layers(path: str | Path) -> list[KerasLayer]:
    """The layers of a Keras 2 HDF5 weight file, in file order, with short weight names.

    Weight names lose the layer prefix and the ``:0`` suffix; weights of a ``Bidirectional``
    wrapper are named ``forward/kernel``, ``backward/kernel``, ...

    Raises:
        InputError: the file is missing, not HDF5, or not in the Keras 2 layout.
    """
    import h5py

    p = Path(path)
    if not p.is_file():
        raise InputError(f"model file not found: {p}")
    try:
        f = h5py.File(p, "r")
    except OSError as e:
        raise InputError(f"{p}: not an HDF5 file ({e})") from e
    with f:
        configs: dict[str, tuple[str, dict[str, Any]]] = {}
        if "model_config" in f.attrs:
            try:
                cfg = json.loads(_text(f.attrs["model_config"]))
                for lay in cfg.get("config", {}).get("layers", []):
                    lc = lay.get("config", {})
                    configs[lc.get("name", "")] = (lay.get("class_name", ""), lc)
            except (ValueError, AttributeError):
                configs = {}
        root = f.get("model_weights", f)
        if "layer_names" not in root.attrs:
            raise InputError(
                f"{p}: not a Keras 2 weight file (no 'layer_names'); Keras 3 '.weights.h5' "
                "files are not supported: save with model.save('model.h5')"
            )
        layers: list[KerasLayer] = []
        for raw_name in root.attrs["layer_names"]:
            name = _text(raw_name)
            group = root[name]
            weights: dict[str, np.ndarray] = {}
            for raw_w in group.attrs.get("weight_names", []):
                wname = _text(raw_w)
                if wname not in group:
                    raise InputError(f"{p}: layer {name!r} lists weight {wname!r} but has no such dataset")
                parts = wname.split(":")[0].split("/")
                short = parts[-1]
                for part in parts[:-1]:
                    if part.startswith("forward"):
                        short = f"forward/{short}"
                    elif part.startswith("backward"):
                        short = f"backward/{short}"
                weights[short] = np.asarray(group[wname])
            cls, conf = configs.get(name, (None, {}))
            if cls == "Bidirectional":
                inner = conf.get("layer", {})
                cls = f"Bidirectional({inner.get('class_name', '')})"
                conf = {**inner.get("config", {}), "merge_mode": conf.get("merge_mode", "concat")}
            layers.append(KerasLayer(name, cls, weights, conf))
    return layers


def _gate_matrix(m: np.ndarray, units: int, n_gates: int, cudnn_raw: bool) -> np.ndarray:
    """PyTorch ``(G*u, in)`` from a Keras ``(in, G*u)`` kernel, gate order unchanged."""
    rows = []
    for g in range(n_gates):
        sl = m[:, g * units : (g + 1) * units]
        if cudnn_raw:
            rows.append(np.ascontiguousarray(sl).reshape(units, m.shape[0]))
        else:
            rows.append(sl.T)
    return np.concatenate(rows, axis=0)


def _reorder_gru(m: np.ndarray, units: int) -> np.ndarray:
    """Keras gate blocks ``z, r, h`` (rows) -> PyTorch ``r, z, n``."""
    return np.concatenate([m[units : 2 * units], m[:units], m[2 * units :]], axis=0)


def _cell(
    layer: KerasLayer,
    prefix: str,
    recurrent_activation: str,
    cudnn_layout: str,
    where: str,
) -> CellWeights:
    torch = import_torch()
    w = layer.weights
    try:
        kernel = w[f"{prefix}kernel"]
        rk = w[f"{prefix}recurrent_kernel"]
    except KeyError as e:
        raise InputError(f"{where}: layer {layer.name!r} has no weight {e.args[0]!r}") from e
    if kernel.ndim != 2 or rk.ndim != 2 or rk.shape[1] % max(rk.shape[0], 1):
        raise InputError(f"{where}: layer {layer.name!r} has kernels of unexpected shapes")
    units = rk.shape[0]
    n_gates = rk.shape[1] // units
    if kernel.shape[1] != n_gates * units or n_gates not in (3, 4):
        raise InputError(
            f"{where}: layer {layer.name!r} kernel {kernel.shape} / recurrent kernel "
            f"{rk.shape} are neither LSTM (4 gates) nor GRU (3 gates)"
        )
    bias = w.get(f"{prefix}bias")
    n = n_gates * units
    cls = (layer.class_name or "").replace("Bidirectional(", "").rstrip(")")
    cudnn = cls.startswith("CuDNN") or (bias is not None and bias.shape == (2 * n,))
    act = layer.config.get("activation", "tanh")
    if act != "tanh":
        raise InputError(f"{where}: layer {layer.name!r} uses activation {act!r}; only tanh is supported")
    rec_act = "sigmoid" if cudnn else layer.config.get("recurrent_activation", recurrent_activation)
    if n_gates == 3 and cudnn:
        raise InputError(f"{where}: layer {layer.name!r}: CuDNNGRU weights are not supported")
    raw = cudnn and cudnn_layout == "raw"
    if n_gates == 4:
        w_ih = _gate_matrix(kernel, units, 4, raw)
        w_hh = _gate_matrix(rk, units, 4, raw)
        if bias is None:
            b_ih, b_hh = np.zeros(n), np.zeros(n)
        elif bias.shape == (2 * n,):
            b_ih, b_hh = bias[:n], bias[n:]
        elif bias.shape == (n,):
            b_ih, b_hh = bias, np.zeros(n)
        else:
            raise InputError(f"{where}: layer {layer.name!r} has a bias of shape {bias.shape}")
        mode, reset_after = "LSTM", True
    else:
        w_ih = _reorder_gru(kernel.T, units)
        w_hh = _reorder_gru(rk.T, units)
        if bias is None:
            b_ih, b_hh = np.zeros(n), np.zeros(n)
            reset_after = bool(layer.config.get("reset_after", False))
        elif bias.shape == (2, n):
            b_ih, b_hh = _reorder_gru(bias[0], units), _reorder_gru(bias[1], units)
            reset_after = True
        elif bias.shape == (n,):
            b_ih, b_hh = _reorder_gru(bias, units), np.zeros(n)
            reset_after = False
        else:
            raise InputError(f"{where}: layer {layer.name!r} has a bias of shape {bias.shape}")
        mode = "GRU"

    def t(a: np.ndarray) -> Any:
        return torch.as_tensor(np.ascontiguousarray(a, dtype=np.float32))

    return CellWeights(
        mode, t(w_ih), t(w_hh), t(b_ih), t(b_hh), None,
        recurrent_activation=rec_act, reset_after=reset_after,
    )


def stack_from_layers(
    layers: list[KerasLayer],
    where: str,
    recurrent_activation: str = "sigmoid",
    cudnn_layout: str = "raw",
) -> tuple[RecurrentStack, np.ndarray | None, tuple[np.ndarray, np.ndarray] | None, list[str]]:
    """Build the recurrent stack, embedding table and head from a file's layers.

    Returns:
        ``(stack, embeddings or None, (dense kernel, bias) or None, recurrent layer names)``.
    """
    if cudnn_layout not in ("raw", "keras"):
        raise InputError(f"unknown cuDNN layout {cudnn_layout!r} (raw or keras)")
    emb: np.ndarray | None = None
    cells: list[list[CellWeights]] = []
    names: list[str] = []
    head: tuple[np.ndarray, np.ndarray] | None = None
    last_was_rnn = False
    for layer in layers:
        w = layer.weights
        if "embeddings" in w and not cells:
            emb = w["embeddings"]
            last_was_rnn = False
        elif "kernel" in w and "recurrent_kernel" in w:
            cells.append([_cell(layer, "", recurrent_activation, cudnn_layout, where)])
            names.append(layer.name)
            last_was_rnn = True
        elif "forward/kernel" in w and "backward/kernel" in w:
            if layer.config.get("merge_mode", "concat") != "concat":
                raise InputError(f"{where}: layer {layer.name!r}: only merge_mode='concat' is supported")
            cells.append([
                _cell(layer, "forward/", recurrent_activation, cudnn_layout, where),
                _cell(layer, "backward/", recurrent_activation, cudnn_layout, where),
            ])
            names.append(layer.name)
            last_was_rnn = True
        else:
            if last_was_rnn and "kernel" in w and w["kernel"].ndim == 2 and head is None:
                head = (w["kernel"], w.get("bias", np.zeros(w["kernel"].shape[1])))
            last_was_rnn = False
    if not cells:
        raise InputError(f"{where}: no LSTM, CuDNNLSTM or GRU layer found")
    modes = {c[0].mode for c in cells}
    if len(modes) > 1:
        raise InputError(f"{where}: mixes LSTM and GRU layers; only one kind per model is supported")
    width = int(cells[0][0].w_ih.shape[1])
    if emb is not None and emb.shape[1] != width:
        raise InputError(
            f"{where}: embedding width {emb.shape[1]} does not match the first recurrent "
            f"layer's input {width}"
        )
    for k in range(1, len(cells)):
        prev = sum(c.output_size for c in cells[k - 1])
        got = int(cells[k][0].w_ih.shape[1])
        if got != prev or len(cells[k]) != len(cells[0]):
            raise InputError(
                f"{where}: recurrent layer {names[k]!r} takes {got} inputs but "
                f"{names[k - 1]!r} gives {prev}: the layers are not a simple stack"
            )
    stack = RecurrentStack(mode=cells[0][0].mode, layers=cells)
    if head is not None and head[0].shape[0] != stack.output_size:
        head = None
    return stack, emb, head, names


def keras_adapter(
    weights: str | Path,
    vocab: str | Path | Mapping[str, int] | TextTokenizer,
    *,
    tokenizer: str = "auto",
    recurrent_activation: str = "sigmoid",
    cudnn_layout: str = "raw",
    name: str | None = None,
) -> RecurrentAdapter:
    """An adapter for a Keras recurrent model stored as an HDF5 weight file.

    Args:
        weights: the ``.h5``/``.hdf5`` file.
        vocab: a vocabulary file (JSON ``{token: id}`` or one token a line), a dict, or a
            tokenizer object.  When no id is 0 and the embedding has a row 0 (the Keras
            padding row), unknown tokens map to 0, as Keras tokenizers do.
        tokenizer: ``char``, ``word`` or ``auto`` (char when at least 90% of the entries are
            single characters; longer ones are special tokens such as ``<s>``).
        recurrent_activation: used when the file does not say (no ``model_config``).
        cudnn_layout: ``raw`` (Keras 2.1 CuDNNLSTM memory layout) or ``keras``.
        name: model name recorded in ``sources.model`` (default: the file's stem).
    """
    torch = import_torch()
    path = Path(weights)
    where = str(path)
    layers = read_keras_layers(path)
    stack, emb, head, names = stack_from_layers(layers, where, recurrent_activation, cudnn_layout)
    if isinstance(vocab, (str, Path)):
        vocab_map: Mapping[str, int] | None = load_vocab(vocab)
    elif isinstance(vocab, Mapping):
        vocab_map = vocab
    else:
        vocab_map = None
    rows = emb.shape[0] if emb is not None else stack.input_size
    if vocab_map is not None:
        unk = 0 if min(vocab_map.values()) >= 1 and rows > 0 else None
        mode = tokenizer
        if mode == "auto":
            singles = sum(len(k) == 1 for k in vocab_map)
            mode = "char" if singles >= 0.9 * len(vocab_map) else "word"
        if mode == "char":
            tok: TextTokenizer = CharTokenizer(vocab_map, unk_id=unk)
        elif mode == "word":
            tok = WordTokenizer(vocab_map, unk_id=unk)
        else:
            raise InputError(f"unknown tokenizer mode {tokenizer!r} (auto, char or word)")
    else:
        tok = vocab  # type: ignore[assignment]
    embed = None
    if emb is not None:
        table = torch.as_tensor(np.ascontiguousarray(emb, dtype=np.float32))

        def embed(ids: Any) -> Any:
            return table[ids]

    head_fn = None
    if head is not None and head[0].shape[1] == rows:  # a softmax over the vocabulary
        k_t = torch.as_tensor(np.ascontiguousarray(head[0], dtype=np.float32))
        b_t = torch.as_tensor(np.ascontiguousarray(head[1], dtype=np.float32))

        def head_fn(h: Any) -> Any:
            return torch.addmm(b_t, h, k_t)

    cls = [lay.class_name for lay in layers if lay.name in names]
    extra = {
        "keras_layers": ",".join(names),
        "keras_classes": ",".join(c or "?" for c in cls),
        "cudnn_layout": cudnn_layout,
        "path": str(path.resolve()),
        **weights_provenance(path),
    }
    return RecurrentAdapter(
        stack,
        tok,
        embed=embed,
        head=head_fn,
        model=name or path.stem,
        family="keras",
        embedding_rows=rows if emb is not None else None,
        extra_settings=extra,
    )
