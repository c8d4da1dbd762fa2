"""Numpy forward passes of small LSTM language models (no torch needed at build time).

All LSTM weights here use the *torch layout*: gate order i, f, g (cell candidate), o;
``w_ih`` is (4H, in), ``w_hh`` is (4H, H), and the two biases ``b_ih`` and ``b_hh`` are both
added.  One step is

    z = x W_ih^T + b_ih + h W_hh^T + b_hh;  i, f, g, o = split(z)
    c' = sigmoid(f) * c + sigmoid(i) * tanh(g);  h' = sigmoid(o) * tanh(c')

which is what ``torch.nn.LSTM`` and cuDNN compute.  Sequences are processed as a batch of
independent documents (each starts from zero state); padding after a document's end never
influences its own steps, so results do not depend on the other documents in the batch except
through floating-point order, which is fixed for a given input (builds are deterministic).
Arithmetic is float32 by default (``dtype=np.float64`` is available); tests/unit/test_demo.py checks
both against torch.

Models:

* :class:`TextgenrnnModel`: textgenrnn 2.0.0's pretrained character model: Embedding(465, 100)
  -> LSTM(128) -> LSTM(128) -> attention over the concatenation [embedding, h1, h2] of the last
  40 steps -> dense softmax over the 465 characters.
* :class:`CharLstmModel`: the project's own small models (parens, chorales): Embedding ->
  stacked LSTM(s) -> linear -> softmax.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CharLstmModel",
    "LayerStates",
    "LstmWeights",
    "PreparedLayer",
    "TextgenrnnModel",
    "lstm_forward",
    "softmax",
    "stacked_forward",
    "topk",
]

COMPUTE_DTYPE = np.float32


class PreparedLayer:
    """An LSTM layer's weights arranged for fast stepping in ``dtype``.

    The i, f, o columns are pre-scaled by 0.5 (exact in binary floating point) so one ``tanh``
    over all 4H pre-activations gives tanh(g) and, via sigmoid(x) = (1 + tanh(x / 2)) / 2, the
    three gates.
    """

    def __init__(self, weights: LstmWeights, dtype: type = COMPUTE_DTYPE) -> None:
        hidden = weights.hidden
        scale = np.full(4 * hidden, 0.5)
        scale[2 * hidden:3 * hidden] = 1.0
        self.hidden = hidden
        self.dtype = dtype
        self.w_ih_t = np.ascontiguousarray((weights.w_ih.astype(np.float64).T * scale).astype(dtype))
        self.w_hh_t = np.ascontiguousarray((weights.w_hh.astype(np.float64).T * scale).astype(dtype))
        self.bias: np.ndarray = (weights.b_ih.astype(dtype) + weights.b_hh.astype(dtype)) * scale.astype(dtype)

    def project(self, x: np.ndarray) -> np.ndarray:
        """Input projection plus bias for inputs of shape (..., in) -> (..., 4H)."""
        shape = x.shape
        out = x.reshape(-1, shape[-1]).astype(self.dtype, copy=False) @ self.w_ih_t
        out += self.bias
        return out.reshape(*shape[:-1], 4 * self.hidden)

    def step(self, proj_t: np.ndarray, h: np.ndarray, c: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
        """One time step for a batch: ``proj_t`` (B, 4H) from :meth:`project`; returns h, c."""
        hid = self.hidden
        z = h @ self.w_hh_t
        z += proj_t
        np.tanh(z, out=z)
        ifo = z[:, : 2 * hid]
        ifo *= 0.5
        ifo += 0.5
        o_gate = z[:, 3 * hid:]
        o_gate *= 0.5
        o_gate += 0.5
        c_new = z[:, hid:2 * hid] * c
        c_new += z[:, :hid] * z[:, 2 * hid:3 * hid]
        h_new = np.tanh(c_new)
        h_new *= o_gate
        return h_new, c_new


@dataclass(frozen=True)
class LstmWeights:
    """One LSTM layer in torch layout (gate order i, f, g, o)."""

    w_ih: np.ndarray
    w_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray

    @property
    def hidden(self) -> int:
        """Number of cells H."""
        return int(self.w_hh.shape[1])

    @property
    def n_in(self) -> int:
        """Input width."""
        return int(self.w_ih.shape[1])

    @classmethod
    def from_npz(cls, arrays: dict[str, np.ndarray] | np.lib.npyio.NpzFile, prefix: str
                 ) -> LstmWeights:
        """Read ``{prefix}w_ih``, ``{prefix}w_hh``, ``{prefix}b_ih``, ``{prefix}b_hh``."""
        return cls(*(np.asarray(arrays[prefix + k]) for k in ("w_ih", "w_hh", "b_ih", "b_hh")))


@dataclass
class LayerStates:
    """Per-step hidden (h) and cell (c) states of one layer: arrays (B, T, H)."""

    h: np.ndarray
    c: np.ndarray


def lstm_forward(x: np.ndarray, weights: LstmWeights | PreparedLayer,
                 h0: np.ndarray | None = None, c0: np.ndarray | None = None,
                 dtype: type = COMPUTE_DTYPE) -> LayerStates:
    """Run one LSTM layer over a batch ``x`` of shape (B, T, in); returns h and c (B, T, H)."""
    layer = weights if isinstance(weights, PreparedLayer) else PreparedLayer(weights, dtype)
    return run_projected(layer, layer.project(np.asarray(x)), h0, c0)


def run_projected(layer: PreparedLayer, proj: np.ndarray, h0: np.ndarray | None = None,
                  c0: np.ndarray | None = None) -> LayerStates:
    """The recurrence of one layer over its input projection ``proj`` (B, T, 4H)."""
    batch, steps = proj.shape[:2]
    hidden = layer.hidden
    h: np.ndarray = np.zeros((batch, hidden), layer.dtype) if h0 is None else np.array(h0, layer.dtype)
    c: np.ndarray = np.zeros((batch, hidden), layer.dtype) if c0 is None else np.array(c0, layer.dtype)
    hs: np.ndarray = np.empty((batch, steps, hidden), layer.dtype)
    cs: np.ndarray = np.empty((batch, steps, hidden), layer.dtype)
    for t in range(steps):
        h, c = layer.step(proj[:, t], h, c)
        hs[:, t] = h
        cs[:, t] = c
    return LayerStates(hs, cs)


def stacked_forward(x: np.ndarray, layers: Sequence[LstmWeights | PreparedLayer]
                    ) -> list[LayerStates]:
    """Run stacked LSTM layers (each layer's h feeds the next) over ``x`` (B, T, in)."""
    out: list[LayerStates] = []
    inp = x
    for layer in layers:
        states = lstm_forward(inp, layer)
        out.append(states)
        inp = states.h
    return out


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    ex = np.exp(shifted)
    return ex / ex.sum(axis=axis, keepdims=True)


def topk(probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest entries per row, largest first (ties: lower index)."""
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(probs, order, axis=1)


def _pad_batch(seqs: Sequence[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """Stack 1-D integer sequences into a (B, Tmax) array padded with 0."""
    lengths = [len(s) for s in seqs]
    out: np.ndarray = np.zeros((len(seqs), max(lengths) if lengths else 0), dtype=np.int64)
    for row, seq in enumerate(seqs):
        out[row, : len(seq)] = seq
    return out, lengths


def _batches(lengths: Sequence[int], max_cells: int) -> list[list[int]]:
    """Group sequence indices (sorted by length) into batches of bounded padded size."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    groups: list[list[int]] = []
    current: list[int] = []
    for idx in order:
        longest = lengths[current[0]] if current else lengths[idx]
        if current and longest * (len(current) + 1) > max_cells:
            groups.append(current)
            current = []
        current.append(idx)
    if current:
        groups.append(current)
    return groups


class TextgenrnnModel:
    """textgenrnn 2.0.0's pretrained character LSTM, read from ``data/textgenrnn/weights.npz``.

    textgenrnn is a *window* model: it always reads exactly ``window`` = 40 characters (left
    padded with index 0) from a zero state, and predicts the next character from attention over
    the concatenation [embedding, h1, h2] of those 40 steps followed by a dense softmax.  Run
    statefully over thousands of characters its cell states drift out of range and its
    predictions collapse (top-1 accuracy on Shakespeare falls from 0.44 to 0.15), so
    :meth:`run_documents` reads a document in segments of ``stride`` characters, each run from a
    zero state starting ``window - 1`` characters before the segment (left-padded with index 0
    at the document start).  Each position therefore sees between 40 and 40 + stride - 1
    characters of context, and with ``stride=1`` every position gets exactly textgenrnn's own
    40-character window.  States inside a segment are continuous; at segment borders the
    context length drops back to 40.
    """

    window = 40

    def __init__(self, arrays: dict[str, np.ndarray] | np.lib.npyio.NpzFile,
                 dtype: type = COMPUTE_DTYPE) -> None:
        self.dtype = dtype
        self.embedding: np.ndarray = np.asarray(arrays["embedding"]).astype(dtype)
        self.weights = [LstmWeights.from_npz(arrays, "l1_"), LstmWeights.from_npz(arrays, "l2_")]
        self.layers = [PreparedLayer(w, dtype) for w in self.weights]
        self.attention_w: np.ndarray = np.asarray(arrays["attention_w"]).astype(dtype)
        self.output_kernel: np.ndarray = np.asarray(arrays["output_kernel"]).astype(dtype)
        self.output_bias: np.ndarray = np.asarray(arrays["output_bias"]).astype(dtype)
        # layer-1 input projection of every vocabulary entry (an exact lookup table)
        self._proj1 = self.layers[0].project(self.embedding)

    @classmethod
    def load(cls, path: str | Path, dtype: type = COMPUTE_DTYPE) -> TextgenrnnModel:
        """Load the converted weights file."""
        with np.load(path, allow_pickle=False) as npz:
            return cls({k: npz[k] for k in npz.files}, dtype)

    @property
    def hidden(self) -> int:
        """Cells per layer."""
        return self.layers[0].hidden

    def forward(self, ids: np.ndarray) -> tuple[list[LayerStates], np.ndarray]:
        """Run a batch ``ids`` (B, T) from zero state; returns layer states and the concatenated
        attention features [embedding, h1, h2] (B, T, 356)."""
        ids = np.asarray(ids)
        states: list[LayerStates] = []
        for li, layer in enumerate(self.layers):
            # layer 1's projection is a lookup in its per-character table
            proj = self._proj1[ids] if li == 0 else layer.project(states[-1].h)
            states.append(run_projected(layer, proj))
        feats = np.concatenate([self.embedding[ids]] + [st.h for st in states], axis=2)
        return states, feats

    def predict(self, feats: np.ndarray, last: int) -> np.ndarray:
        """Next-character probabilities for the last ``last`` steps of a batch of runs.

        ``feats`` is (B, T, F) with T >= window - 1 + last; the prediction at step p uses
        attention over steps p - 39 .. p: weights exp(a_s - max) / (sum + 1e-7), as in
        textgenrnn's AttentionWeightedAverage (Keras epsilon 1e-7).  Returns (B, last, V).
        """
        batch, steps, _width = feats.shape
        w = self.window
        logits = feats @ self.attention_w  # (B, T)
        first = steps - last
        out: np.ndarray = np.empty((batch, last, self.output_kernel.shape[1]), self.dtype)
        for j in range(last):
            p = first + j
            lo = max(0, p - w + 1)
            a = logits[:, lo:p + 1]
            ai = np.exp(a - a.max(axis=1, keepdims=True))
            att = ai / (ai.sum(axis=1, keepdims=True) + np.asarray(1e-7, self.dtype))
            pooled = np.einsum("bwf,bw->bf", feats[:, lo:p + 1], att)
            out[:, j] = pooled @ self.output_kernel + self.output_bias
        return softmax(out, axis=2)

    def run_documents(self, docs: Sequence[np.ndarray], k: int = 5, stride: int = 16,
                      chunk: int = 1024, progress: Callable[[int, int], None] | None = None
                      ) -> dict[str, np.ndarray]:
        """Read every document (1-D id arrays) in segments; results concatenated in order.

        Returns float32 arrays ``layer1_h``, ``layer1_c``, ``layer2_h``, ``layer2_c`` (N, 128),
        ``topk_ids`` (N, k) int32, ``topk_probs`` (N, k) float32 and ``next_prob`` (N,) float32
        (the probability given to the actual next character; NaN at a document's end).
        ``progress(done, total)`` is called after each chunk of segments.
        """
        w = self.window
        seg_rows: list[np.ndarray] = []
        next_rows: list[np.ndarray] = []
        for doc in docs:
            doc = np.asarray(doc, dtype=np.int64)
            n_seg = -(-len(doc) // stride)
            tail = np.zeros(n_seg * stride - len(doc), np.int64)
            padded = np.concatenate([np.zeros(w - 1, np.int64), doc, tail])
            idx = np.arange(n_seg)[:, None] * stride + np.arange(w - 1 + stride)[None, :]
            seg_rows.append(padded[idx])
            next_rows.append(np.concatenate([doc[1:], [0], tail]).reshape(n_seg, stride))
        segments = np.concatenate(seg_rows) if seg_rows else np.zeros((0, w - 1 + stride), int)
        next_tokens = np.concatenate(next_rows) if next_rows else np.zeros((0, stride), int)
        total = len(segments)
        names = ("layer1_h", "layer1_c", "layer2_h", "layer2_c")
        outs = {name: np.empty((total, stride, self.hidden), np.float32) for name in names}
        top_ids = np.empty((total, stride, k), np.int32)
        top_p = np.empty((total, stride, k), np.float32)
        probs_next = np.empty((total, stride), np.float32)
        for lo in range(0, total, chunk):
            ids = segments[lo:lo + chunk]
            states, feats = self.forward(ids)
            probs = self.predict(feats, stride)  # (C, S, V)
            for name, arr in zip(names, (states[0].h, states[0].c, states[1].h, states[1].c)):
                outs[name][lo:lo + len(ids)] = arr[:, w - 1:]
            flat = probs.reshape(-1, probs.shape[2])
            ti, tp = topk(flat, k)
            top_ids[lo:lo + len(ids)] = ti.reshape(len(ids), stride, k)
            top_p[lo:lo + len(ids)] = tp.reshape(len(ids), stride, k)
            nxt = next_tokens[lo:lo + chunk]
            probs_next[lo:lo + len(ids)] = np.take_along_axis(probs, nxt[:, :, None], 2)[:, :, 0]
            if progress is not None:
                progress(min(lo + chunk, total), total)
        # keep the rows that belong to real positions, in document order
        keep: list[np.ndarray] = []
        last_pos: list[int] = []
        row0 = 0
        for doc in docs:
            n_seg = -(-len(doc) // stride)
            keep.append(row0 * stride + np.arange(len(doc)))
            row0 += n_seg
            last_pos.append(len(doc))
        sel = np.concatenate(keep) if keep else np.zeros(0, int)
        result = {name: arr.reshape(-1, self.hidden)[sel] for name, arr in outs.items()}
        result["topk_ids"] = top_ids.reshape(-1, k)[sel]
        result["topk_probs"] = top_p.reshape(-1, k)[sel]
        nxt_p = probs_next.reshape(-1)[sel].copy()
        ends = np.cumsum(last_pos) - 1
        nxt_p[ends[np.asarray(last_pos) > 0]] = np.nan
        result["next_prob"] = nxt_p
        return result


class CharLstmModel:
    """A small token LSTM LM of this project: Embedding -> LSTM layers -> Linear -> softmax.

    Weights file keys: ``embedding`` (V, E), ``l{n}_w_ih``/``l{n}_w_hh``/``l{n}_b_ih``/
    ``l{n}_b_hh`` for n = 1.. (torch layout), ``out_w`` (V, H), ``out_b`` (V,).
    """

    def __init__(self, arrays: dict[str, np.ndarray] | np.lib.npyio.NpzFile) -> None:
        self.embedding = np.asarray(arrays["embedding"])
        self.weights: list[LstmWeights] = []
        n = 1
        while f"l{n}_w_ih" in arrays:
            self.weights.append(LstmWeights.from_npz(arrays, f"l{n}_"))
            n += 1
        self.layers = [PreparedLayer(w) for w in self.weights]
        self.out_w = np.asarray(arrays["out_w"])
        self.out_b = np.asarray(arrays["out_b"])

    @classmethod
    def load(cls, path: str | Path) -> CharLstmModel:
        """Load a weights file written by one of the training scripts."""
        with np.load(path, allow_pickle=False) as npz:
            return cls({k: npz[k] for k in npz.files})

    def forward(self, ids: np.ndarray) -> tuple[list[LayerStates], np.ndarray]:
        """Run a padded batch ``ids`` (B, T); returns layer states and probabilities (B, T, V)."""
        emb = self.embedding[ids].astype(COMPUTE_DTYPE)
        states = stacked_forward(emb, self.layers)
        logits = states[-1].h @ self.out_w.astype(COMPUTE_DTYPE).T + self.out_b
        return states, softmax(logits, axis=2)

    def run_documents(self, docs: Sequence[np.ndarray], k: int = 3, max_cells: int = 2_000_000
                      ) -> dict[str, np.ndarray]:
        """Run documents; concatenated float32 ``layer{n}_h``/``layer{n}_c``, ``topk_ids``,
        ``topk_probs`` and ``next_prob`` as in :meth:`TextgenrnnModel.run_documents`."""
        lengths = [len(d) for d in docs]
        per_doc: list[dict[str, np.ndarray] | None] = [None] * len(docs)
        for group in _batches(lengths, max_cells):
            ids, lens = _pad_batch([np.asarray(docs[i]) for i in group])
            states, probs_all = self.forward(ids)
            for row, doc_index in enumerate(group):
                n = lens[row]
                probs = probs_all[row, :n]
                top_ids, top_p = topk(probs, min(k, probs.shape[1]))
                nxt = np.full(n, np.nan)
                if n > 1:
                    nxt[:-1] = probs[np.arange(n - 1), np.asarray(docs[doc_index])[1:]]
                result = {
                    "topk_ids": top_ids.astype(np.int32),
                    "topk_probs": top_p.astype(np.float32),
                    "next_prob": nxt.astype(np.float32),
                }
                for li, st in enumerate(states, start=1):
                    result[f"layer{li}_h"] = st.h[row, :n].astype(np.float32)
                    result[f"layer{li}_c"] = st.c[row, :n].astype(np.float32)
                per_doc[doc_index] = result
        keys = list(per_doc[0].keys()) if per_doc and per_doc[0] is not None else []
        return {key: np.concatenate([d[key] for d in per_doc if d is not None]) for key in keys}
