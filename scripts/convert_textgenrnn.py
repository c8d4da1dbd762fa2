"""Convert textgenrnn 2.0.0's pretrained char-LSTM into ``data/textgenrnn/weights.npz``.

Usage: ``python scripts/convert_textgenrnn.py``

Downloads the textgenrnn 2.0.0 sdist with ``pip download --no-deps`` into /tmp (textgenrnn is
never installed: it depends on TensorFlow), reads ``textgenrnn/textgenrnn_weights.hdf5`` and
``textgenrnn/textgenrnn_vocab.json`` with h5py, and writes

* ``data/textgenrnn/weights.npz``: float32 arrays in *torch layout* (gate order i, f, g, o;
  ``w_ih`` is (4H, in), ``w_hh`` is (4H, H), separate ``b_ih``/``b_hh``), plus the embedding,
  the attention vector and the softmax layer, and the sha256 of the original hdf5 file;
* ``data/textgenrnn/vocab.json``: ``{"itos": [...]}`` where index 0 is the padding symbol
  (``null``) and the other entries come from textgenrnn_vocab.json, plus provenance.

Layout conversion: the two LSTMs are Keras 2.1.5 *CuDNNLSTM* weights.  Keras keeps the kernel
as (in, 4H) but hands each gate's (in, H) slice to cuDNN as raw memory, which cuDNN reads as a
row-major (H, in) matrix.  So the torch-style gate matrix is ``slice.reshape(H, in)`` (C order),
not ``slice.T``.  The bias holds the 4H input biases followed by the 4H recurrent biases.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from pathlib import Path

import h5py
import numpy as np
from _common import DATA, pip_download, read_member

REQUIREMENT = "textgenrnn==2.0.0"
OUT_DIR = DATA / "textgenrnn"


def cudnn_gates_to_torch(kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray,
                         hidden: int) -> dict[str, np.ndarray]:
    """Turn CuDNNLSTM (kernel, recurrent_kernel, bias) into torch-layout LSTM weights."""
    n_in = kernel.shape[0]
    w_ih = np.concatenate(
        [kernel[:, g * hidden:(g + 1) * hidden].reshape(hidden, n_in) for g in range(4)], axis=0)
    w_hh = np.concatenate(
        [recurrent[:, g * hidden:(g + 1) * hidden].reshape(hidden, hidden) for g in range(4)],
        axis=0)
    return {
        "w_ih": np.ascontiguousarray(w_ih, dtype=np.float32),
        "w_hh": np.ascontiguousarray(w_hh, dtype=np.float32),
        "b_ih": np.asarray(bias[: 4 * hidden], dtype=np.float32),
        "b_hh": np.asarray(bias[4 * hidden:], dtype=np.float32),
    }


def convert(out_dir: Path = OUT_DIR) -> None:
    """Download, convert and write the weights and vocabulary."""
    archive = pip_download(REQUIREMENT)
    raw_h5 = read_member(archive, "textgenrnn/textgenrnn_weights.hdf5")
    raw_vocab = read_member(archive, "textgenrnn/textgenrnn_vocab.json")
    h5_sha = hashlib.sha256(raw_h5).hexdigest()
    vocab_sha = hashlib.sha256(raw_vocab).hexdigest()
    arrays: dict[str, np.ndarray] = {}
    with h5py.File(io.BytesIO(raw_h5), "r") as f:
        arrays["embedding"] = f["embedding/embedding/embeddings:0"][()].astype(np.float32)
        for layer in (1, 2):
            grp = f[f"rnn_{layer}/rnn_{layer}"]
            kernel = grp["kernel:0"][()]
            hidden = kernel.shape[1] // 4
            conv = cudnn_gates_to_torch(kernel, grp["recurrent_kernel:0"][()], grp["bias:0"][()],
                                        hidden)
            for key, value in conv.items():
                arrays[f"l{layer}_{key}"] = value
        arrays["attention_w"] = f["attention/attention/attention_W:0"][()][:, 0].astype(np.float32)
        arrays["output_kernel"] = f["output/output/kernel:0"][()].astype(np.float32)
        arrays["output_bias"] = f["output/output/bias:0"][()].astype(np.float32)
    vocab = json.loads(raw_vocab.decode("utf-8"))
    itos: list[str | None] = [None] * (max(vocab.values()) + 1)
    for char, index in vocab.items():
        itos[index] = char
    if len(itos) != arrays["embedding"].shape[0]:
        raise ValueError("vocabulary and embedding sizes differ")
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out_dir / "weights.npz",
        **arrays,
        source_sha256=np.array(h5_sha),
        source=np.array(f"{REQUIREMENT}: textgenrnn/textgenrnn_weights.hdf5"),
    )
    with open(out_dir / "vocab.json", "w", encoding="utf-8") as handle:
        json.dump({
            "source": f"{REQUIREMENT}: textgenrnn/textgenrnn_vocab.json",
            "source_sha256": vocab_sha,
            "padding_index": 0,
            "meta_token": "<s>",
            "itos": itos,
        }, handle, ensure_ascii=False, indent=0)
        handle.write("\n")
    print(f"weights sha256 of original hdf5: {h5_sha}")
    print(f"wrote {out_dir / 'weights.npz'} and {out_dir / 'vocab.json'}")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    convert(args.out)


if __name__ == "__main__":
    main()
