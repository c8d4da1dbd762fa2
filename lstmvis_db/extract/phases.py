"""The middle phases of an extraction: how documents are cut into model calls, and running them.

:func:`plan_processing` decides between windows (transformers), whole documents
(bidirectional recurrent models) and chunks with carried state (recurrent models);
:func:`plan_windows` lays the windows over one document; :class:`StateArrays` holds the
states in memory-mapped temporary files while :func:`run_documents` fills them;
:func:`terminate_cleanly` turns SIGTERM into an exit that runs every clean-up.

May import: numpy, ``lstmvis_db.errors``, ``lstmvis_db.progress``, ``extract.base``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.extract.base import Adapter, ChunkOutput, SourceKey, SourceSpec
from lstmvis_db.progress import Counter

MAX_BATCH = 64
"""Windows in one forward pass at most (fewer when the memory budget says so)."""

MAX_PADDING = 0.25
"""The largest share of a batch's positions that may be padding (computed for nothing)."""


@dataclass(frozen=True)
class Processing:
    """How every document goes through the model.

    Attributes:
        windowed: the model has a context limit and runs in overlapping windows.
        whole_document: the model sees each document (or reset segment) in one pass (bidirectional).
        window: tokens per model call (the chunk size for recurrent models).
        step: new tokens per window (equal to ``window`` unless windowed).
        reset: recurrent models: state starts from zeros every this many tokens (None: at each
            document only).
        window_reason: why the window has its size (the model's context, the memory budget, --chunk).
        budget_bytes: memory one forward pass may take (windowed models; bounds the batch too).
    """

    windowed: bool
    whole_document: bool
    window: int
    step: int
    reset: int | None = None
    window_reason: str = ""
    budget_bytes: int = 0

    @property
    def overlap(self) -> int:
        """Tokens two consecutive windows share (0 unless windowed)."""
        return self.window - self.step if self.windowed else 0

    def describe(self) -> str:
        """One sentence for the project's settings and source descriptions."""
        if self.windowed:
            return (
                f"full left context up to {self.window} tokens ({self.window_reason}); longer documents in "
                f"sliding windows of {self.window} tokens advancing by {self.step} (overlap {self.overlap}), so "
                f"after the first window each position sees at least {self.overlap} earlier tokens of its "
                "document (the context track says how many); windows never cross documents"
            )
        where = f"every {self.reset} tokens and at each document" if self.reset else "at each document"
        if self.whole_document:
            what = f"each segment of {self.reset} tokens" if self.reset else "each document"
            return f"{what} in one pass (bidirectional); state starts from zeros {where}"
        return (f"chunks of {self.window} tokens with the recurrent state carried across chunks; "
                f"state starts from zeros {where}")


def _budget_window(adapter: Adapter, limit: int, budget: int, topk: int) -> int:
    """The longest window up to ``limit`` whose forward pass fits in ``budget`` bytes."""
    need = getattr(adapter, "forward_bytes", None)
    if need is None:
        return limit
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if need(1, mid, topk) <= budget:
            lo = mid
        else:
            hi = mid - 1
    if lo < 1:
        raise InputError(f"a memory budget of {budget / 1e9:g} GB does not fit one token's forward pass")
    return lo


