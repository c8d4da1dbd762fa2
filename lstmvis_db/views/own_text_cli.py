"""The CLI's ``run-bundled`` sub-command: a bundled numpy LSTM (no torch) over one's own text files,
``lstmvis-db run-bundled --model parens --db out.duckdb a.txt [b.txt ...]``.

Light at import (argparse only); :mod:`lstmvis_db.views.own_text` loads when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``lstmvis-db run-bundled``."""
    from lstmvis_db.views.own_text import BUNDLED

    p = sub.add_parser("run-bundled", help="run a bundled numpy LSTM (" + ", ".join(BUNDLED) + ") on text files")
    p.add_argument("texts", nargs="+", type=Path, help="UTF-8 text files (one document each)")
    p.add_argument("--model", required=True, metavar="MODEL",
                   help="one of " + ", ".join(BUNDLED))
    p.add_argument("--db", required=True, type=Path, help="the project file to write (.duckdb)")
    p.add_argument("--by-blank-line", action="store_true", help="a document per block between blank lines")
    p.add_argument("--replace", action="store_true", help="replace an existing project file")
    p.add_argument("--max-tokens", type=int, default=500_000, help="refuse more tokens than this (default 500,000)")

    def handler(args: argparse.Namespace) -> None:
        from lstmvis_db.errors import InputError
        from lstmvis_db.views import own_text
        from lstmvis_db.views.new_project import decode_text

        texts = []
        for f in args.texts:
            try:
                texts.append(decode_text(f.name, f.read_bytes()))
            except OSError as e:
                raise InputError(f"{f}: cannot read ({e.strerror})") from e
        done = own_text.build_from_text(args.model, texts, args.db, max_tokens=args.max_tokens,
                                        by_blank_line=args.by_blank_line, replace=args.replace)
        print(f"{done['db']}: {done['tokens']:,} tokens, {done['documents']} documents, "
              f"{len(done['sources'])} sources")

    p.set_defaults(handler=handler)
