"""``lstmvis-db hypothesis save|list|run|delete|export`` (argparse only at import)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _handler(args: argparse.Namespace) -> None:
    from lstmvis_db.api import open as open_project
    from lstmvis_db.errors import LstmvisError
    from lstmvis_db.hypotheses import ops
    from lstmvis_db.hypotheses.workspace import Workspace

    if args.action in ("save", "run") and args.db is None:
        raise LstmvisError(f"hypothesis {args.action} needs --db")
    if args.action != "list" and not args.name:
        raise LstmvisError(f"hypothesis {args.action} needs --name")
    if args.action == "save" and (args.source is None or args.cells is None or args.threshold is None):
        raise LstmvisError("hypothesis save needs --source, --cells and --threshold")
    with Workspace(args.workspace) as ws:
        if args.action in ("save", "run"):
            with open_project(args.db) as p:
                if args.action == "save":
                    res: object = p.hypothesis_save(
                        args.name, args.source, args.cells, args.threshold, args.constrain_left,
                        args.constrain_right, args.length, args.limit, args.pool, brush=args.brush,
                        padding=args.padding, replace=args.replace, workspace=ws)
                else:
                    res = p.hypothesis_run(args.name, workspace=ws)
        elif args.action == "list":
            res = {"hypotheses": ws.saved(None if args.db is None else str(args.db.resolve()))}
        elif args.action == "delete":
            ws.delete(args.name)
            res = {"deleted": args.name}
        else:
            res = ops.export(ws, args.name)
    print(json.dumps(res, ensure_ascii=False, default=str) if args.json else json.dumps(res, indent=1, default=str))


def _pair(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two integers A,B, got {text!r}") from None
    return a, b


def add_parser(sub: argparse._SubParsersAction) -> None:
    from lstmvis_db.analysis.cli import add_hypothesis_args

    p = sub.add_parser("hypothesis", help="saved hypotheses in the per-user workspace")
    p.add_argument("action", choices=["save", "list", "run", "delete", "export"])
    p.add_argument("--name", default=None)
    p.add_argument("--db", type=Path, default=None, help="project file (.duckdb)")
    p.add_argument("--workspace", default=None, help="workspace file (default: $LSTMVIS_WORKSPACE or "
                   "~/.local/share/lstmvis-db/workspace.duckdb)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    add_hypothesis_args(p)
    p.add_argument("--brush", type=_pair, default=None, help="the brushed range A,B it came from")
    p.add_argument("--padding", type=_pair, default=(1, 0), help="off-padding widths L,R (default 1,0)")
    p.add_argument("--replace", action="store_true", help="overwrite a hypothesis of the same name")
    p.set_defaults(handler=_handler)
