"""The Arrow inputs of a project's ingest: streams of state rows (raw and 14-bit quantized,
transformed, checked finite and rounded to the stored dtype chunk by chunk) and the tokens,
annotations and predictions tables, plus the per-track range and categories.  Imports numpy,
pyarrow, ``errors``, ``types``, ``progress`` and ``matching.quant`` only; ``store`` writes what these build."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa

from lstmvis_db.errors import InputError
from lstmvis_db.matching.quant import Quantizer
from lstmvis_db.progress import Progress
from lstmvis_db.types import Document, ProjectData, Source, SparseValues, Track

ROW_GROUP_ROWS = 143_360  # 70 x 2048 rows: 14-bit bitpacked segments just fit a 256 KiB block
# Ingest batches: half a row group.  A parallel insert from batches that do not divide the row
# group size flushes short row groups (64k batches gave 128k groups, and 13% more index blocks).
CHUNK_ROWS = ROW_GROUP_ROWS // 2
VALUE_DTYPES = ("float32", "float16")  # how a source's values are stored (docs/data-model.md §Storage)
FLOAT16_MAX = 65504.0


def check_value_dtype(value_dtype: object) -> str:
    if value_dtype not in VALUE_DTYPES:
        raise InputError(f"value_dtype must be one of {', '.join(VALUE_DTYPES)}, got {value_dtype!r}")
    return str(value_dtype)


def chunk_values(src: Source, a: int, b: int) -> np.ndarray:
    """Rows a..b-1 of a source after its transform, as float32, checked finite."""
    raw = np.asarray(src.values[a:b])
    if raw.dtype.kind not in "fiu":  # object, text, bool, complex: not states
        raise InputError(f"source {src.source!r}: states must be numbers (float or int), got dtype {raw.dtype}")
    block = raw.astype(np.float32)
    if not np.isfinite(block).all():  # checked before the transform: tanh(inf) would hide it
        bad = np.argwhere(~np.isfinite(block))[0]
        raise InputError(
            f"source {src.source!r}: non-finite value {block[bad[0], bad[1]]} at position {a + int(bad[0])}, "
            f"cell {int(bad[1])}"
        )
    if src.transform == "tanh":
        block = np.tanh(block)
    return np.ascontiguousarray(block)


def stored_values(src: Source, a: int, b: int, value_dtype: str) -> np.ndarray:
    """Rows a..b-1 as they are stored: float32, or rounded to float16 (and widened back to
    float32, which is exact).  A value beyond float16's range is an input error."""
    block = chunk_values(src, a, b)
    if value_dtype == "float32":
        return block
    over = np.abs(block) > FLOAT16_MAX
    if over.any():
        bad = np.argwhere(over)[0]
        raise InputError(
            f"source {src.source!r}: value {block[bad[0], bad[1]]} at position {a + int(bad[0])}, cell {int(bad[1])} "
            f"is beyond float16's range (+-{FLOAT16_MAX:g}); store this source as float32"
        )
    return block.astype(np.float16).astype(np.float32)


def rows_reader(src: Source, n: int, d: int, stats: dict, progress: Progress, label: str,
                value_dtype: str = "float32") -> pa.RecordBatchReader:
    """The stored state rows (pos, v[d]) of ``src``: float32 values, or float16 bit patterns as
    uint16; records the range of the stored values in ``stats``."""
    f16 = value_dtype == "float16"
    schema = pa.schema([("pos", pa.int32()), ("v", pa.list_(pa.uint16() if f16 else pa.float32(), d))])

    def batches() -> Iterator[pa.RecordBatch]:
        lo, hi = math.inf, -math.inf
        for a in range(0, n, CHUNK_ROWS):
            b = min(n, a + CHUNK_ROWS)
            try:
                block = stored_values(src, a, b, value_dtype)
            except Exception as e:  # DuckDB wraps errors raised inside a stream; keep ours
                stats["error"] = e
                raise
            lo, hi = min(lo, float(block.min())), max(hi, float(block.max()))
            flat = block.reshape(-1)
            flat = flat.astype(np.float16).view(np.uint16) if f16 else flat
            v = pa.FixedSizeListArray.from_arrays(pa.array(flat), d)
            yield pa.record_batch([pa.array(np.arange(a, b, dtype=np.int32)), v], schema=schema)
            progress(label, 0.5 * b / n)
        stats["min"], stats["max"] = lo, hi

    return pa.RecordBatchReader.from_batches(schema, batches())


