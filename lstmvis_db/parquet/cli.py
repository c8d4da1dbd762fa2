"""``lstmvis-db export --db PROJECT --parquet DIR``: registered without loading the exporter."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _handler(args: argparse.Namespace) -> None:
    from lstmvis_db.api import open as open_project
    from lstmvis_db.errors import LstmvisError

    if args.chunk_positions < 1:
        raise LstmvisError(f"--chunk-positions must be >= 1, got {args.chunk_positions}")
    with open_project(args.db) as p:
        res = p.export(args.parquet, args.chunk_positions)
    print(json.dumps(res) if args.json else f"wrote {res['parquet']} ({res['chunks']} chunks)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from lstmvis_db.parquet.dataset import CHUNK_POSITIONS

    p = sub.add_parser("export", help="write a project as a partitioned Parquet dataset (for Spark, DuckDB, pandas)")
    p.add_argument("--db", required=True, type=Path, help="project file (.duckdb)")
    p.add_argument("--parquet", required=True, type=Path, help="new folder for the dataset")
    p.add_argument("--chunk-positions", type=int, default=CHUNK_POSITIONS,
                   help="positions per chunk of whole documents (the unit of parallelism)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=_handler)
