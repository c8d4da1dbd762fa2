"""``align --sql`` and ``align --parquet DIR [--engine duckdb|spark]``: the arguments (argparse
only at import) and the answer, for the hook in ``analysis.cli`` (docs/sql.md, docs/scale.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_where_args(p: argparse.ArgumentParser) -> None:
    """``--db FILE`` or ``--parquet DIR`` (with ``--engine``), and ``--sql``."""
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, help="project file (.duckdb)")
    where.add_argument("--parquet", type=Path, help="a dataset written by `export --parquet` (docs/scale.md)")
    p.add_argument("--engine", choices=("duckdb", "spark"), default=None, help="engine over --parquet (default duckdb)")
    p.add_argument("--sql", action="store_true", help="print the plain DuckDB SQL of the tests table instead")


def _list(text: str | None) -> list[str] | None:
    return None if text is None else [x.strip() for x in text.split(",") if x.strip()]


def _refuse(args: argparse.Namespace, what: str) -> None:
    from lstmvis_db.errors import LstmvisError

    for flag, value in (("--null-cells", args.null_cells), ("--pool", args.pool), ("--null-label", args.null_label)):
        if value is not None:
            raise LstmvisError(f"{flag} is not available with {what}")


def answer(args: argparse.Namespace) -> str | dict | None:
    """The SQL text (``--sql``), the result dict (``--parquet``), or None (a project file)."""
    from lstmvis_db.errors import LstmvisError

    if args.parquet is None and args.engine is not None:
        raise LstmvisError("--engine goes with --parquet DIR (a project file has its own engine)")
    if args.sql:
        if args.parquet is not None:
            raise LstmvisError("--sql prints the SQL for a project file; use it with --db")
        _refuse(args, "--sql (the SQL gives the tests table of the complete mode)")
        from lstmvis_db.api import open as open_project

        with open_project(args.db) as p:
            return p.align_sql(args.source, args.cells, args.threshold, args.constrain_left, args.constrain_right,
                               args.length, None, set=args.set, limit=args.limit, spans=args.spans,
                               tracks=_list(args.tracks), conditions=_list(args.conditions))
    if args.parquet is None:
        return None
    _refuse(args, "--parquet (the cell-set null and the bounded mode need the project file)")
    from lstmvis_db.parquet import align as dataset_align

    return dict(dataset_align.align(
        str(args.parquet), args.engine or "duckdb", args.source, args.cells, args.threshold, args.constrain_left,
        args.constrain_right, args.length, set_kind=args.set, limit=args.limit, spans=args.spans,
        tracks=_list(args.tracks), conditions=_list(args.conditions)))
