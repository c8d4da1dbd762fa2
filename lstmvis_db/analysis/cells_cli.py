"""CLI sub-commands of the cell statistics (docs/analysis.md §Interface): ``cells``, ``profile``,
``coactivation``, ``explain``.  Light at import (argparse only); each handler imports the heavy code."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lstmvis_db.cliargs import finite as _number
from lstmvis_db.cliargs import int_list
from lstmvis_db.errors import LstmvisError


def _range(text: str) -> tuple[int, int]:
    a, sep, b = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(a), int(b)
    except ValueError:
        raise LstmvisError(f"--range must be A:B (two integers), got {text!r}") from None


def _print(args: argparse.Namespace, result: dict, lines) -> None:
    print(json.dumps(result, ensure_ascii=False) if args.json else "\n".join(lines(result)))


def _fmt(x: object) -> str:
    return "-" if x is None else f"{x:.4f}" if isinstance(x, float) else str(x)


def _cmd_cells(args: argparse.Namespace) -> None:
    from lstmvis_db.api import open as open_project

    with open_project(args.db) as p:
        res = p.cells(args.source, args.track, args.label, threshold=args.threshold, quantile=args.quantile,
                      stat=args.stat, limit=args.limit, control_seed=args.control_seed)

    def lines(r: dict) -> list[str]:
        head = f"{'source':>12} {'cell':>5} {'auroc':>7} {'mean_diff':>9} {'iou':>7} {'control':>7} {'select.':>7}"
        return [head] + [f"{c['source']:>12} {c['cell']:>5} {_fmt(c['auroc']):>7} {_fmt(c['mean_diff']):>9} "
                         f"{_fmt(c['iou']):>7} {_fmt(c['control_stat']):>7} {_fmt(c['selectivity']):>7}"
                         for c in r["cells"]]

    _print(args, dict(res), lines)


def _read_spans(path: Path | None) -> list[tuple[int, int]] | None:
    """A CSV with columns start,length (a header line naming them)."""
    import csv

    if path is None:
        return None
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        return [(int(r["start"]), int(r["length"])) for r in rows]
    except OSError as e:
        raise LstmvisError(f"cannot read spans file {str(path)!r}: {e.strerror}") from None
    except (KeyError, TypeError, ValueError):
        raise LstmvisError(f"spans file {str(path)!r} needs integer columns start,length") from None


def _cmd_profile(args: argparse.Namespace) -> None:
    from lstmvis_db.api import open as open_project

    with open_project(args.db) as p:
        res = p.profile(args.source, args.cell, threshold=args.threshold, track=args.track, label=args.label,
                        docs=args.docs, range=args.range, spans=_read_spans(args.spans), top=args.top,
                        gap=args.gap, bins=args.bins)

    def lines(r: dict) -> list[str]:
        out = [(f"{r['source']} cell {r['cell']}: {r['count']} positions, mean {r['mean']:.4f}, std {r['std']:.4f}, "
               f"on-rate {_fmt(r['on_rate'])}"),
               "quantiles " + "  ".join(f"{k}: {v:.4f}" for k, v in r["quantiles"].items())]
        for name in ("top", "bottom"):
            out += [f"{name} {c['pos']:>8} {c['value']:+.4f}  {c['text']!r}" for c in r[name]]
        return out

    _print(args, res, lines)


def _cmd_coactivation(args: argparse.Namespace) -> None:
    from lstmvis_db.api import open as open_project

    with open_project(args.db) as p:
        res = p.coactivation(args.source, args.cells, threshold=args.threshold, quantile=args.quantile,
                             lag=args.lag, limit=args.limit, docs=args.docs, range=args.range)

    def lines(r: dict) -> list[str]:
        return [f"{'a':>5} {'b':>5} {'lift':>8} {'pmi':>8} {'phi':>8}"] + [
            f"{x['a']:>5} {x['b']:>5} {_fmt(x['lift']):>8} {_fmt(x['pmi']):>8} {_fmt(x['phi']):>8}"
            for x in r["pairs"]]

    _print(args, res, lines)


def _cmd_explain(args: argparse.Namespace) -> None:
    from lstmvis_db.api import open as open_project

    tracks = [t for t in args.tracks.split(",") if t] if args.tracks else None
    with open_project(args.db) as p:
        res = p.explain(args.source, args.cells, threshold=args.threshold, quantile=args.quantile,
                        tracks=tracks, max_terms=args.terms, beam=args.beam, shifts=args.shifts)

    def lines(r: dict) -> list[str]:
        rows = [r["best"], *r["alternatives"]] if r["best"] else []
        return [f"{r['target']} positions with every cell on; {r['primitives']} primitives"] + [
            f"IoU {x['iou']:.4f}  precision {x['precision']:.4f}  recall {x['recall']:.4f}  {x['formula']}"
            for x in rows]

    _print(args, res, lines)


def _db_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", required=True, type=Path, help="project file (.duckdb)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def _query(p: argparse.ArgumentParser, cells_help: str) -> None:
    """--db, --json, --source, --cells and --threshold | --quantile of coactivation and explain."""
    _db_json(p)
    p.add_argument("--source", required=True)
    p.add_argument("--cells", required=True, type=int_list(0), help=cells_help)
    _on_at(p, required=True)


def _on_at(p: argparse.ArgumentParser, required: bool) -> None:
    g = p.add_mutually_exclusive_group(required=required)
    g.add_argument("--threshold", type=_number, default=None)
    g.add_argument("--quantile", type=_number, default=None, help="on at each cell's own q-quantile")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``cells``, ``profile`` and ``coactivation`` on the CLI's sub-parsers."""
    p = sub.add_parser("profile", help="one cell's distribution, on-rates and top contexts under a filter")
    _db_json(p)
    p.add_argument("--source", required=True)
    p.add_argument("--cell", required=True, type=int)
    p.add_argument("--threshold", type=_number, default=None)
    p.add_argument("--track", default=None, help="filter: positions with --label on this track")
    p.add_argument("--label", default=None)
    p.add_argument("--docs", type=int_list(0), default=None, help="filter: comma-separated documents")
    p.add_argument("--range", type=_range, default=None, help="filter: positions A:B inclusive")
    p.add_argument("--spans", type=Path, default=None, help="filter: CSV of spans (columns start,length)")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--gap", type=int, default=5)
    p.add_argument("--bins", type=int, default=30)
    p.set_defaults(handler=_cmd_profile)

    p = sub.add_parser("coactivation", help="lift, PMI and phi of query cells with every other cell")
    _query(p, "comma-separated query cells")
    p.add_argument("--lag", type=int, default=None, help="b on within (pos, pos+K] of the same document")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--docs", type=int_list(0), default=None, help="filter: comma-separated documents")
    p.add_argument("--range", type=_range, default=None, help="filter: positions A:B inclusive")
    p.set_defaults(handler=_cmd_coactivation)

    p = sub.add_parser("explain", help="the label formula (<= 3 terms) that best matches the cells' on-set")
    _query(p, "comma-separated cells (their joint on-set is explained)")
    p.add_argument("--tracks", default=None, help="comma-separated categorical tracks (default: all)")
    p.add_argument("--terms", type=int, default=3, help="at most this many label primitives (1-3)")
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--shifts", action=argparse.BooleanOptionalAction, default=True,
                   help="also primitives at the previous / next position")
    p.set_defaults(handler=_cmd_explain)

    p = sub.add_parser("cells", help="rank cells by how well they track a label (selectivity)")
    _db_json(p)
    p.add_argument("--source", required=True, help="a source, or 'all'")
    p.add_argument("--track", required=True, help="a categorical track")
    p.add_argument("--label", required=True)
    _on_at(p, required=False)
    p.add_argument("--stat", choices=["auroc", "mean_diff", "iou"], default="auroc")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--control-seed", type=int, default=0, help="seed of the token-type control task")
    p.set_defaults(handler=_cmd_cells)
