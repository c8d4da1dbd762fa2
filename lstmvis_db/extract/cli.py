"""``lstmvis-db extract`` and ``lstmvis-db add-track`` (registered by ``lstmvis_db.cli``).

Both follow the contract's CLI conventions: ``--json`` prints exactly one JSON document on
stdout, progress goes to stderr, errors are raised as ``LstmvisError`` for the main program
to print as one line.  Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
from pathlib import Path
from typing import Any

from lstmvis_db.errors import InputError

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


def parse_layers(text: str) -> list[int] | None:
    """``all`` -> None; ``1,3-5`` -> [1, 3, 4, 5]."""
    if text.strip().lower() == "all":
        return None
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        try:
            if m:
                a, b = int(m.group(1)), int(m.group(2))
                if b < a:
                    raise ValueError
                out.extend(range(a, b + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"layers must be 'all' or a list like 1,3-5, got {text!r}"
            ) from None
    if not out:
        raise argparse.ArgumentTypeError(f"no layer in {text!r}")
    return out


def parse_kinds(text: str) -> list[str] | None:
    """``all`` -> None; ``hidden,cell`` -> ["hidden", "cell"]."""
    if text.strip().lower() == "all":
        return None
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    if not kinds:
        raise argparse.ArgumentTypeError(f"no kind in {text!r}")
    return kinds


def unescape(text: str) -> str:
    r"""Turn ``\n``, ``\t``, ``\r`` and ``\\`` typed on a command line into the characters."""
    return re.sub(r"\\([ntr\\])", lambda m: _ESCAPES[m.group(1)], text)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return v


def _reset(text: str) -> int | str:
    if text.strip().lower() == "doc":
        return "doc"
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'doc' or a number of tokens, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return v


def add_parser(subparsers: Any) -> None:
    """Register ``extract`` on the main program's sub-parsers."""
    from lstmvis_db.extract.driver import DEFAULT_CHUNK, DEFAULT_MAX_GB, DEFAULT_TOPK, DEFAULT_WINDOW_GB

    p = subparsers.add_parser(
        "extract",
        help="run a model over text files and write a new project",
        description=(
            "Run a PyTorch, Keras or transformers model over texts and write every layer's "
            "states as a new project. --model is a transformers folder, a .gguf file, a "
            "packaged model name (smollm2-135m, all-minilm-l6-v2), a Keras .h5 weight file "
            "(with --vocab) or a PyTorch factory path/to/file.py:function. Transformers see full context: each "
            "position is computed with every earlier token of its document up to the model's maximum context "
            "(cut to what one forward pass within --window-gb holds, or to --chunk); longer documents go in "
            "sliding windows advancing by --stride (default half a window, i.e. an overlap of half a window: "
            "every position past the first window sees at least that many earlier tokens). The track 'context' "
            "stores how many tokens each position had in view; `info` shows every setting."
        ),
    )
    p.set_defaults(handler=cmd_extract)
    p.add_argument("--model", required=True, help="model folder, .gguf, .h5, file.py:function or packaged name")
    p.add_argument("--text", nargs="+", type=Path, help="text files or folders (UTF-8)")
    p.add_argument("--db", type=Path, help="the project file to create (.duckdb)")
    p.add_argument("--layers", type=parse_layers, default=None, help="e.g. 1,3-5 (default: all)")
    p.add_argument("--kinds", type=parse_kinds, default=None, help="e.g. hidden,cell,mlp (default: all)")
    p.add_argument("--documents", choices=("by-file", "by-line", "by-separator"), default="by-file")
    p.add_argument("--separator", default="\\n\\n", help=r"for by-separator (default '\n\n'; \n \t escapes)")
    p.add_argument("--chunk", type=int, default=None,
                   help=f"recurrent: tokens per call (default {DEFAULT_CHUNK}); transformers: a window shorter than "
                   "the full context (default: the model's maximum context)")
    p.add_argument("--stride", type=int, default=None,
                   help="transformers: new tokens per sliding window past the first (default half a window; "
                   "overlap = window - stride)")
    p.add_argument("--window-gb", type=_positive_float, default=DEFAULT_WINDOW_GB,
                   help=f"transformers: memory one forward pass may take; bounds the window and the batch "
                   f"(default {DEFAULT_WINDOW_GB:g})")
    p.add_argument("--reset-every", type=_reset, default="doc", metavar="N|doc",
                   help="recurrent: state from zeros at each document (doc, the default) or also every N tokens")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                   help="transformers: where to run (auto: CUDA, else MPS, else CPU)")
    p.add_argument("--dtype", choices=("float32", "bfloat16", "float16", "auto"), default="float32",
                   help="transformers: weights and states dtype (float32 gives the exact states; auto: float32 on "
                   "the CPU, bfloat16/float16 on a GPU)")
    p.add_argument("--topk-head", choices=("auto", "bf16", "float32"), default="auto",
                   help="transformers: top-k predictions' precision. bf16: a bfloat16 screen of every logit "
                   "(float32 accumulation), the best k+8 rescored in float32, so ids and their logits are exact and "
                   "probabilities within about 0.5%%; float32: all in float32. auto (default): bf16 where it is fast "
                   "(CUDA, CPUs with AMX/AVX512-BF16), else float32")
    p.add_argument("--glob", help="inside --text folders, read only files matching this pattern (e.g. '*.txt')")
    p.add_argument("--topk", type=int, default=DEFAULT_TOPK, help="next-token predictions to keep (0 = none)")
    p.add_argument("--value-dtype", choices=("float32", "float16"), default="float32",
                   help="store values as float32 (exact) or float16 (rounded at ingest; docs/data-model.md §Storage)")
    p.add_argument("--max-gb", type=_positive_float, default=DEFAULT_MAX_GB,
                   help="refuse when tokens x cells x 4 bytes exceeds this (GB)")
    p.add_argument("--vocab", type=Path, help="Keras: vocabulary (JSON token->id or one token a line)")
    p.add_argument("--tokenize", choices=("auto", "char", "word"), default="auto", help="Keras: tokenization")
    p.add_argument("--recurrent-activation", choices=("sigmoid", "hard_sigmoid"), default="sigmoid",
                   help="Keras: gate activation when the file does not say")
    p.add_argument("--cudnn-layout", choices=("raw", "keras"), default="raw", help="Keras CuDNNLSTM kernel layout")
    p.add_argument("--tokenizer", type=Path, help="transformers: load the tokenizer from this folder")
    p.add_argument("--cache", type=Path, help="GGUF: keep a plain float32 copy here for fast reloads")
    p.add_argument("--name", help="project name (default: the file name)")
    p.add_argument("--model-name", help="model name recorded in the project")
    p.add_argument("--list-sources", action="store_true", help="print the model's sources and exit")
    p.add_argument("--sae", type=Path, default=None,
                   help="also store this SAE's latents (SAELens layout: cfg.json + sae_weights.safetensors) over "
                        "the extracted source of its width, as a sparse source")
    p.add_argument("--sae-source", default=None, help="the extracted source the SAE reads (when several fit)")
    p.add_argument("--sae-name", default=None, help="name of the SAE's source (default: SOURCE::sae<d_sae>)")
    p.add_argument("--sae-topk", type=int, default=None, help="keep only the K largest latents per position")
    p.add_argument("--force", action="store_true", help="replace an existing project file")
    p.add_argument("--quiet", action="store_true", help="no progress bars or log lines (transformers' included)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def add_track_parser(subparsers: Any) -> None:
    """Register ``add-track`` on the main program's sub-parsers."""
    p = subparsers.add_parser(
        "add-track",
        help="add an annotation track from a CSV/Parquet file of (pos, label|value)",
    )
    p.set_defaults(handler=cmd_add_track)
    p.add_argument("--db", required=True, type=Path, help="project file (.duckdb)")
    p.add_argument("--file", required=True, type=Path, help="CSV or Parquet with pos and label or value")
    p.add_argument("--track", required=True, help="track name")
    p.add_argument("--kind", choices=("categorical", "scalar"), default=None,
                   help="default: categorical for a label column, scalar for a value column")
    p.add_argument("--description", default="", help="track description")
    p.add_argument("--replace", action="store_true", help="replace a track of the same name")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def _emit(args: argparse.Namespace, result: dict[str, Any], text: str) -> None:
    print(json.dumps(result, ensure_ascii=False) if args.json else text)


def cmd_extract(args: argparse.Namespace) -> None:
    """Run ``extract`` (SIGTERM ends it like Ctrl-C: temporary files are removed)."""
    from lstmvis_db.extract.phases import terminate_cleanly

    with terminate_cleanly():
        _extract(args)


def _extract(args: argparse.Namespace) -> None:
    from lstmvis_db.extract.driver import extract_project
    from lstmvis_db.extract.models import load_model
    from lstmvis_db.progress import log_lines_to_stderr

    if not args.list_sources:
        if not args.text:
            raise InputError("extract needs --text FILE_OR_DIR ...")
        if args.db is None:
            raise InputError("extract needs --db OUT.duckdb")
        if args.db.exists() and not args.force:
            raise InputError(f"{args.db}: already exists (pass --force to replace it)")
    sae = None
    if args.sae is not None and not args.list_sources:  # its files checked before the model loads
        from lstmvis_db.sae.apply import SaeRequest
        from lstmvis_db.sae.model import load as load_sae

        sae = SaeRequest(load_sae(args.sae), args.sae_source, args.sae_name, args.sae_topk)
    elif args.sae is None and (args.sae_source or args.sae_name or args.sae_topk):
        raise InputError("--sae-source, --sae-name and --sae-topk go with --sae DIR")
    adapter = load_model(
        args.model,
        vocab=args.vocab,
        tokenizer=args.tokenizer,
        tokenize=args.tokenize,
        recurrent_activation=args.recurrent_activation,
        cudnn_layout=args.cudnn_layout,
        cache_dir=args.cache,
        name=args.model_name,
        device=args.device,
        dtype=args.dtype,
        layers=None if args.list_sources else args.layers,
        kinds=None if args.list_sources else args.kinds,
        quiet=args.quiet,
        topk_head=args.topk_head,
    )
    if args.list_sources:
        specs = [
            {"source": s.source, "layer": s.layer, "kind": s.kind, "n_cells": s.n_cells,
             "description": s.description}
            for s in adapter.sources()
        ]
        lines = [f"{s['source']:<18} layer {s['layer']:>3}  {s['kind']:<15} {s['n_cells']:>6} cells"
                 for s in specs]
        _emit(args, {"model": adapter.model, "sources": specs}, "\n".join(lines))
        return
    with log_lines_to_stderr() if not args.quiet else contextlib.nullcontext():
        summary = extract_project(
            adapter,
            list(args.text),
            args.db,
            layers=args.layers,
            kinds=args.kinds,
            documents=args.documents,
            separator=unescape(args.separator),
            chunk=args.chunk,
            stride=args.stride,
            topk=args.topk,
            max_gb=args.max_gb,
            window_gb=args.window_gb,
            reset_every=args.reset_every,
            glob=args.glob,
            name=args.name,
            overwrite=args.force,
            progress=not args.quiet,
            value_dtype=args.value_dtype,
            sae=sae,
        )
    r = summary.as_dict()
    _emit(
        args,
        r,
        f"wrote {r['db']}: {r['tokens']} tokens, {r['documents']} documents, "
        f"{len(r['sources'])} sources, {len(r['tracks'])} tracks in {r['seconds']:.1f} s",
    )


def cmd_add_track(args: argparse.Namespace) -> None:
    """Run ``add-track``."""
    from lstmvis_db.extract.tracks import add_track

    r = add_track(args.db, args.file, args.track, args.kind, args.description, args.replace)
    _emit(args, r, f"added {r['kind']} track {r['track']!r} to {r['db']}: {r['annotated']} positions")
