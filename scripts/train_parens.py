"""Train the parenthesis-language LSTM: ``data/parens/weights.npz``.

Usage: ``pip install torch==2.13.0`` then ``python scripts/train_parens.py``  (about 1-2 min
on 2 cores).

The language is LSTMVis's (docs/data-model.md §The parenthesis language;
``lstmvis_db.demos.parens.generate_parens``): ``(``, ``)`` and a digit equal to the current nesting
depth, max depth 4.  Predicting the digits requires counting, so the network has to track depth.
Model: Embedding(7, 8) -> LSTM(32) -> LSTM(32) -> Linear(7), trained on 200,000 generated tokens (seed 1),
validated on 20,000 (seed 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _train import save_model, train_lm

from lstmvis_db.demos.parens import PARENS_VOCAB, generate_parens

OUT = Path(__file__).resolve().parent.parent / "data" / "parens" / "weights.npz"
HYPER: dict[str, float | int] = {"hidden": 32, "layers": 2, "emb": 8, "seq_len": 100, "batch": 32, "steps": 1500,
                                 "lr": 0.01, "seed": 1}


def main() -> None:
    """Generate data, train, save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--steps", type=int, default=HYPER["steps"])
    args = parser.parse_args()
    stoi = {t: i for i, t in enumerate(PARENS_VOCAB)}
    train_tokens, _ = generate_parens(200_000, np.random.default_rng(1))
    valid_tokens, _ = generate_parens(20_000, np.random.default_rng(2))
    train = np.array([stoi[t] for t in train_tokens])
    valid = np.array([stoi[t] for t in valid_tokens])
    hyper = {**HYPER, "steps": args.steps}
    arrays = train_lm(train, len(PARENS_VOCAB), valid=valid, **hyper)  # type: ignore[arg-type]
    save_model(args.out, arrays, PARENS_VOCAB, hyper)


if __name__ == "__main__":
    main()
