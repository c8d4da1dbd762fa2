"""``lstmvis-db bench``: the sub-command's arguments, registered without loading the benchmark."""

from __future__ import annotations

import argparse
import os
import sys

SIZES = {"tiny": (20_000, 64), "ptb": (1_000_000, 650), "long": (10_000_000, 128), "xlong": (30_000_000, 128)}


def _handler(args: argparse.Namespace) -> None:
    from lstmvis_db.bench import runner  # h5py, the baseline and the synthetic states load here

    runner.command(args)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmark against the original's matcher on synthetic states")
    p.add_argument("--size", choices=sorted(SIZES), default="tiny")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--workdir", default=os.environ.get("LSTMVIS_BENCH_DIR"), help="keep files here")
    p.add_argument("--spark", action="store_true", help="also time the Spark engine (needs the spark extra and Java)")
    p.add_argument("--documents", type=int, default=1,
                   help="split the synthetic corpus into this many equal documents (default 1; the Spark engine "
                        "parallelises over documents, so --spark needs many at the large sizes)")
    p.add_argument("--sql-memory", default=None, metavar="LIMIT",
                   help="DuckDB memory_limit of the plain-SQL match's connection, e.g. 4GB (default: DuckDB's own, "
                        "80%% of RAM)")
    p.add_argument("--value-dtype", choices=("float32", "float16"), default=None,
                   help="how the project stores values (default float32; float16 for --size xlong)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_handler)


def main(argv: list[str] | None = None) -> int:
    from lstmvis_db.cli import main as cli_main

    return cli_main(["bench", *(sys.argv[1:] if argv is None else argv)])
