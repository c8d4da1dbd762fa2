"""The middle phases of an extraction: how documents are cut into model calls, and running them.

:func:`plan_processing` decides between windows (transformers), whole documents
(bidirectional recurrent models) and chunks with carried state (recurrent models);
:func:`plan_windows` lays the windows over one document; :class:`StateArrays` holds the
states in memory-mapped temporary files while :func:`run_documents` fills them.

May import: numpy, ``lstmvis_db.errors``, ``lstmvis_db.progress``, ``extract.base``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import Adapter, ChunkOutput, SourceKey, SourceSpec
from lstmvis_db.progress import Counter


@dataclass(frozen=True)
class Processing:
    """How every document goes through the model.

    Attributes:
        windowed: the model has a context limit and runs in overlapping windows.
        whole_document: the model sees each document in one pass (bidirectional).
        window: tokens per model call (the chunk size for recurrent models).
        step: new tokens per window (equal to ``window`` unless windowed).
    """

    windowed: bool
    whole_document: bool
    window: int
    step: int

    def describe(self) -> str:
        """One sentence for the project's settings and source descriptions."""
        if self.windowed:
            return (
                f"windows of {self.window} tokens advancing by {self.step}: after the first window each "
                f"position is computed with at least {self.window - self.step} earlier tokens of its "
                "document in view; windows never cross documents"
            )
        if self.whole_document:
            return "each document in one pass (bidirectional); state starts from zeros per document"
        return (
            f"chunks of {self.window} tokens with the recurrent state carried across chunks; "
            "state starts from zeros at each document"
        )


def plan_processing(adapter: Adapter, chunk: int, stride: int | None) -> Processing:
    """Windows of ``min(chunk, context)`` advancing by ``stride`` (default half a window) for
    models with a context limit, else chunks of ``chunk`` tokens.

    Raises:
        InputError: a stride outside ``1..window``.
    """
    context = adapter.max_context
    windowed = context is not None
    window = min(int(chunk), int(context)) if context is not None else int(chunk)
    step = window
    if windowed:
        step = int(stride) if stride is not None else max(1, window // 2)
        if not 1 <= step <= window:
            raise InputError(f"stride {stride} must be between 1 and the window of {window} tokens")
    return Processing(windowed, bool(adapter.whole_document) and not windowed, window, step)


def plan_windows(n: int, window: int, stride: int) -> list[tuple[int, int, int]]:
    """``(start, end, keep_from)`` windows covering ``[0, n)``.

    The first window keeps all its positions; each later one advances by ``stride`` and keeps
    only its last ``stride`` positions, which have ``window - stride`` tokens of left context.
    """
    plan = []
    done = 0
    while done < n:
        end = min(n, done + (window if done == 0 else stride))
        start = max(0, end - window)
        plan.append((start, end, done - start))
        done = end
    return plan


class StateArrays:
    """The states of every wanted source, ``(n_total, n_cells)`` float32 memory maps in
    ``folder``, plus the top-k predictions when ``topk`` > 0."""

    def __init__(self, specs: Sequence[SourceSpec], n_total: int, folder: Path, topk: int, model: str):
        self.specs = list(specs)
        self.model = model
        self.arrays: dict[SourceKey, np.memmap] = {
            s.key: np.memmap(folder / f"{i}.f32", dtype=np.float32, mode="w+", shape=(n_total, s.n_cells))
            for i, s in enumerate(self.specs)
        }
        self.top_ids = np.zeros((n_total, topk), dtype=np.int64) if topk else None
        self.top_scores = np.zeros((n_total, topk), dtype=np.float32) if topk else None
        self.k_seen = topk  # a vocabulary smaller than k gives fewer predictions

    def store(self, base: int, lo: int, hi: int, result: ChunkOutput) -> None:
        """Put positions ``lo..hi`` of the document starting at ``base`` in place, checked.

        Raises:
            InputError: a missing or misshapen source, a non-finite value, missing predictions.
        """
        for s in self.specs:
            mat = result.states.get(s.key)
            if mat is None or mat.shape != (hi - lo, s.n_cells):
                got = None if mat is None else mat.shape
                raise InputError(
                    f"adapter {self.model!r} returned {got} for source {s.source}, "
                    f"expected {(hi - lo, s.n_cells)}"
                )
            if not np.isfinite(mat).all():
                bad = int(np.argwhere(~np.isfinite(mat))[0][0]) + base + lo
                raise InputError(f"source {s.source}: the model produced a non-finite value at position {bad}")
            self.arrays[s.key][base + lo : base + hi] = mat
        if self.top_ids is not None and self.top_scores is not None:
            if result.topk_ids is None or result.topk_scores is None:
                raise InputError(f"adapter {self.model!r} returned no top-k predictions")
            k = result.topk_ids.shape[1]
            self.k_seen = min(self.k_seen, k)
            self.top_ids[base + lo : base + hi, :k] = result.topk_ids
            self.top_scores[base + lo : base + hi, :k] = result.topk_scores

    def flush(self) -> None:
        """Write the memory maps out."""
        for arr in self.arrays.values():
            arr.flush()

    def predictions(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(ids, scores)`` cut to the smallest k any call gave, or None without top-k."""
        if self.top_ids is None or self.top_scores is None:
            return None
        return self.top_ids[:, : self.k_seen], self.top_scores[:, : self.k_seen]


def run_documents(
    adapter: Adapter,
    documents: Sequence[tuple[int, np.ndarray]],
    out: StateArrays,
    how: Processing,
    topk: int,
    counter: Counter,
) -> None:
    """Run every ``(first_pos, ids)`` document through the model into ``out``.

    Documents are independent: recurrent state starts from zeros at each one and windows
    never cross one.
    """
    keys = [s.key for s in out.specs]
    for base, ids in documents:
        n = len(ids)
        if how.windowed:
            for start, end, keep in plan_windows(n, how.window, how.step):
                res, _ = adapter.run(ids[start:end], keys, None, topk=topk, keep_from=keep)
                out.store(base, start + keep, end, res)
                counter.update(end - start - keep)
        elif how.whole_document:
            res, _ = adapter.run(ids, keys, None, topk=topk)
            out.store(base, 0, n, res)
            counter.update(n)
        else:
            state = None
            for lo in range(0, n, how.window):
                hi = min(n, lo + how.window)
                res, state = adapter.run(ids[lo:hi], keys, state, topk=topk)
                out.store(base, lo, hi, res)
                counter.update(hi - lo)
