"""Finding a cache's files and streaming them as bounded record batches.

May import: pyarrow, ``lstmvis_db.errors``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lstmvis_db.errors import InputError

#: bytes of activation values one streamed batch may hold (a batch has at least one row)
BATCH_BYTES = 64 * 2**20


@dataclass(frozen=True)
class CacheFiles:
    """The files of one cache, in reading order, and their common schema."""

    path: Path
    format: str  # "parquet" or "arrow" (a save_to_disk folder)
    files: tuple[Path, ...]
    schema: pa.Schema


def _arrow_reader(path: Path) -> pa.RecordBatchReader:
    """An Arrow IPC stream (what ``save_to_disk`` writes) or file, memory-mapped."""
    source = pa.memory_map(str(path), "r")
    try:
        return pa.ipc.open_stream(source)
    except pa.ArrowInvalid:
        try:
            f = pa.ipc.open_file(source)
        except pa.ArrowInvalid as e:
            raise InputError(f"{path}: not an Arrow IPC stream or file ({e})") from e
        return pa.RecordBatchReader.from_batches(f.schema, (f.get_batch(i) for i in range(f.num_record_batches)))


def _schema(path: Path, fmt: str) -> pa.Schema:
    try:
        if fmt == "parquet":
            return pq.ParquetFile(str(path)).schema_arrow
        return _arrow_reader(path).schema
    except InputError:
        raise
    except (pa.ArrowException, OSError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise InputError(f"{path}: cannot read it as {fmt} ({first})") from e


def _saved_dataset_files(folder: Path) -> tuple[Path, ...]:
    """The ``data-*.arrow`` files of a ``save_to_disk`` folder, in the order ``state.json`` gives."""
    state_path = folder / "state.json"
    names: list[str] = []
    if state_path.is_file():
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(f"{state_path}: not valid JSON ({e})") from e
        entries = state.get("_data_files") if isinstance(state, dict) else None
        if not isinstance(entries, list):
            raise InputError(f"{state_path}: no list '_data_files' (not a datasets save_to_disk folder?)")
        for i, entry in enumerate(entries):
            name = entry.get("filename") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
                raise InputError(f"{state_path}: _data_files[{i}] has no plain file name")
            names.append(name)
    else:
        names = sorted(p.name for p in folder.glob("data-*.arrow"))
    files = tuple(folder / n for n in names)
    for f in files:
        if not f.is_file():
            raise InputError(f"{folder}: {f.name} (listed in state.json) is missing")
    return files


def _natural(p: Path) -> list[object]:
    """``shard_2`` before ``shard_10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]


def find_files(path: str | Path) -> CacheFiles:
    """The cache at ``path``: a ``.parquet`` file, a folder of them, a ``save_to_disk`` folder, or a
    folder of ``save_to_disk`` shards (``shard_0``, ``shard_1``, ... in numeric order)."""
    p = Path(path)
    files: tuple[Path, ...]
    if not p.exists():
        raise InputError(f"cache not found: {p}")
    if p.is_file():
        if p.suffix.lower() == ".parquet":
            fmt, files = "parquet", (p,)
        elif p.suffix.lower() == ".arrow":
            fmt, files = "arrow", (p,)
        else:
            raise InputError(f"{p}: not a .parquet or .arrow file, nor a cache folder")
    elif (p / "dataset_dict.json").is_file():
        raise InputError(f"{p}: a DatasetDict of several splits; pass one split's folder (e.g. {p / 'train'})")
    elif (p / "dataset_info.json").is_file() or (p / "state.json").is_file() or any(p.glob("data-*.arrow")):
        fmt, files = "arrow", _saved_dataset_files(p)
    elif shards := sorted((d for d in p.iterdir() if d.is_dir() and (d / "state.json").is_file()), key=_natural):
        # SAELens' CacheActivationsRunner before its final concatenation: shard_0, shard_1, ... each saved alone
        fmt, files = "arrow", tuple(f for d in shards for f in _saved_dataset_files(d))
    else:
        fmt, files = "parquet", tuple(sorted(f for f in p.rglob("*.parquet") if f.is_file()))
        if not files:
            raise InputError(f"{p}: no .parquet files and no datasets save_to_disk files (dataset_info.json, "
                             "state.json, data-*.arrow)")
    if not files:
        raise InputError(f"{p}: the cache has no data files")
    schema = _schema(files[0], fmt)
    for later in files[1:]:
        other = _schema(later, fmt)
        if other.names != schema.names or other.types != schema.types:
            raise InputError(f"{later}: its columns differ from {files[0].name}'s ({', '.join(other.names)} vs "
                             f"{', '.join(schema.names)})")
    return CacheFiles(p, fmt, files, schema)


def iter_batches(cache: CacheFiles, columns: list[str], max_rows: int) -> Iterator[pa.RecordBatch]:
    """Every row of ``columns``, file by file, in record batches of at most ``max_rows`` rows."""
    max_rows = max(1, int(max_rows))
    for f in cache.files:
        try:
            if cache.format == "parquet":
                yield from pq.ParquetFile(str(f)).iter_batches(batch_size=max_rows, columns=columns,
                                                               use_threads=False)
            else:
                for batch in _arrow_reader(f):
                    sub = batch.select(columns)
                    for a in range(0, sub.num_rows, max_rows):
                        yield sub.slice(a, max_rows)
        except InputError:
            raise
        except (pa.ArrowException, OSError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise InputError(f"{f}: cannot read the cache ({first})") from e
