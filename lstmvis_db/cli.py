"""Command line (contract §3): ``lstmvis-db`` and ``python -m lstmvis_db`` are this program.

Every command that answers a question takes ``--json`` and then prints exactly one JSON
document on stdout.  Errors go to stderr as one line naming the problem, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from lstmvis_db.errors import LstmvisError

Handler = Callable[[argparse.Namespace], object]


R = TypeVar("R")


def _emit(args: argparse.Namespace, result: R, text: Callable[[R], str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(text(result))


def _open(args: argparse.Namespace):
    from lstmvis_db.api import open as open_project

    return open_project(args.db)


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise LstmvisError(f"--cells must be a comma-separated list of integers, got {text!r}") from None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


# --------------------------------------------------------------------------- commands


def cmd_import_lstmvis(args: argparse.Namespace) -> None:
    from lstmvis_db.import_lstmvis import import_lstmvis

    import_lstmvis(args.project_dir, args.db, documents=args.doc_starts, progress=not args.quiet)
    _emit(args, {"db": str(args.db)}, lambda r: f"wrote {r['db']}")


def cmd_info(args: argparse.Namespace) -> None:
    with _open(args) as p:
        info = p.info()

    def text(r: dict) -> str:
        lines = [f"{r['name']}: {r['tokens']} tokens, {r['documents']} documents"]
        lines += [f"  source {s['source']}: {s['n_cells']} cells, layer {s['layer']}, {s['kind']}, "
                  f"transform {s['transform']}" for s in r["sources"]]
        lines += [f"  track {t['track']} ({t['kind']})" for t in r["tracks"]]
        return "\n".join(lines)

    _emit(args, info, text)


def cmd_select(args: argparse.Namespace) -> None:
    with _open(args) as p:
        cells = p.select(args.source, args.start, args.end, args.threshold, args.left_off, args.right_off,
                         quantile=args.quantile)
        res: dict = {"cells": cells}
        if args.quantile is not None:  # analysis.md §5: state each cell's resulting threshold
            res["thresholds"] = {str(c): t for c, t in p.quantile_thresholds(args.source, args.quantile, cells).items()}
    _emit(args, res, lambda r: " ".join(map(str, r["cells"])) or "(no cells)")


def cmd_match(args: argparse.Namespace) -> None:
    with _open(args) as p:
        res = p.match(args.source, _int_list(args.cells), args.threshold, args.constrain_left,
                      args.constrain_right, args.length, args.limit, args.pool, quantile=args.quantile)

    def text(r: dict) -> str:
        head = f"{r['candidates']} candidates"
        rows = [f"{m['start']:>10} len {m['length']:>3}  I {m['intersection']:>3}  U {m['union']:>3}  "
                f"jaccard {m['jaccard']:.3f}  missing {m['missing']}" for m in r["matches"]]
        return "\n".join([head, *rows])

    _emit(args, res, text)


def cmd_search(args: argparse.Namespace) -> None:
    with _open(args) as p:
        res = p.search(phrase=args.phrase, regex=args.regex, limit=args.limit)

    def text(r: list) -> str:
        return "\n".join(f"{h['pos']:>10}  {' '.join(h['left'])} [{' '.join(h['match'])}] {' '.join(h['right'])}"
                         for h in r) or "(no hits)"

    _emit(args, res, text)


def cmd_sql(args: argparse.Namespace) -> None:
    from lstmvis_db.sqlconsole import SqlConsole
    from lstmvis_db.store import connect

    connect(args.db).close()  # a clear error when the file is missing or not a project
    con = SqlConsole(args.db)
    try:
        df = con.run(args.query, max_rows=args.max_rows, timeout=args.timeout)
    finally:
        con.close()
    if args.json:
        print(df.to_json(orient="records", date_format="iso", force_ascii=False))
    else:
        print(df.to_string(index=False))


# --------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (contract §3)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _threshold_or_quantile(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--threshold", type=_number)
    g.add_argument("--quantile", type=_number, help="on at each cell's own q-quantile (0 < q < 1)")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="lstmvis-db", description="LSTMVis select / match / align over DuckDB.")
    sub = ap.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Handler, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.set_defaults(handler=handler)
        return p

    def db_json(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", required=True, type=Path, help="project file (.duckdb)")
        p.add_argument("--json", action="store_true", help="print one JSON document")

    p = command("import-lstmvis", cmd_import_lstmvis, "import an original LSTMVis project folder")
    p.add_argument("project_dir", type=Path)
    db_json(p)
    p.add_argument("--doc-starts", type=_int_list, default=None,
                   help="comma-separated positions where documents start (default: one document)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    db_json(command("info", cmd_info, "project summary"))

    p = command("select", cmd_select, "cells on over [start, end] and off in the padding")
    db_json(p)
    p.add_argument("--source", required=True)
    p.add_argument("--start", required=True, type=int)
    p.add_argument("--end", required=True, type=int)
    _threshold_or_quantile(p)
    p.add_argument("--left-off", type=int, default=1)
    p.add_argument("--right-off", type=int, default=0)

    p = command("match", cmd_match, "rank places where the cells switch on together")
    db_json(p)
    p.add_argument("--source", required=True)
    p.add_argument("--cells", required=True, help="comma-separated cell ids")
    _threshold_or_quantile(p)
    p.add_argument("--constrain-left", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--constrain-right", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--length", type=int, default=0, help="phrase length filter (0 = any)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--pool", type=int, default=None, help="bounded mode: keep the first K candidates")

    p = command("search", cmd_search, "phrase or regex search over the tokens")
    db_json(p)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--phrase")
    g.add_argument("--regex")
    p.add_argument("--limit", type=int, default=50)

    p = command("sql", cmd_sql, "read-only SQL over the project")
    db_json(p)
    p.add_argument("query")
    p.add_argument("--max-rows", type=int, default=10_000)
    p.add_argument("--timeout", type=float, default=30.0)

    for register in _extensions():
        register(sub)
    return ap


# Sub-commands that live beside their code, as "module:function" adding a parser to the
# sub-parsers.  Each such module is light (argparse only at import); its handler imports the
# heavy code, so `info`, `select`, `match`, `search` and `sql` never load it.
EXTENSIONS = (
    "lstmvis_db.demos.registry:add_parser",
    "lstmvis_db.bench.cli:add_parser",
    "lstmvis_db.extract.cli:add_parser",
    "lstmvis_db.extract.cli:add_track_parser",
    "lstmvis_db.analysis.cli:add_parser",
)


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:
    import importlib

    out = []
    for ref in EXTENSIONS:
        module, func = ref.split(":")
        out.append(getattr(importlib.import_module(module), func))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed its one-line error or the help
        return int(e.code or 0)
    try:
        args.handler(args)
    except LstmvisError as e:
        print(f"lstmvis-db: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lstmvis-db: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
