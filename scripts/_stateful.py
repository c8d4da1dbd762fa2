"""Stateful truncated-BPTT training of an Embedding -> LSTM x 2 -> Linear language model over
whole plays (used by scripts/train_word_lm.py and scripts/train_char_lm.py).

The training stream (all training plays, one after another) is cut into ``batch`` equal
contiguous streams; each step reads the next ``seq_len`` tokens of every stream and carries
the LSTM state over from the previous step (detached), so the model learns to run over
whole scenes without restarts, which is how the demo reads them.  Validation runs each
held-out play as one stateful sequence.  Weights are saved as float16 in torch layout.
torch is needed only here (``pip install torch==2.13.0``).
"""

from __future__ import annotations

import math
import time

import numpy as np
from _train import _language_model, _seeded, model_arrays, optimizer_step


def _streams(ids: np.ndarray, batch: int):
    import torch

    per = len(ids) // batch
    return torch.as_tensor(ids[:per * batch].reshape(batch, per), dtype=torch.long)


def stream_loss(model, ids: np.ndarray, vocab_size: int, chunk: int = 2000) -> float:
    """Mean next-token cross-entropy (nats) of one stream read statefully in chunks."""
    import torch

    model.eval()
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for a in range(0, len(ids) - 1, chunk):
            x = torch.as_tensor(ids[None, a:a + chunk][:, :len(ids) - 1 - a], dtype=torch.long)
            y = torch.as_tensor(ids[a + 1:a + 1 + x.shape[1]], dtype=torch.long)
            h, state = model.lstm(model.embedding(x), state)
            logits = model.out(h)[0]
            total += float(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
            count += len(y)
    model.train()
    return total / max(count, 1)


def train_stateful(train: np.ndarray, valid: dict[str, np.ndarray], vocab_size: int, *, emb: int,
                   hidden: int, batch: int, seq_len: int, steps: int, lr: float, dropout: float,
                   seed: int, log_every: int = 100) -> dict[str, np.ndarray]:
    """Train; return float16 weights plus float32 per-play validation losses and timing."""
    import torch
    from torch import nn

    _seeded(seed)
    model = _language_model(vocab_size, vocab_size, emb=emb, hidden=hidden, layers=2, dropout=dropout)
    data = _streams(train, batch)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.05)
    state = None
    pos = 0
    t0 = time.time()
    for step in range(1, steps + 1):
        if pos + seq_len + 1 > data.shape[1]:
            pos, state = 0, None
        x, y = data[:, pos:pos + seq_len], data[:, pos + 1:pos + seq_len + 1]
        pos += seq_len
        h, state = model.lstm(model.embedding(x), state)
        state = tuple(s.detach() for s in state)
        loss = nn.functional.cross_entropy(model.out(model.drop(h)).reshape(-1, vocab_size), y.reshape(-1))
        optimizer_step(model, opt, sched, loss)
        if step % log_every == 0 or step == steps:
            print(f"step {step}/{steps} loss {loss.item():.3f} epoch {step * seq_len * batch / len(train):.2f} "
                  f"({time.time() - t0:.0f}s)", flush=True)
    seconds = time.time() - t0
    arrays = {k: v.astype(np.float16) for k, v in model_arrays(model, 2).items()}
    losses = {name: stream_loss(model, ids, vocab_size) for name, ids in valid.items()}
    for name, value in losses.items():
        print(f"held-out {name}: {value:.4f} nats/token, perplexity {math.exp(value):.1f}", flush=True)
    mean = sum(losses[n] * len(valid[n]) for n in valid) / max(sum(len(v) for v in valid.values()), 1)
    print(f"held-out mean: {mean:.4f} nats/token, perplexity {math.exp(mean):.1f}; trained in {seconds:.0f}s")
    arrays["valid_names"] = np.array(list(losses))
    arrays["valid_loss"] = np.array([losses[n] for n in losses], np.float32)
    arrays["valid_mean_loss"] = np.array(mean, np.float32)
    arrays["train_seconds"] = np.array(round(seconds), np.int32)
    arrays["torch_version"] = np.array(torch.__version__)
    return arrays