def quantized_reader(src: Source, n: int, d: int, quant: Quantizer, progress: Progress,
                      label: str, value_dtype: str = "float32") -> pa.RecordBatchReader:
    """The 14-bit bucket of every stored (pos, cell) value of ``src`` as columns c0..c{d-1}."""
    names = ["pos"] + [f"c{j}" for j in range(d)]
    schema = pa.schema([("pos", pa.int32())] + [(c, pa.uint16()) for c in names[1:]])

    def batches() -> Iterator[pa.RecordBatch]:
        for a in range(0, n, CHUNK_ROWS):
            b = min(n, a + CHUNK_ROWS)
            q = np.asfortranarray(quant.bucket(stored_values(src, a, b, value_dtype)))
            cols = [pa.array(np.arange(a, b, dtype=np.int32))] + [pa.array(q[:, j]) for j in range(d)]
            yield pa.record_batch(cols, schema=schema)
            progress(label, 0.5 + 0.5 * b / n)

    return pa.RecordBatchReader.from_batches(schema, batches())


def tokens_table(data: ProjectData, docs: list[Document], n: int) -> pa.Table:
    """The tokens table: position, document, token text and id (-1 when unknown)."""
    doc_of = np.repeat(np.arange(len(docs), dtype=np.int32), [d.last_pos - d.first_pos + 1 for d in docs])
    ids = np.full(n, -1, dtype=np.int64) if data.token_ids is None else np.asarray(data.token_ids, dtype=np.int64)
    tokens = [str(t) for t in data.tokens]
    return pa.table(
        {"pos": np.arange(n, dtype=np.int32), "doc": doc_of, "token": tokens, "token_id": ids.astype(np.int32)}
    )


def annotations_table(tracks: Sequence[Track]) -> pa.Table:
    """The annotations of the categorical and scalar tracks (missing labels/values left out)."""
    parts = []
    for t in tracks:
        if t.kind == "categorical":
            labels = [None if x is None or (isinstance(x, float) and math.isnan(x)) else str(x) for x in t.labels or []]
            pos = np.arange(len(labels), dtype=np.int32)
            keep = np.array([x is not None for x in labels])
            parts.append(pa.table({
                "track": pa.array([t.track] * int(keep.sum()), pa.string()),
                "pos": pos[keep],
                "label": pa.array([x for x in labels if x is not None], pa.string()),
                "value": pa.nulls(int(keep.sum()), pa.float64()),
            }))
        elif t.kind == "scalar":
            vals = np.asarray(t.values, dtype=np.float64)
            keep = np.isfinite(vals)
            parts.append(pa.table({
                "track": pa.array([t.track] * int(keep.sum()), pa.string()),
                "pos": np.flatnonzero(keep).astype(np.int32),
                "label": pa.nulls(int(keep.sum()), pa.string()),
                "value": vals[keep],
            }))
    if not parts:
        return pa.table({"track": pa.array([], pa.string()), "pos": pa.array([], pa.int32()),
                         "label": pa.array([], pa.string()), "value": pa.array([], pa.float64())})
    return pa.concat_tables(parts)


def predictions_table(tracks: Sequence[Track]) -> pa.Table:
    """The top-k predictions of the topk tracks, one row per (position, rank)."""
    parts = []
    for t in tracks:
        if t.kind != "topk":
            continue
        tok = np.asarray(t.topk_tokens, dtype=object)
        sc = np.asarray(t.topk_scores, dtype=np.float64)
        n, k = tok.shape
        parts.append(pa.table({
            "source": pa.array([t.track] * (n * k), pa.string()),
            "pos": np.repeat(np.arange(n, dtype=np.int32), k),
            "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), n),
            "token": pa.array([str(x) for x in tok.reshape(-1)], pa.string()),
            "score": sc.reshape(-1),
        }))
    if not parts:
        return pa.table({"source": pa.array([], pa.string()), "pos": pa.array([], pa.int32()),
                         "rank": pa.array([], pa.int32()), "token": pa.array([], pa.string()),
                         "score": pa.array([], pa.float64())})
    return pa.concat_tables(parts)


