"""The Parquet layout of an exported project and the manifest that names it.

```
DIR/manifest.json                      layout, version, counts, sources (name -> sid, n_cells), chunks
DIR/documents.parquet                  doc, name, first_pos, last_pos, chunk
DIR/tokens/chunk=K/*.parquet           pos, doc, token, token_id
DIR/annotations/*.parquet              track, pos, label, value
DIR/predictions/*.parquet              source, pos, rank, token, score
DIR/track_categories.parquet           track, ord, category (the category order of categorical tracks)
DIR/tracks.parquet, DIR/sources.parquet, DIR/project.parquet
DIR/states/sid=S/chunk=K/*.parquet     pos, doc, v (FLOAT[n_cells], the exact values)
```

A chunk is a run of whole documents (about ``CHUNK_POSITIONS`` positions, one document at
least), so no match run and no constraint position ever crosses a chunk: chunks are the unit
of parallelism of the engines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstmvis_db.errors import InputError

LAYOUT = "lstmvis-db-parquet"
LAYOUT_VERSION = 2  # 2: + track_categories.parquet, predictions/ (align over a dataset)
CHUNK_POSITIONS = 262_144


@dataclass(frozen=True)
class DatasetSource:
    source: str
    sid: int
    n_cells: int


@dataclass(frozen=True)
class Dataset:
    """An exported project: its folder and what its manifest says."""

    root: Path
    name: str
    positions: int
    documents: int
    chunks: int
    sources: tuple[DatasetSource, ...]

    def source(self, name: str) -> DatasetSource:
        for s in self.sources:
            if s.source == name:
                return s
        raise InputError(f"unknown source {name!r}; the dataset has {', '.join(s.source for s in self.sources)}")

    def states_dir(self, src: DatasetSource) -> Path:
        return self.root / "states" / f"sid={src.sid}"

    def manifest(self) -> dict[str, Any]:
        return {
            "layout": LAYOUT, "version": LAYOUT_VERSION, "name": self.name, "positions": self.positions,
            "documents": self.documents, "chunks": self.chunks,
            "sources": [{"source": s.source, "sid": s.sid, "n_cells": s.n_cells} for s in self.sources],
        }


def _field(doc: dict[str, Any], key: str, kind: type, where: Path) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InputError(f"{where}: field {key!r} is missing or not a {kind.__name__}")
    return value


def open_dataset(root: str | Path) -> Dataset:
    """Read and check the manifest of an exported project (one clear line when it is not one)."""
    root = Path(root)
    path = root / "manifest.json"
    if not path.is_file():
        raise InputError(f"{root} is not an exported project (no manifest.json); make one with "
                         "`lstmvis-db export --db PROJECT --parquet DIR`")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not a readable manifest ({type(e).__name__})") from None
    if not isinstance(doc, dict) or doc.get("layout") != LAYOUT:
        layout = doc.get('layout') if isinstance(doc, dict) else None
        raise InputError(f"{path}: not an lstmvis-db Parquet dataset (layout {layout!r}); make one with "
                         "`lstmvis-db export --db PROJECT --parquet DIR`")
    if doc.get("version") != LAYOUT_VERSION:
        raise InputError(f"{path}: dataset layout version {doc.get('version')!r}, this version reads "
                         f"{LAYOUT_VERSION}; export the project again with this version")
    sources = []
    for s in _field(doc, "sources", list, path):
        if not isinstance(s, dict):
            raise InputError(f"{path}: a source entry is not an object")
        sources.append(DatasetSource(_field(s, "source", str, path), _field(s, "sid", int, path),
                                     _field(s, "n_cells", int, path)))
    ds = Dataset(root, _field(doc, "name", str, path), _field(doc, "positions", int, path),
                 _field(doc, "documents", int, path), _field(doc, "chunks", int, path), tuple(sources))
    for s in ds.sources:
        if not ds.states_dir(s).is_dir():
            raise InputError(f"{root}: the states of source {s.source!r} are missing ({ds.states_dir(s)})")
    return ds
