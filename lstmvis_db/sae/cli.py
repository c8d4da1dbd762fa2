"""``lstmvis-db sae PROJECT --source S --sae DIR``: add an SAE's latents as a sparse source
(argparse only at import; the handler imports the SAE code)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _handler(args: argparse.Namespace) -> None:
    from lstmvis_db.sae.apply import apply_sae

    res = apply_sae(args.project, args.source, args.sae, name=args.name, topk=args.topk, replace=args.replace,
                    progress=not args.json and sys.stderr.isatty())
    if args.json:
        print(json.dumps(res))
    else:
        print(f"added sparse source {res['source']!r}: {res['n_cells']} latents ({res['architecture']}), "
              f"{res['entries']:,} non-zero entries ({100 * res['density']:.3g}% of positions x latents)")


def _positive(text: str) -> int:
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if k < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return k


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sae", help="apply a sparse autoencoder to a source: its latents as a new sparse source")
    p.add_argument("project", type=Path, help="project file (.duckdb), changed in place (atomically)")
    p.add_argument("--source", required=True, help="the dense source of activations the SAE reads")
    p.add_argument("--sae", type=Path, required=True,
                   help="SAE directory in SAELens' layout: cfg.json + sae_weights.safetensors")
    p.add_argument("--name", default=None, help="name of the new source (default: SOURCE::sae<d_sae>)")
    p.add_argument("--topk", type=_positive, default=None,
                   help="keep only the K largest latents per position (a topk SAE: instead of its k)")
    p.add_argument("--replace", action="store_true", help="replace a source of the same name")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=_handler)
