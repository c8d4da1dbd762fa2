"""``lstmvis-db align``: the sub-command's arguments (argparse only; the handler loads the rest)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lstmvis_db.cli import MAX_RESULTS
from lstmvis_db.cliargs import finite, int_list, whole

#: the hypothesis and the match options of ``match`` (docs/semantics.md §Command line), as (flag, argparse keywords)
HYPOTHESIS_ARGS: tuple[tuple[str, dict], ...] = (
    ("--source", {}),
    ("--cells", {"type": int_list(0), "help": "comma-separated cell ids"}),
    ("--threshold", {"type": finite}),
    ("--constrain-left", {"action": argparse.BooleanOptionalAction, "default": True}),
    ("--constrain-right", {"action": argparse.BooleanOptionalAction, "default": False}),
    ("--length", {"type": whole(0), "default": 0, "help": "phrase length filter (0 = any)"}),
    ("--limit", {"type": whole(1, MAX_RESULTS), "default": 50}),
    ("--pool", {"type": whole(1), "default": None, "help": "bounded mode: keep the first K candidates"}),
)


def add_hypothesis_args(p: argparse.ArgumentParser) -> None:
    """--source, --cells, --threshold (checked by the handler) and the match options."""
    for flag, kw in HYPOTHESIS_ARGS:
        p.add_argument(flag, **kw)


def _list(text: str | None) -> list[str] | None:
    return None if text is None else [x.strip() for x in text.split(",") if x.strip()]


def _text(r: dict) -> str:
    lines = [f"{r['spans']} spans ({r['set']})"]
    if r.get("thresholds"):
        lines.append("thresholds: " + ", ".join(f"cell {c} >= {t:.4g}" for c, t in r["thresholds"].items()))
    for t in r["tests"][:20]:
        lift = "-" if t["lift"] is None else f"{t['lift']:.2f}x"
        lg = "-inf" if t["log10_p"] is None else f"{t['log10_p']:.1f}"
        lines.append(f"  {t['track']}={t['label']} {t['condition']}: {t['hits']}/{r['spans']} "
                     f"(expected {t['expected']:.2f}, {lift}) log10 p {lg} q {t['q']:.3g}")
    if r["cell_null"]:
        c = r["cell_null"]
        lines.append(f"cell-set null: {c['statistic']} observed {c['observed']} p {c['p']:.3g} "
                     f"(K {c['k']}, seed {c['seed']})")
    return "\n".join(lines)


def _handler(args: argparse.Namespace) -> None:
    from lstmvis_db.api import open as open_project
    from lstmvis_db.errors import LstmvisError

    if args.spans is None and (args.source is None or args.cells is None
                               or (args.threshold is None) == (args.quantile is None)):
        raise LstmvisError("give --source, --cells and --threshold or --quantile (one of them), or --spans FILE")

    def say(seconds: float) -> None:
        print(f"cell-set null: about {seconds:.1f} s for {args.null_cells} random cell sets", file=sys.stderr)

    from lstmvis_db.parquet import align_cli  # --sql, --parquet: docs/sql.md, docs/scale.md

    other = align_cli.answer(args)
    if other is not None:
        print(other if isinstance(other, str) else json.dumps(other, ensure_ascii=False) if args.json else _text(other))
        return
    with open_project(args.db) as p:
        res = p.align(args.source, args.cells, args.threshold,
                      args.constrain_left, args.constrain_right, args.length, args.pool, set=args.set,
                      limit=args.limit, spans=args.spans, tracks=_list(args.tracks),
                      conditions=_list(args.conditions), null_cells=args.null_cells, seed=args.seed,
                      null_label=args.null_label, on_estimate=say, quantile=args.quantile)
    print(json.dumps(res, ensure_ascii=False) if args.json else _text(res))


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("align", help="what the matches have in common with the annotation tracks")
    from lstmvis_db.parquet.align_cli import add_where_args  # argparse only

    add_where_args(p)  # --db FILE | --parquet DIR [--engine], --sql
    p.add_argument("--json", action="store_true", help="print one JSON document")
    add_hypothesis_args(p)
    p.add_argument("--quantile", type=finite, default=None,
                   help="instead of --threshold: each cell on at its own q-quantile (0 < q < 1)")
    p.add_argument("--set", choices=["top", "all", "strict"], default="top")
    p.add_argument("--spans", type=Path, default=None, help="CSV or Parquet with columns start,length")
    p.add_argument("--tracks", default=None, help="comma-separated tracks (default: all)")
    p.add_argument("--conditions", default=None, help="contains,covers,starts,ends (default: all)")
    p.add_argument("--null-cells", type=int, default=None, help="cell-set null: K random cell sets")
    p.add_argument("--seed", default="0", help="seed of the cell-set null (an integer)")
    p.add_argument("--null-label", default=None, help="null statistic TRACK=LABEL[:condition] (default: best lift)")
    p.set_defaults(handler=_handler)
