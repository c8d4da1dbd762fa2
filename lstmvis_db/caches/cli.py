"""``lstmvis-db import-cache`` (registered by ``lstmvis_db.cli``): argparse only at import; the
handler imports the reader.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def cmd_import_cache(args: argparse.Namespace) -> None:
    from lstmvis_db.caches import import_cache

    data = import_cache(args.cache, args.db, tokenizer=args.tokenizer, vocab=args.vocab, text=args.text,
                        columns=args.columns or None, tokens_column=args.tokens_column, name=args.name,
                        model_name=args.model_name or "", value_dtype=args.value_dtype,
                        progress=not args.quiet)
    sources = [s.source for s in data.sources]
    result = {"db": str(args.db), "tokens": len(data.tokens), "documents": len(data.documents or ()),
              "sources": sources}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"wrote {result['db']}: {result['tokens']} tokens in {result['documents']} rows, "
              f"sources {', '.join(sources)}")


def add_parser(subparsers: Any) -> None:
    """Register ``import-cache`` on the main program's sub-parsers."""
    from lstmvis_db.cliargs import output_db

    p = subparsers.add_parser(
        "import-cache", help="import an activation cache (Parquet or a datasets save_to_disk folder)",
        description=(
            "Import activations others cached, in SAELens' layout: a .parquet file or folder, or a Hugging Face "
            "datasets save_to_disk folder (read with pyarrow; datasets is not needed). Every row is one context "
            "(one document): a token_ids column and one column per hook holding a tokens x d_in array; each "
            "activation column becomes a source. The whole cache is checked first (token alignment, one d_in, "
            "finite values) and nothing is written when anything is wrong."),
    )
    p.set_defaults(handler=cmd_import_cache)
    p.add_argument("cache", type=Path, help="a .parquet file, a folder of them, or a save_to_disk folder")
    p.add_argument("--out", "--db", dest="db", required=True, type=output_db, help="the project file to write")
    p.add_argument("--tokenizer", type=Path, help="tokenizer.json (or its folder) to decode the token ids "
                   "(needs the tokenizers library)")
    p.add_argument("--vocab", type=Path, help="or a vocabulary file: JSON {token: id} or a list, or one token a line")
    p.add_argument("--text", type=Path, help="the text the cache was made from: with --tokenizer, its encoding must "
                   "give the cache's token ids (special tokens skipped); tokens then show the text's characters")
    p.add_argument("--columns", nargs="+", help="activation columns to import (default: all)")
    p.add_argument("--tokens-column", default="token_ids", help="the token id column (default token_ids)")
    p.add_argument("--name", help="project name (default: the cache's file or folder name)")
    p.add_argument("--model-name", help="model name recorded with the sources")
    p.add_argument("--value-dtype", choices=("float32", "float16"), default="float32",
                   help="store values as float32 (exact) or float16 (rounded at ingest; docs/data-model.md §Storage)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print one JSON document")
