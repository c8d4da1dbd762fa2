"""Train the Bach-chorale chord LSTM: ``data/chorales/weights.npz``.

Usage: ``pip install torch==2.13.0`` then ``python scripts/train_chorales.py`` (1-3 min on
2 cores).  Needs ``data/chorales/chorales.tsv.gz`` (scripts/extract_chorales.py).

Tokens are absolute chord symbols (``lstmvis_db.demos.chorales.chorale_tokens``: root and
quality, one spelling per pitch class); symbols seen fewer than 5 times in the 371 chorales
become ``other``.  Training uses the chorales in their own keys only (no transposition): the
demo's transposed copies of the held-out chorales are then keys the model has seen the chorale
in only through other chorales.  Model: Embedding(V, 16) -> LSTM(64) -> LSTM(64) -> Linear(V),
trained on whole chorales (each from zero state, as the demo reads them): chorales 1-334 for
training, 335-371 held out; the held-out loss (nats per chord) is stored as ``valid_loss``.
The weights are stored in float16 (the numpy model computes in float32).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _train import save_model, train_lm_docs

from lstmvis_db.demos.chorales import CHORALES_MIN_COUNT, N_TRAIN, chorale_tokens, read_chorales

DATA = Path(__file__).resolve().parent.parent / "data" / "chorales"
HYPER: dict[str, float | int] = {"hidden": 64, "layers": 2, "emb": 16, "batch": 16, "steps": 600, "lr": 0.01,
                                 "seed": 1, "dropout": 0.1}


def main() -> None:
    """Read the chords, build the vocabulary, train, save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chords", type=Path, default=DATA / "chorales.tsv.gz")
    parser.add_argument("--out", type=Path, default=DATA / "weights.npz")
    parser.add_argument("--steps", type=int, default=HYPER["steps"])
    args = parser.parse_args()
    chorales = read_chorales(args.chords)
    tokens = chorale_tokens(chorales)
    counts = Counter(t for seq in tokens for t in seq)
    vocab = ["other"] + sorted(t for t, c in counts.items() if c >= CHORALES_MIN_COUNT and t != "other")
    stoi = {t: i for i, t in enumerate(vocab)}
    docs = [np.array([stoi.get(t, 0) for t in seq], np.int64) for seq in tokens]
    hyper = {**HYPER, "steps": args.steps}
    print(f"{len(vocab)} chord tokens, {sum(len(d) for d in docs)} chords")
    arrays = train_lm_docs(docs[:N_TRAIN], len(vocab), valid=docs[N_TRAIN:],
                           **hyper)  # type: ignore[arg-type]
    for key, value in list(arrays.items()):
        if value.dtype == np.float32 and value.ndim >= 1:
            arrays[key] = value.astype(np.float16)
    if "valid_loss" in arrays:
        print(f"held-out loss {float(arrays['valid_loss']):.4f} nats/chord, perplexity "
              f"{float(np.exp(arrays['valid_loss'])):.3f}")
    save_model(args.out, arrays, vocab, hyper)


if __name__ == "__main__":
    main()
