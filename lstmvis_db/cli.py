"""Command line (docs/semantics.md §Command line): ``lstmvis-db`` and ``python -m lstmvis_db`` are this program.

Every command that answers a question takes ``--json`` and then prints exactly one JSON
document on stdout.  Errors go to stderr as one line naming the problem, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from lstmvis_db.cliargs import finite, int_list, output_db, positive, source_cells, whole
from lstmvis_db.errors import LstmvisError
from lstmvis_db.types import InfoResult, MatchResult, SearchHit

Handler = Callable[[argparse.Namespace], object]
MAX_RESULTS = 100_000  # as queries.MAX_RESULTS (not imported: this module stays light)


R = TypeVar("R")


def _emit(args: argparse.Namespace, result: R, text: Callable[[R], str]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(text(result))


def _open(args: argparse.Namespace):
    from lstmvis_db.api import open as open_project

    return open_project(args.db)


# --------------------------------------------------------------------------- commands


def cmd_import_lstmvis(args: argparse.Namespace) -> None:
    from lstmvis_db.import_lstmvis import import_lstmvis

    import_lstmvis(args.project_dir, args.db, documents=args.doc_starts, progress=not args.quiet,
                   value_dtype=args.value_dtype)
    _emit(args, {"db": str(args.db)}, lambda r: f"wrote {r['db']}")


def cmd_info(args: argparse.Namespace) -> None:
    with _open(args) as p:
        info = p.info()

    def text(r: InfoResult) -> str:
        lines = [f"{r['name']}: {r['tokens']} tokens, {r['documents']} documents"]
        lines += [f"  source {s['source']}: {s['n_cells']} cells, layer {s['layer']}, {s['kind']}, "
                  f"transform {s['transform']}, values {s.get('value_dtype', 'float32')}" for s in r["sources"]]
        lines += [f"  track {t['track']} ({t['kind']})" for t in r["tracks"]]
        lines += ["  extraction:"] * bool(r["extraction"]) + [f"    {k} = {v}" for k, v in r["extraction"].items()]
        return "\n".join(lines)

    _emit(args, info, text)


def _dataset_engine(args: argparse.Namespace):
    """The engine module for ``--parquet`` (None for a project file)."""
    if args.parquet is None:
        if args.engine is not None:
            raise LstmvisError("--engine goes with --parquet DIR (a project file has its own engine)")
        return None
    if getattr(args, "sql", False):
        raise LstmvisError("--sql prints the SQL for a project file; use it with --db")
    if getattr(args, "quantile", None) is not None:
        raise LstmvisError("--quantile needs the project file (--db); over --parquet give --threshold")
    if args.engine == "spark":
        from lstmvis_db.spark import engine as spark_engine

        return spark_engine
    from lstmvis_db.parquet import duckdb_engine

    return duckdb_engine


def cmd_select(args: argparse.Namespace) -> None:
    engine = _dataset_engine(args)
    if engine is not None:
        cells = engine.select(str(args.parquet), args.source, args.start, args.end, args.threshold, args.left_off,
                              args.right_off)
        _emit(args, {"cells": cells}, lambda r: " ".join(map(str, r["cells"])) or "(no cells)")
        return
    with _open(args) as p:
        if args.sql:
            if args.quantile is not None:
                raise LstmvisError("--sql takes --threshold, not --quantile")
            print(p.select_sql(args.source, args.start, args.end, args.threshold, args.left_off, args.right_off))
            return
        cells = p.select(args.source, args.start, args.end, args.threshold, args.left_off, args.right_off,
                         quantile=args.quantile)
        res: dict = {"cells": cells}
        if args.quantile is not None:  # docs/analysis.md: state each cell's resulting threshold
            res["thresholds"] = {str(c): t for c, t in p.quantile_thresholds(args.source, args.quantile, cells).items()}
    _emit(args, res, lambda r: " ".join(map(str, r["cells"])) or "(no cells)")


def _match_text(r: MatchResult) -> str:
    head = f"{r['candidates']} candidates"
    rows = [f"{m['start']:>10} len {m['length']:>3}  I {m['intersection']:>3}  U {m['union']:>3}  "
            f"jaccard {m['jaccard']:.3f}  missing {m['missing']}" for m in r["matches"]]
    return "\n".join([head, *rows])


def cmd_match(args: argparse.Namespace) -> None:
    engine = _dataset_engine(args)
    if engine is not None:
        if args.pool is not None:
            raise LstmvisError("--pool (bounded mode) is not available over --parquet")
        res = engine.match(str(args.parquet), args.source, args.cells, args.threshold,
                           args.constrain_left, args.constrain_right, args.length, args.limit)
        _emit(args, res, _match_text)
        return
    with _open(args) as p:
        if args.sql:
            if args.pool is not None or args.quantile is not None:
                raise LstmvisError("--sql gives the complete mode at one --threshold; leave out --pool and --quantile")
            print(p.match_sql(args.source, args.cells, args.threshold, args.constrain_left,
                              args.constrain_right, args.length, args.limit))
            return
        if args.also:
            if args.quantile is not None:
                raise LstmvisError("--also takes one --threshold per source, not --quantile")
            parts = [(args.source, args.cells, args.threshold)]
            parts += [(src, cells, args.threshold if t is None else t) for src, cells, t in args.also]
            res = p.match_sources(parts, args.constrain_left, args.constrain_right, args.length, args.limit,
                                  args.pool)
        else:
            res = p.match(args.source, args.cells, args.threshold, args.constrain_left,
                          args.constrain_right, args.length, args.limit, args.pool, quantile=args.quantile)
    _emit(args, res, _match_text)


def cmd_search(args: argparse.Namespace) -> None:
    with _open(args) as p:
        res = p.search(phrase=args.phrase, regex=args.regex, limit=args.limit)

    def text(r: list[SearchHit]) -> str:
        return "\n".join(f"{h['pos']:>10}  {' '.join(h['left'])} [{' '.join(h['match'])}] {' '.join(h['right'])}"
                         for h in r) or "(no hits)"

    _emit(args, res, text)


def _workspace_tables(query: str, workspace: str | None) -> dict | None:
    """``hypotheses`` and ``hypothesis_matches`` of the saved-hypotheses workspace
    (docs/analysis.md §Saved hypotheses), when the query names them and the workspace exists."""
    if not re.search(r"\bhypothes(?:es|is_matches)\b", query, re.IGNORECASE):
        return None
    from lstmvis_db.hypotheses.workspace import Workspace, default_path

    path = Path(workspace or default_path()).expanduser()
    if not path.is_file():
        return None  # no workspace yet: the query says the table does not exist
    with Workspace(path) as ws:
        return ws.frames()


def cmd_sql(args: argparse.Namespace) -> None:
    from lstmvis_db import sqlconsole
    from lstmvis_db.store import connect

    connect(args.db).close()  # a clear error when the file is missing or not a project
    df = sqlconsole.run(args.db, args.query, max_rows=args.max_rows, timeout=args.timeout, memory_mb=args.memory_mb,
                        names={"timeout": "--timeout", "max_rows": "--max-rows", "memory_mb": "--memory-mb"},
                        tables=_workspace_tables(args.query, args.workspace))
    if args.json:
        print(df.to_json(orient="records", date_format="iso", force_ascii=False, default_handler=str))
    else:
        print(df.to_string(index=False))


# --------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (docs/semantics.md §Command line)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _threshold_or_quantile(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--threshold", type=finite)
    g.add_argument("--quantile", type=finite, help="on at each cell's own q-quantile (0 < q < 1)")


def build_parser(extensions: bool = True) -> argparse.ArgumentParser:
    """The whole parser; ``extensions=False`` leaves out the ``EXTENSIONS`` commands (not imported)."""
    ap = _Parser(prog="lstmvis-db", description="LSTMVis select / match / align over DuckDB.")
    sub = ap.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Handler, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.set_defaults(handler=handler)
        return p

    def db_json(p: argparse.ArgumentParser, db_type: Callable[[str], Path] = Path, dataset: bool = False) -> None:
        if not dataset:
            p.add_argument("--db", required=True, type=db_type, help="project file (.duckdb)")
        else:  # select, match: a project file, or an exported Parquet dataset and an engine
            where = p.add_mutually_exclusive_group(required=True)
            where.add_argument("--db", type=db_type, help="project file (.duckdb)")
            where.add_argument("--parquet", type=Path, help="a dataset written by `export --parquet` (docs/scale.md)")
            p.add_argument("--engine", choices=("duckdb", "spark"), default=None,
                           help="engine over --parquet (default duckdb)")
        p.add_argument("--json", action="store_true", help="print one JSON document")

    p = command("import-lstmvis", cmd_import_lstmvis, "import an original LSTMVis project folder")
    p.add_argument("project_dir", type=Path)
    db_json(p, output_db)
    p.add_argument("--doc-starts", type=int_list(0), default=None,
                   help="comma-separated positions where documents start (default: one document)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--value-dtype", choices=("float32", "float16"), default="float32",
                   help="store values as float32 (exact) or float16 (rounded at ingest; docs/data-model.md §Storage)")

    db_json(command("info", cmd_info, "project summary"))

    p = command("select", cmd_select, "cells on over [start, end] and off in the padding")
    db_json(p, dataset=True)
    p.add_argument("--source", required=True)
    p.add_argument("--start", required=True, type=whole(0))
    p.add_argument("--end", required=True, type=whole(0))
    _threshold_or_quantile(p)
    p.add_argument("--left-off", type=whole(0), default=1)
    p.add_argument("--right-off", type=whole(0), default=0)
    p.add_argument("--sql", action="store_true", help="print the plain DuckDB SQL that answers it instead")

    p = command("match", cmd_match, "rank places where the cells switch on together")
    db_json(p, dataset=True)
    p.add_argument("--source", required=True)
    p.add_argument("--cells", required=True, type=int_list(0), help="comma-separated cell ids")
    _threshold_or_quantile(p)
    p.add_argument("--constrain-left", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--constrain-right", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--length", type=whole(0), default=0, help="phrase length filter (0 = any)")
    p.add_argument("--limit", type=whole(1, MAX_RESULTS), default=50)
    p.add_argument("--pool", type=whole(1), default=None, help="bounded mode: keep the first K candidates")
    p.add_argument("--sql", action="store_true", help="print the plain DuckDB SQL that answers it instead")
    p.add_argument("--also", action="append", type=source_cells, default=[], metavar="SOURCE:CELLS[@T]",
                   help="more query cells from another source (its own threshold T, default --threshold); "
                        "repeatable: the count is the cells on across the sources")

    p = command("search", cmd_search, "phrase or regex search over the tokens")
    db_json(p)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--phrase")
    g.add_argument("--regex")
    p.add_argument("--limit", type=whole(1, MAX_RESULTS), default=50)

    p = command("sql", cmd_sql, "read-only SQL over the project")
    db_json(p)
    p.add_argument("query")
    p.add_argument("--max-rows", type=whole(1), default=10_000, help="cut the result after this many rows")
    p.add_argument("--timeout", type=positive, default=30.0, help="stop the query after this many seconds")
    p.add_argument("--memory-mb", type=positive, default=None, help="memory of the query (default 256, at most "
                   "LSTMVIS_SQL_MAX_MB)")
    p.add_argument("--workspace", default=None, help="saved hypotheses (tables hypotheses, hypothesis_matches); "
                   "default LSTMVIS_WORKSPACE or ~/.local/share/lstmvis-db/workspace.duckdb")

    for register in _extensions() if extensions else ():
        register(sub)
    return ap


# The commands defined above; when one of them runs, the extension modules are not imported
# at all (so `info` loads neither the demos, the benchmark nor the extraction code).
CORE_COMMANDS = frozenset({"import-lstmvis", "info", "select", "match", "search", "sql"})


# Sub-commands that live beside their code, as "module:function" adding a parser to the
# sub-parsers.  Each such module is light (argparse only at import); its handler imports the
# heavy code, so `info`, `select`, `match`, `search` and `sql` never load it.
EXTENSIONS = (
    "lstmvis_db.demos.cli:add_parser",
    "lstmvis_db.bench.cli:add_parser",
    "lstmvis_db.parquet.cli:add_parser",
    "lstmvis_db.extract.cli:add_parser",
    "lstmvis_db.extract.cli:add_track_parser",
    "lstmvis_db.analysis.cli:add_parser",
    "lstmvis_db.hypotheses.cli:add_parser",
    "lstmvis_db.analysis.cells_cli:add_parser",
    "lstmvis_db.views.own_text_cli:add_parser",
    "lstmvis_db.caches.cli:add_parser",
    "lstmvis_db.sae.cli:add_parser",
)


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:
    import importlib

    out: list[Callable[[argparse._SubParsersAction], None]] = []
    for ref in EXTENSIONS:
        module, func = ref.split(":")
        out.append(getattr(importlib.import_module(module), func))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(extensions=not (argv and argv[0] in CORE_COMMANDS))
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
    except Exception as e:
        if not _is_duckdb_error(e):
            raise
        # a block that is damaged in the middle of a project file shows only when it is read
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        print(f"lstmvis-db: error: the project file cannot be read (damaged or changed while open): {first}",
              file=sys.stderr)
        return 2
    return 0


def _is_duckdb_error(e: BaseException) -> bool:
    """True for DuckDB's own errors (checked by module so the CLI does not import duckdb)."""
    return any(c.__module__.split(".")[0] in ("duckdb", "_duckdb") and c.__name__ == "Error" for c in type(e).__mro__)


if __name__ == "__main__":
    sys.exit(main())