def plan_processing(adapter: Adapter, chunk: int | None, stride: int | None, *, window_gb: float = 4.0,
                    reset_every: int | str = "doc", topk: int = 0) -> Processing:
    """Windows for models with a context limit, else chunks of ``chunk`` tokens.

    Windows are as long as the model's context allows (``max_context``), cut to what a forward
    pass within ``window_gb`` holds, or ``chunk`` tokens when given; they advance by ``stride``
    (default half a window).

    Raises:
        InputError: a stride outside ``1..window``, a reset for a windowed model, bad numbers.
    """
    context = adapter.max_context
    reset = None if reset_every == "doc" else int(reset_every)
    if reset is not None and reset < 1:
        raise InputError(f"--reset-every {reset_every} must be 'doc' or at least 1")
    if context is None:
        size = int(chunk) if chunk is not None else 512
        return Processing(False, bool(adapter.whole_document), size, size, reset, "chunk")
    if reset is not None:
        raise InputError("--reset-every applies to recurrent models; transformers run in windows (--chunk, --stride)")
    budget = int(window_gb * 1e9)
    fit = _budget_window(adapter, int(context), budget, topk)
    if chunk is not None and int(chunk) <= fit:
        window, reason = int(chunk), f"--chunk {chunk}"
    elif fit < int(context):
        window, reason = fit, f"the most a {window_gb:g} GB forward pass holds (--window-gb)"
    else:
        window, reason = int(context), "the model's maximum context"
    step = int(stride) if stride is not None else max(1, window // 2)
    if not 1 <= step <= window:
        raise InputError(f"stride {stride} must be between 1 and the window of {window} tokens")
    return Processing(True, False, window, step, None, reason, budget)


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


Window = tuple[int, int, int, int]
"""``(document base position, start, end, keep_from)``."""


def batch_windows(windows: Sequence[Window], adapter: Adapter, how: Processing, topk: int) -> list[list[Window]]:
    """Windows grouped for one forward pass each: longest first, as many as the memory budget
    (and :data:`MAX_BATCH`) allows at the group's longest length, while padding stays at most
    :data:`MAX_PADDING` of the batch's positions (a short window is not padded to a long one)."""
    need = getattr(adapter, "forward_bytes", None)
    order = sorted(windows, key=lambda w: w[2] - w[1], reverse=True)
    groups: list[list[Window]] = []
    real = 0  # positions of the last group that are not padding
    for w in order:
        g = groups[-1] if groups else None
        length = w[2] - w[1]
        if g is not None and len(g) < MAX_BATCH and getattr(adapter, "run_batch", None) is not None and (
                _padding(len(g) + 1, g[0][2] - g[0][1], real + length) <= MAX_PADDING) and (
                need is None or need(len(g) + 1, g[0][2] - g[0][1], topk) <= how.budget_bytes):
            g.append(w)
            real += length
        else:
            groups.append([w])
            real = length
    return groups


def _padding(rows: int, width: int, real: int) -> float:
    """The share of ``rows x width`` positions that are padding when ``real`` of them are not."""
    return 1.0 - real / (rows * width)


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
        self.context = np.zeros(n_total, dtype=np.int32)
        """Tokens of its document each position had in view, itself included."""

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

    Documents are independent: recurrent state starts from zeros at each one (and every
    ``how.reset`` tokens) and windows never cross one.  Windows of all documents are batched.
    """
    keys = [s.key for s in out.specs]
    if not how.windowed:
        for base, ids in documents:
            _run_recurrent(adapter, base, ids, keys, out, how, topk, counter)
        return
    doc_ids = dict(documents)
    windows = [(base, a, b, keep) for base, ids in documents
               for a, b, keep in plan_windows(len(ids), how.window, how.step)]
    batch = getattr(adapter, "run_batch", None)
    for group in batch_windows(windows, adapter, how, topk):
        items = [(doc_ids[base][a:b], keep) for base, a, b, keep in group]
        if batch is not None:
            results = batch(items, keys, topk=topk)
        else:
            results = [adapter.run(ids, keys, None, topk=topk, keep_from=keep)[0] for ids, keep in items]
        for (base, a, b, keep), res in zip(group, results):
            out.store(base, a + keep, b, res)
            out.context[base + a + keep : base + b] = np.arange(keep + 1, b - a + 1, dtype=np.int32)
        counter.update(sum(b - a - keep for _, a, b, keep in group))


def _run_recurrent(adapter: Adapter, base: int, ids: np.ndarray, keys: list[SourceKey], out: StateArrays,
                   how: Processing, topk: int, counter: Counter) -> None:
    """One document through a recurrent model: segments of ``how.reset`` tokens (or the whole
    document), each from a zero state, in chunks with the state carried across."""
    n = len(ids)
    seg = how.reset or n
    for a in range(0, n, seg):
        b = min(n, a + seg)
        out.context[base + a : base + b] = np.arange(1, b - a + 1, dtype=np.int32)
        if how.whole_document:
            res, _ = adapter.run(ids[a:b], keys, None, topk=topk)
            out.store(base, a, b, res)
            counter.update(b - a)
            continue
        state = None
        for lo in range(a, b, how.window):
            hi = min(b, lo + how.window)
            res, state = adapter.run(ids[lo:hi], keys, state, topk=topk)
            out.store(base, lo, hi, res)
            counter.update(hi - lo)


@contextmanager
def terminate_cleanly() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit(143)`` inside the block, so every ``finally`` (the
    temporary state files, the store's half-written file) runs; the old handler comes back
    afterwards.  Outside the main thread signals cannot be caught and nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_sig: int, _frame: Any) -> None:
        raise SystemExit(128 + signal.SIGTERM)

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
