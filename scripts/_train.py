"""A tiny torch trainer for token-level LSTM language models (used by the training scripts).

torch is only needed here (``pip install torch==2.13.0``), never by the app or the demo build:
the trained weights are saved in torch layout as an .npz that ``lstmvis_db.demos.nplstm.
CharLstmModel`` runs in numpy.
"""

from __future__ import annotations

import time
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

def train_lm(ids: np.ndarray, vocab_size: int, *, hidden: int, layers: int, emb: int,
             seq_len: int, batch: int, steps: int, lr: float, seed: int,
             valid: np.ndarray | None = None, log_every: int = 100) -> dict[str, np.ndarray]:
    """Train Embedding -> LSTM x layers -> Linear on one long id stream; return npz arrays.

    Training is deterministic for a given seed and thread count (one thread is used).
    """
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(seed)

    class LM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, emb)
            self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True)
            self.out = nn.Linear(hidden, vocab_size)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, _ = self.lstm(self.embedding(x))
            return self.out(h)

    model = LM()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    loss_fn = nn.CrossEntropyLoss()
    data = torch.as_tensor(ids, dtype=torch.long)
    t0 = time.time()
    for step in range(1, steps + 1):
        starts = rng.integers(0, len(ids) - seq_len - 1, size=batch)
        x = torch.stack([data[s:s + seq_len] for s in starts])
        y = torch.stack([data[s + 1:s + seq_len + 1] for s in starts])
        logits = model(x)
        loss = loss_fn(logits.reshape(-1, vocab_size), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            msg = f"step {step}/{steps} loss {loss.item():.4f} ({time.time() - t0:.0f}s)"
            if valid is not None:
                msg += f" valid {evaluate(model, valid, vocab_size):.4f}"
            print(msg, flush=True)
    arrays = model_arrays(model, layers)
    if valid is not None:
        arrays["valid_loss"] = np.array(evaluate(model, valid, vocab_size), np.float32)
    arrays["torch_version"] = np.array(torch.__version__)
    return arrays


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


def train_lm_docs(docs: list[np.ndarray], vocab_size: int, *, hidden: int, layers: int,
                  emb: int, batch: int, steps: int, lr: float, seed: int,
                  valid: list[np.ndarray] | None = None, log_every: int = 100,
                  dropout: float = 0.0) -> dict[str, np.ndarray]:
    """Train Embedding -> LSTM x layers -> Linear on whole documents (each from zero state,
    padded batches, padding ignored in the loss); return npz arrays in torch layout."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(seed)
    pad = vocab_size  # an extra embedding row used only for padding

    class LM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab_size + 1, emb)
            self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True,
                                dropout=dropout if layers > 1 else 0.0)
            self.drop = nn.Dropout(dropout)
            self.out = nn.Linear(hidden, vocab_size)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h, _ = self.lstm(self.embedding(x))
            return self.out(self.drop(h))

    def batch_of(items: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        longest = max(len(d) for d in items)
        x = np.full((len(items), longest - 1), pad, np.int64)
        y = np.full((len(items), longest - 1), -100, np.int64)
        for row, d in enumerate(items):
            x[row, :len(d) - 1] = d[:-1]
            y[row, :len(d) - 1] = d[1:]
        return torch.as_tensor(x), torch.as_tensor(y)

    def evaluate_docs(model: nn.Module, items: list[np.ndarray]) -> float:
        model.eval()
        with torch.no_grad():
            x, y = batch_of(items)
            logits = model(x)
            loss = nn.functional.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1),
                                               ignore_index=-100)
        model.train()
        return float(loss)

    model = LM()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.time()
    for step in range(1, steps + 1):
        pick = rng.integers(0, len(docs), size=batch)
        x, y = batch_of([docs[i] for i in pick])
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1),
                                           ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            msg = f"step {step}/{steps} loss {loss.item():.4f} ({time.time() - t0:.0f}s)"
            if valid:
                msg += f" valid {evaluate_docs(model, valid):.4f}"
            print(msg, flush=True)
    model.eval()
    arrays = model_arrays(model, layers, embedding_rows=vocab_size)
    if valid:
        arrays["valid_loss"] = np.array(evaluate_docs(model, valid), np.float32)
    arrays["torch_version"] = np.array(torch.__version__)
    return arrays
