"""Provenance of an extraction: checksums of weights, tokenizer and corpus; GGUF quantisation.

Every value is a string, recorded in the project's settings under ``extract.*`` and shown by
``info``.  Checksums are SHA-256 in hex: of the weight files (``.safetensors``, ``.bin``,
``.gguf``, ``.h5``) as they are on disk, of a model's tensors when it only exists in memory,
of the tokenizer's serialised form, and of the corpus as read (each input's name and text).

GGUF headers are read here directly (the format's key/value and tensor tables), which takes
milliseconds where a full parse of the token tables takes seconds.

May import: the standard library; torch only inside :func:`tensors_sha256`.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".h5", ".hdf5", ".pt", ".pth")
_BLOCK = 1 << 20


def file_sha256(path: Path) -> str:
    """SHA-256 of one file, read in 1 MB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def weight_files(path: Path) -> list[Path]:
    """The weight files of a model: the file itself, or those in its folder."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in WEIGHT_SUFFIXES)


def weights_provenance(path: Path) -> dict[str, str]:
    """``weights_sha256`` (one file) or ``weights_sha256.<file>`` (several), and the files."""
    files = weight_files(path)
    if len(files) == 1:
        return {"weights_file": files[0].name, "weights_sha256": file_sha256(files[0])}
    return {f"weights_sha256.{f.name}": file_sha256(f) for f in files}


def tensors_sha256(tensors: Iterable[tuple[str, Any]]) -> str:
    """SHA-256 over ``(name, tensor)`` pairs: each name, dtype, shape and raw bytes (on CPU)."""
    import torch

    h = hashlib.sha256()
    for name, t in tensors:
        arr = t.detach().cpu().contiguous()
        h.update(f"{name}|{arr.dtype}|{tuple(arr.shape)}|".encode())
        h.update(arr.view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def tokenizer_sha256(tok: Any) -> str:
    """SHA-256 of a fast tokenizer's JSON, or of a slow one's sorted vocabulary."""
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is not None:
        text = backend.to_str()
    else:
        vocab = tok.get_vocab() if hasattr(tok, "get_vocab") else {}
        text = "\n".join(f"{k}\t{v}" for k, v in sorted(vocab.items(), key=lambda kv: kv[1]))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def corpus_sha256(inputs: Sequence[Any]) -> str:
    """SHA-256 of the corpus as read: every input's name and text, in order, NUL-separated."""
    h = hashlib.sha256()
    for t in inputs:
        h.update(t.name.encode("utf-8") + b"\0" + t.text.encode("utf-8") + b"\0")
    return h.hexdigest()


_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
GGUF_FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
                   11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
                   17: "Q5_K_M", 18: "Q6_K", 32: "BF16"}
"""``general.file_type`` codes of GGUF (llama.cpp's ``LLAMA_FTYPE_MOSTLY_*``)."""
GGUF_TENSOR_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
                     10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 30: "BF16"}


class _Reader:
    """Little-endian reads from a GGUF header."""

    def __init__(self, f: Any):
        self.f = f

    def num(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        raw = self.f.read(size)
        if len(raw) != size:
            raise ValueError("truncated GGUF header")
        return struct.unpack(fmt, raw)[0]

    def string(self) -> str:
        n = self.num("<Q")
        if n > 1 << 24:
            raise ValueError("implausible GGUF string length")
        return str(self.f.read(n).decode("utf-8", errors="replace"))

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.num(_SCALARS[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            item, count = self.num("<I"), self.num("<Q")
            if item in _SCALARS:  # skip numeric arrays without decoding them
                self.f.seek(count * struct.calcsize(_SCALARS[item]), 1)
                return None
            for _ in range(count):  # arrays of strings or arrays: read past them
                self.value(item)
            return None
        raise ValueError(f"unknown GGUF value type {vtype}")


def gguf_header(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """The metadata of a GGUF file (arrays left out) and its count of tensors per storage type,
    read from the header alone (no tensor data).

    Raises:
        ValueError: not a GGUF file, or a malformed header.
    """
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ValueError("not a GGUF file")
        r = _Reader(f)
        version = r.num("<I")
        if version < 2:
            raise ValueError(f"GGUF version {version} is not supported")
        n_tensors, n_kv = r.num("<Q"), r.num("<Q")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = r.string()
            val = r.value(r.num("<I"))
            if not isinstance(val, list) and val is not None:
                meta[key] = val
        kinds: dict[str, int] = {}
        for _ in range(n_tensors):
            r.string()
            dims = r.num("<I")
            f.seek(8 * dims, 1)
            code = r.num("<I")
            r.num("<Q")
            name = GGUF_TENSOR_TYPES.get(code, str(code))
            kinds[name] = kinds.get(name, 0) + 1
    return meta, kinds


def gguf_facts(path: Path) -> dict[str, str]:
    """What a GGUF file says about itself: its name, file type (the quantisation) and the count
    of tensors of each storage type."""
    meta, kinds = gguf_header(path)
    out: dict[str, str] = {}
    for key, label in (("general.name", "gguf_name"), ("general.basename", "gguf_basename"),
                       ("general.finetune", "gguf_finetune"), ("general.size_label", "gguf_size_label")):
        if key in meta:
            out[label] = str(meta[key])
    if "general.file_type" in meta:
        code = int(meta["general.file_type"])
        out["quantization"] = f"GGUF {GGUF_FILE_TYPES.get(code, str(code))}"
    out["gguf_tensor_types"] = ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items()))
    return out


def gguf_config(path: Path) -> Any:
    """A configuration-like object (layer count, widths, context) from a GGUF header, to check
    arguments before the weights load."""
    from types import SimpleNamespace

    meta, _ = gguf_header(path)
    arch = str(meta.get("general.architecture", ""))

    def get(name: str) -> Any:
        return meta.get(f"{arch}.{name}")

    return SimpleNamespace(model_type=arch, num_hidden_layers=get("block_count"), hidden_size=get("embedding_length"),
                           intermediate_size=get("feed_forward_length"), max_position_embeddings=get("context_length"))
