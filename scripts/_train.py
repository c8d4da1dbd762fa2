"""A tiny torch trainer for token-level LSTM language models (used by the training scripts).

torch is only needed here (``pip install torch==2.13.0``), never by the app or the demo build:
the trained weights are saved in torch layout as an .npz that ``lstmvis_db.demos.nplstm.
CharLstmModel`` runs in numpy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def model_arrays(model, layers: int, embedding_rows: int | None = None) -> dict[str, np.ndarray]:
    """The trained weights as float32 arrays in the layout lstmvis_db.demos.nplstm reads (torch gate
    order; separate input and recurrent biases)."""
    arrays: dict[str, np.ndarray] = {
        "embedding": model.embedding.weight.detach().numpy()[:embedding_rows].astype(np.float32),
        "out_w": model.out.weight.detach().numpy().astype(np.float32),
        "out_b": model.out.bias.detach().numpy().astype(np.float32),
    }
    for layer in range(layers):
        for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            name = key.replace("weight_", "w_").replace("bias_", "b_")
            arrays[f"l{layer + 1}_{name}"] = (
                getattr(model.lstm, f"{key}_l{layer}").detach().numpy().astype(np.float32))
    return arrays

def _seeded(seed: int) -> np.random.Generator:
    """Seed torch (one thread, deterministic kernels) and return the batch sampler's rng."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    return np.random.default_rng(seed)


def _language_model(embedding_rows: int, vocab_size: int, *, emb: int, hidden: int, layers: int,
                    dropout: float = 0.0):
    """Embedding(embedding_rows, emb) -> LSTM(hidden) x layers -> [Dropout] -> Linear(vocab_size)."""
    import torch
    from torch import nn

    class LM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(embedding_rows, emb)
            self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True,
                                dropout=dropout if layers > 1 else 0.0)
            self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
            self.out = nn.Linear(hidden, vocab_size)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, _ = self.lstm(self.embedding(x))
            return self.out(self.drop(h))

    return LM()


def optimizer_step(model, opt, sched, loss) -> None:
    """One update: backpropagate ``loss``, clip the gradients to norm 1, step the optimiser and
    the learning-rate schedule."""
    from torch import nn

    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()


def _fit(model, next_batch: Callable[[], tuple], vocab_size: int, *, steps: int, lr: float,
         log_every: int, valid_loss: Callable[[], float] | None) -> None:
    """The training loop: Adam with a cosine schedule, cross-entropy over next tokens (targets
    -100 are padding), gradients clipped to norm 1; logs every ``log_every`` steps."""
    import torch
    from torch import nn

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.time()
    for step in range(1, steps + 1):
        x, y = next_batch()
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1),
                                           ignore_index=-100)
        optimizer_step(model, opt, sched, loss)
        if step % log_every == 0 or step == steps:
            msg = f"step {step}/{steps} loss {loss.item():.4f} ({time.time() - t0:.0f}s)"
            if valid_loss is not None:
                msg += f" valid {valid_loss():.4f}"
            print(msg, flush=True)


def _finish(model, layers: int, valid_loss: Callable[[], float] | None,
            embedding_rows: int | None = None) -> dict[str, np.ndarray]:
    """The trained weights, the validation loss (if any) and the torch version as npz arrays."""
    import torch

    arrays = model_arrays(model, layers, embedding_rows=embedding_rows)
    if valid_loss is not None:
        arrays["valid_loss"] = np.array(valid_loss(), np.float32)
    arrays["torch_version"] = np.array(torch.__version__)
    return arrays


def train_lm(ids: np.ndarray, vocab_size: int, *, hidden: int, layers: int, emb: int,
             seq_len: int, batch: int, steps: int, lr: float, seed: int,
             valid: np.ndarray | None = None, log_every: int = 100) -> dict[str, np.ndarray]:
    """Train Embedding -> LSTM x layers -> Linear on one long id stream; return npz arrays.

    Training is deterministic for a given seed and thread count (one thread is used).
    """
    import torch

    rng = _seeded(seed)
    model = _language_model(vocab_size, vocab_size, emb=emb, hidden=hidden, layers=layers)
    data = torch.as_tensor(ids, dtype=torch.long)

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        starts = rng.integers(0, len(ids) - seq_len - 1, size=batch)
        x = torch.stack([data[s:s + seq_len] for s in starts])
        y = torch.stack([data[s + 1:s + seq_len + 1] for s in starts])
        return x, y

    valid_loss = None if valid is None else (lambda: evaluate(model, valid, vocab_size))
    _fit(model, next_batch, vocab_size, steps=steps, lr=lr, log_every=log_every, valid_loss=valid_loss)
    return _finish(model, layers, valid_loss)


def evaluate(model: object, ids: np.ndarray, vocab_size: int) -> float:
    """Mean next-token cross-entropy (nats) over one stream, run as a single sequence."""
    import torch

    with torch.no_grad():
        x = torch.as_tensor(ids[None, :-1], dtype=torch.long)
        y = torch.as_tensor(ids[1:], dtype=torch.long)
        logits = model(x)[0]  # type: ignore[operator]
        return float(torch.nn.functional.cross_entropy(logits, y))


def save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the weights (.npz, compressed, byte-reproducible)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


def save_model(path: Path, arrays: dict[str, np.ndarray], vocab: list[str], hyper: dict[str, float | int]) -> None:
    """Save trained weights with their vocabulary and hyper-parameters, and say so."""
    arrays["vocab"] = np.array(vocab)
    arrays["hyper"] = np.array(repr(hyper))
    save(path, arrays)
    print(f"wrote {path}")


def _padded_batch(items: list[np.ndarray], pad: int):
    """Inputs (padded with ``pad``) and next-token targets (padded with -100) of whole documents."""
    import torch

    longest = max(len(d) for d in items)
    x = np.full((len(items), longest - 1), pad, np.int64)
    y = np.full((len(items), longest - 1), -100, np.int64)
    for row, d in enumerate(items):
        x[row, :len(d) - 1] = d[:-1]
        y[row, :len(d) - 1] = d[1:]
    return torch.as_tensor(x), torch.as_tensor(y)


def train_lm_docs(docs: list[np.ndarray], vocab_size: int, *, hidden: int, layers: int,
                  emb: int, batch: int, steps: int, lr: float, seed: int,
                  valid: list[np.ndarray] | None = None, log_every: int = 100,
                  dropout: float = 0.0) -> dict[str, np.ndarray]:
    """Train Embedding -> LSTM x layers -> Linear on whole documents (each from zero state,
    padded batches, padding ignored in the loss); return npz arrays in torch layout."""
    import torch
    from torch import nn

    rng = _seeded(seed)
    pad = vocab_size  # an extra embedding row used only for padding
    model = _language_model(vocab_size + 1, vocab_size, emb=emb, hidden=hidden, layers=layers, dropout=dropout)

    def evaluate_docs() -> float:
        model.eval()
        with torch.no_grad():
            x, y = _padded_batch(valid or [], pad)
            logits = model(x)
            loss = nn.functional.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1),
                                               ignore_index=-100)
        model.train()
        return float(loss)

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        pick = rng.integers(0, len(docs), size=batch)
        return _padded_batch([docs[i] for i in pick], pad)

    valid_loss = evaluate_docs if valid else None
    _fit(model, next_batch, vocab_size, steps=steps, lr=lr, log_every=log_every, valid_loss=valid_loss)
    model.eval()
    return _finish(model, layers, valid_loss, embedding_rows=vocab_size)
