"""A reader of the safetensors format: an 8-byte little-endian header length, a JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the raw
little-endian bytes of every tensor (offsets relative to the end of the header).  Every
malformed part is one ``InputError`` naming the file."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from lstmvis_db.errors import InputError

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U8": "u1"}
_MAX_HEADER = 100 * 2**20


def read(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of the file as a numpy array (BF16 widened exactly to float32)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(raw) < 8:
        raise InputError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > min(_MAX_HEADER, len(raw) - 8):
        raise InputError(f"{path}: not a safetensors file (header length {size} does not fit the file)")
    try:
        header = json.loads(raw[8:8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: the safetensors header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise InputError(f"{path}: the safetensors header is not a JSON object")
    data = memoryview(raw)[8 + size:]
    out: dict[str, np.ndarray] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        out[str(name)] = _tensor(path, str(name), spec, data)
    return out


def _tensor(path: Path, name: str, spec: object, data: memoryview) -> np.ndarray:
    if not isinstance(spec, dict) or not {"dtype", "shape", "data_offsets"} <= set(spec):
        raise InputError(f"{path}: tensor {name!r} lacks dtype, shape or data_offsets")
    dtype, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    if (not isinstance(shape, list) or not all(isinstance(x, int) and x >= 0 for x in shape)
            or not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(x, int) for x in offsets)):
        raise InputError(f"{path}: tensor {name!r} has a malformed shape or data_offsets")
    begin, end = offsets
    if dtype == "BF16":
        itemsize = 2
    elif dtype in _DTYPES:
        itemsize = np.dtype(_DTYPES[dtype]).itemsize
    else:
        raise InputError(f"{path}: tensor {name!r} has dtype {dtype!r}, not one this reader knows "
                         f"({', '.join(sorted([*_DTYPES, 'BF16']))})")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if not 0 <= begin <= end <= len(data) or end - begin != count * itemsize:
        raise InputError(f"{path}: tensor {name!r} has data_offsets {offsets} that do not match its shape "
                         f"{shape} and dtype {dtype} (or the file is cut short)")
    buf = data[begin:end]
    if dtype == "BF16":
        arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        arr = np.frombuffer(buf, dtype=_DTYPES[dtype])
    return arr.reshape(shape)
