"""Train the character-level Python LSTM: ``data/python/weights.npz``.

Usage: ``pip install torch==2.13.0`` then ``nice -n 10 python scripts/train_python_chars.py``
(one thread; about 15-25 minutes on one loaded core).

Corpus: the standard library of Debian's Python 3.11.2 (``/usr/lib/python3.11``, PSF licence)
without its tests (``lstmvis_db.demos.pysource.stdlib_files``): every file, sorted by path, one
after another.  The five modules of the demo's committed corpus
(``lstmvis_db.demos.pysource.DEMO_FILES``) are held out; bits per character on each, read
statefully from a zero state, are printed and stored.  Vocabulary: newline, tab, printable ASCII
and one unknown character (``pysource.VOCAB``).  Model: Embedding(V, 32) -> LSTM(128) ->
LSTM(128) -> Linear(V), stateful truncated BPTT (scripts/_stateful.py), seed 1; the demo runs it
statefully over whole files.  Weights saved as float16.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import DATA
from _stateful import train_stateful
from _train import save_model

from lstmvis_db.demos.pysource import DEMO_FILES, VOCAB, encode, read_source, stdlib_files

OUT = DATA / "python" / "weights.npz"
STDLIB = Path("/usr/lib/python3.11")
HYPER: dict[str, float | int] = {"emb": 32, "hidden": 128, "batch": 64, "seq_len": 100,
                                 "steps": 800, "lr": 0.005, "dropout": 0.0, "seed": 1}


def main() -> None:
    """Read, train, save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--stdlib", type=Path, default=STDLIB)
    parser.add_argument("--steps", type=int, default=HYPER["steps"])
    args = parser.parse_args()
    files = stdlib_files(args.stdlib)
    train = "".join(read_source(args.stdlib / f) for f in files if f not in DEMO_FILES)
    held = {f: encode(read_source(args.stdlib / f)) for f in DEMO_FILES}
    print(f"{len(files)} files, {len(train)} training characters, vocabulary {len(VOCAB)}", flush=True)
    hyper = {**HYPER, "steps": args.steps}
    arrays = train_stateful(encode(train), held, len(VOCAB), **hyper)  # type: ignore[arg-type]
    arrays["train_files"] = np.array(len(files) - len(DEMO_FILES))
    arrays["train_chars"] = np.array(len(train))
    arrays["stdlib"] = np.array(f"{args.stdlib} (Python 3.11.2, Debian)")
    save_model(args.out, arrays, VOCAB, hyper)


if __name__ == "__main__":
    main()
