"""Train the Bach-chorale chord LSTM: ``data/chorales/weights.npz``.

Usage: ``pip install torch==2.13.0`` then ``python scripts/train_chorales.py`` (1-3 min on
2 cores).  Needs ``data/chorales/chorales.tsv.gz`` (scripts/extract_chorales.py).

Tokens are simplified Roman numerals (``lstmvis_db.demos.chorales.simplify_figure``); numerals seen fewer
than 5 times in the whole corpus become ``other``.  Model: Embedding(V, 16) -> LSTM(64) ->
LSTM(64) -> Linear(V), trained on whole chorales (each from zero state, as the demo reads
them): chorales 1-334 for training, 335-371 for validation.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _train import save_model, train_lm_docs

from lstmvis_db.demos.chorales import CHORALES_MIN_COUNT, read_chorales, simplify_figure

DATA = Path(__file__).resolve().parent.parent / "data" / "chorales"
HYPER: dict[str, float | int] = {"hidden": 64, "layers": 2, "emb": 16, "batch": 16, "steps": 1200, "lr": 0.01,
                                 "seed": 1, "dropout": 0.1}
N_TRAIN = 334


def main() -> None:
    """Read the chords, build the vocabulary, train, save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chords", type=Path, default=DATA / "chorales.tsv.gz")
    parser.add_argument("--out", type=Path, default=DATA / "weights.npz")
    parser.add_argument("--steps", type=int, default=HYPER["steps"])
    args = parser.parse_args()
    chorales = read_chorales(args.chords)
    simple = [[simplify_figure(f) for f in c.figures] for c in chorales]
    counts = Counter(t for seq in simple for t in seq)
    vocab = ["other"] + sorted(t for t, c in counts.items() if c >= CHORALES_MIN_COUNT
                               and t != "other")
    stoi = {t: i for i, t in enumerate(vocab)}
    docs = [np.array([stoi.get(t, 0) for t in seq], np.int64) for seq in simple]
    hyper = {**HYPER, "steps": args.steps}
    print(f"{len(vocab)} chord tokens, {sum(len(d) for d in docs)} chords")
    arrays = train_lm_docs(docs[:N_TRAIN], len(vocab), valid=docs[N_TRAIN:],
                           **hyper)  # type: ignore[arg-type]
    save_model(args.out, arrays, vocab, hyper)


if __name__ == "__main__":
    main()