def track_range(t: Track) -> tuple[float | None, float | None]:
    """A track's (min, max): given, or for a scalar track its finite values' range."""
    if t.kind != "scalar":
        return t.min, t.max
    vals = np.asarray(t.values, dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    lo = t.min if t.min is not None else (float(vals.min()) if len(vals) else None)
    hi = t.max if t.max is not None else (float(vals.max()) if len(vals) else None)
    return lo, hi


def categories(t: Track) -> list[str]:
    """A categorical track's categories: given, or its labels in order of first appearance."""
    if t.categories is not None:
        return [str(c) for c in t.categories]
    seen: dict[str, None] = {}
    for x in t.labels or []:
        if x is not None and not (isinstance(x, float) and math.isnan(x)):
            seen.setdefault(str(x), None)
    return list(seen)


# --------------------------------------------------------------------------- sparse sources

SPARSE_BATCH = 1 << 20  # entries per Arrow batch of a sparse source's stream
_DENSE_BLOCK_VALUES = 1 << 22  # a dense array given for a sparse source is read this many values at a time


def _sparse_triples(src: Source, n: int, d: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(pos, unit, raw value) blocks of a sparse source's entries, each block sorted by (pos, unit),
    the blocks in position order."""
    vals = src.values
    if hasattr(vals, "tocoo") and not isinstance(vals, np.ndarray):  # a SciPy sparse matrix
        coo = vals.tocoo()
        vals = SparseValues(n, d, np.asarray(coo.row), np.asarray(coo.col), np.asarray(coo.data))
    if isinstance(vals, SparseValues):
        pos, unit, value = (np.asarray(x).reshape(-1) for x in (vals.pos, vals.unit, vals.value))
        if not len(pos) == len(unit) == len(value):
            raise InputError(f"source {src.source!r}: sparse pos, unit and value have different lengths "
                             f"({len(pos)}, {len(unit)}, {len(value)})")
        for name, arr in (("pos", pos), ("unit", unit)):
            if len(arr) and arr.dtype.kind not in "iu":
                raise InputError(f"source {src.source!r}: sparse {name} must be integers, got dtype {arr.dtype}")
        pos, unit = pos.astype(np.int64), unit.astype(np.int64)
        for name, arr, top in (("pos", pos, n), ("unit", unit, d)):
            if len(arr) and (arr.min() < 0 or arr.max() >= top):
                bad = arr[(arr < 0) | (arr >= top)][0]
                raise InputError(f"source {src.source!r}: sparse {name} {int(bad)} is outside 0..{top - 1}")
        order = np.lexsort((unit, pos))
        pos, unit, value = pos[order], unit[order], value[order]
        dup = np.flatnonzero((pos[1:] == pos[:-1]) & (unit[1:] == unit[:-1]))
        if len(dup):
            raise InputError(f"source {src.source!r}: sparse entry (pos {int(pos[dup[0]])}, unit "
                             f"{int(unit[dup[0]])}) is given twice")
        for a in range(0, len(pos), SPARSE_BATCH):
            yield pos[a:a + SPARSE_BATCH], unit[a:a + SPARSE_BATCH], value[a:a + SPARSE_BATCH]
        return
    rows = max(1, _DENSE_BLOCK_VALUES // d)
    for a in range(0, n, rows):
        block = np.asarray(vals[a:min(n, a + rows)])
        r, c = np.nonzero(block)
        yield (r + a).astype(np.int64), c.astype(np.int64), block[r, c]


def sparse_reader(src: Source, n: int, d: int, stats: dict, progress: Progress, label: str,
                  value_dtype: str = "float32") -> pa.RecordBatchReader:
    """The stored entries (pos, unit, value) of a sparse source: transformed, checked finite,
    rounded to float16 when asked, zeros dropped, in (pos, unit) order.  Records the range of
    the source's values in ``stats`` (0 included when some entry is absent) and ``nnz``."""
    schema = pa.schema([("pos", pa.int32()), ("unit", pa.int32()), ("value", pa.float32())])

    def batches() -> Iterator[pa.RecordBatch]:
        lo, hi, nnz = math.inf, -math.inf, 0
        try:
            for pos, unit, raw in _sparse_triples(src, n, d):
                if raw.dtype.kind not in "fiu":
                    raise InputError(f"source {src.source!r}: states must be numbers (float or int), "
                                     f"got dtype {raw.dtype}")
                v = raw.astype(np.float32)
                if not np.isfinite(v).all():
                    i = int(np.flatnonzero(~np.isfinite(v))[0])
                    raise InputError(f"source {src.source!r}: non-finite value {v[i]} at position {int(pos[i])}, "
                                     f"cell {int(unit[i])}")
                if src.transform == "tanh":
                    v = np.tanh(v)
                if value_dtype == "float16":
                    if (np.abs(v) > FLOAT16_MAX).any():
                        i = int(np.flatnonzero(np.abs(v) > FLOAT16_MAX)[0])
                        raise InputError(f"source {src.source!r}: value {v[i]} at position {int(pos[i])}, cell "
                                         f"{int(unit[i])} is beyond float16's range (+-{FLOAT16_MAX:g})")
                    v = v.astype(np.float16).astype(np.float32)
                keep = v != 0
                pos, unit, v = pos[keep], unit[keep], v[keep]
                if len(v):
                    lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
                nnz += len(v)
                yield pa.record_batch([pa.array(pos.astype(np.int32)), pa.array(unit.astype(np.int32)),
                                       pa.array(v)], schema=schema)
                progress(label, min(1.0, (int(pos[-1]) + 1) / n) if len(pos) else 0.0)
        except Exception as e:  # DuckDB wraps errors raised inside a stream; keep ours
            stats["error"] = e
            raise
        if nnz < n * d:  # absent entries are zeros
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        stats["min"], stats["max"], stats["nnz"] = lo, hi, nnz

    return pa.RecordBatchReader.from_batches(schema, batches())
