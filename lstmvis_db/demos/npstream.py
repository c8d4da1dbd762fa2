"""Running the project's trained Shakespeare LSTMs statefully over whole scenes, in numpy.

Each document (a scene) is read from a zero state to its end in one pass: no windows, no
restarts.  Documents are batched by length for the recurrence; the softmax head (up to 10,000
words) is applied in chunks of positions, so memory stays bounded however long a scene is.
Imports numpy and :mod:`lstmvis_db.demos.nplstm`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lstmvis_db.demos.nplstm import COMPUTE_DTYPE, CharLstmModel, _batches, _pad_batch, stacked_forward

__all__ = ["HEAD_CHUNK", "head_topk", "run_whole_documents"]

HEAD_CHUNK = 2048


def head_topk(model: CharLstmModel, h: np.ndarray, next_ids: np.ndarray, k: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-k ids and probabilities and the probability of ``next_ids`` (-1: none) for the
    top-layer states ``h`` (T, H), computed ``HEAD_CHUNK`` positions at a time."""
    w = model.out_w.astype(COMPUTE_DTYPE).T
    b = model.out_b.astype(COMPUTE_DTYPE)
    n = len(h)
    top_ids = np.empty((n, k), np.int32)
    top_p = np.empty((n, k), np.float32)
    nxt = np.full(n, np.nan, np.float32)
    for a in range(0, n, HEAD_CHUNK):
        logits = h[a:a + HEAD_CHUNK].astype(COMPUTE_DTYPE) @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        part = np.argpartition(-probs, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(probs, part, axis=1)
        order = np.lexsort((part, -vals), axis=1)  # largest first, ties: lower id
        top_ids[a:a + HEAD_CHUNK] = np.take_along_axis(part, order, axis=1)
        top_p[a:a + HEAD_CHUNK] = np.take_along_axis(vals, order, axis=1)
        want = next_ids[a:a + HEAD_CHUNK]
        has = want >= 0
        nxt[a:a + HEAD_CHUNK][has] = probs[np.nonzero(has)[0], want[has]]
    return top_ids, top_p, nxt


def run_whole_documents(model: CharLstmModel, docs: Sequence[np.ndarray], k: int = 5,
                        max_cells: int = 400_000, progress: Callable[[int, int], None] | None = None
                        ) -> dict[str, np.ndarray]:
    """Run every document from a zero state to its end; concatenated float32 ``layer{n}_h`` /
    ``layer{n}_c``, ``topk_ids``, ``topk_probs`` and ``next_prob`` (the probability of the
    actual next token; NaN at each document's last position)."""
    per_doc: list[dict[str, np.ndarray] | None] = [None] * len(docs)
    groups = _batches([len(d) for d in docs], max_cells)
    for gi, group in enumerate(groups):
        ids, lens = _pad_batch([np.asarray(docs[i]) for i in group])
        states = stacked_forward(model.embedding[ids].astype(COMPUTE_DTYPE), model.layers)
        for row, doc_index in enumerate(group):
            n = lens[row]
            doc = np.asarray(docs[doc_index])
            nxt_ids = np.full(n, -1, np.int64)
            nxt_ids[:-1] = doc[1:]
            top_ids, top_p, nxt = head_topk(model, states[-1].h[row, :n], nxt_ids, min(k, len(model.out_b)))
            result = {"topk_ids": top_ids, "topk_probs": top_p, "next_prob": nxt}
            for li, st in enumerate(states, start=1):
                result[f"layer{li}_h"] = st.h[row, :n].astype(np.float32)
                result[f"layer{li}_c"] = st.c[row, :n].astype(np.float32)
            per_doc[doc_index] = result
        if progress is not None:
            progress(gi + 1, len(groups))
    keys = list(per_doc[0]) if per_doc and per_doc[0] is not None else []
    return {key: np.concatenate([d[key] for d in per_doc if d is not None]) for key in keys}
