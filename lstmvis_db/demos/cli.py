"""The CLI's ``demo`` sub-command: ``lstmvis-db demo [--only NAME] [--out DIR]``.

Light at import (argparse only): the demo names come from the registry when the parser is
built, and the builders (numpy models, the store) load only when the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``lstmvis-db demo [--only NAME] [--out DIR]`` on the CLI's sub-parsers."""
    from lstmvis_db.demos.paths import default_out_dir
    from lstmvis_db.demos.registry import DEMOS

    p = sub.add_parser("demo", help="build the built-in demo projects")
    p.add_argument("--only", choices=list(DEMOS), default=None, help="build just this demo")
    p.add_argument("--out", default=None, help=f"output folder (default: {default_out_dir()}, made if missing)")
    p.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)  # tests only
    p.add_argument("--value-dtype", choices=("float32", "float16"), default="float32",
                   help="store values as float32 (exact) or float16 (rounded at ingest; docs/data-model.md §Storage)")

    def handler(args: argparse.Namespace) -> None:
        from lstmvis_db.demos.registry import build_demo

        names = [args.only] if args.only else list(DEMOS)
        if args.out is None:  # the default folder is made; a folder the user names must exist
            args.out = str(default_out_dir())
            os.makedirs(args.out, exist_ok=True)
        for demo in names:
            path = build_demo(demo, args.out, progress=sys.stderr.isatty(), limit=args.limit,
                              value_dtype=args.value_dtype)
            print(path)

    p.set_defaults(handler=handler)
