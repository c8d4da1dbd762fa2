"""Plain reads of an open project (docs/data-model.md §Public tables): tokens, tracks,
annotations and predictions, text search and the project's info.  Each is a small typed
function with bound parameters.  ``queries`` re-exports them (``queries.tokens`` and so on);
this module needs only the :class:`~lstmvis_db.queries.Catalog` it is handed, so it imports
nothing of ``queries`` at run time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from lstmvis_db.checks import check_int
from lstmvis_db.errors import QueryError
from lstmvis_db.types import InfoResult, SearchHit

if TYPE_CHECKING:
    from lstmvis_db.queries import Catalog

MAX_RESULTS = 100_000  # matches or hits one call returns at most


def count_rows(cur: duckdb.DuckDBPyConnection, table: str) -> int:
    """Rows of one of the project's own tables (``table`` is a fixed name, never user text)."""
    row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------- tokens, tracks


def tokens(cat: Catalog, lo: int, hi: int) -> pd.DataFrame:
    """Columns pos, doc, token for positions lo..hi."""
    with cat.cursor() as cur:
        return cur.execute("SELECT pos, doc, token FROM tokens WHERE pos BETWEEN $lo AND $hi ORDER BY pos",
                           {"lo": check_int(lo, "lo"), "hi": check_int(hi, "hi")}).df()


def tracks(cat: Catalog) -> pd.DataFrame:
    """Columns track, kind, description, min, max, categories (list, categorical only)."""
    with cat.cursor() as cur:
        return cur.execute(
            """SELECT t.track, t.kind, t.description, t.min, t.max,
                      (SELECT list(category ORDER BY ord) FROM _idx.track_categories c WHERE c.track = t.track)
                      AS categories
               FROM tracks t ORDER BY t.track"""
        ).df()


def track_annotations(cat: Catalog, track: str, positions: np.ndarray) -> pd.DataFrame:
    """Columns pos, label, value of one track at the given positions (missing ones absent)."""
    want = pa.table({"pos": np.asarray(positions, dtype=np.int32)})
    with cat.cursor() as cur:
        cur.register("_want", want)
        return cur.execute(
            "SELECT a.pos, a.label, a.value FROM annotations a SEMI JOIN _want USING (pos) "
            "WHERE a.track = $track ORDER BY a.pos",
            {"track": track},
        ).df()


def predictions(cat: Catalog, track: str, lo: int, hi: int) -> pd.DataFrame:
    """Columns pos, rank, token, score of a top-k track over lo..hi."""
    with cat.cursor() as cur:
        return cur.execute(
            "SELECT pos, rank, token, score FROM predictions WHERE source = $t AND pos BETWEEN $lo AND $hi "
            "ORDER BY pos, rank",
            {"t": track, "lo": check_int(lo, "lo"), "hi": check_int(hi, "hi")},
        ).df()


# --------------------------------------------------------------------------- search


@dataclass
class _Text:
    tokens: list[str]
    text: str
    offsets: np.ndarray  # char offset where each token starts (len N + 1)
    joiner: str


def token_text(cat: Catalog) -> _Text:
    """The project's text (tokens joined, with each token's offset), built once per catalog."""
    if "text" not in cat._cache:
        with cat.cursor() as cur:
            toks = cur.execute("SELECT token FROM tokens ORDER BY pos").fetchnumpy()["token"]
        toks = [str(t) for t in toks]
        single = sum(len(t) == 1 for t in toks) >= 0.9 * len(toks)
        joiner = "" if single else " "
        lens = np.fromiter((len(t) + len(joiner) for t in toks), dtype=np.int64, count=len(toks))
        offsets = np.concatenate([[0], np.cumsum(lens)])
        cat._cache["text"] = _Text(toks, joiner.join(toks) + joiner, offsets, joiner)
    return cat._cache["text"]


def token_joiner(cat: Catalog) -> str:
    """What :func:`token_text` joins tokens with ("" for character tokens, else a blank), without
    reading every token into Python: one aggregate in DuckDB, kept per catalog."""
    if "text" in cat._cache:
        return cat._cache["text"].joiner
    if "joiner" not in cat._cache:
        with cat.cursor() as cur:
            row = cur.execute("SELECT count(*) FILTER (WHERE length(token) = 1), count(*) FROM tokens").fetchone()
        single, total = row if row is not None else (0, 0)
        cat._cache["joiner"] = "" if single >= 0.9 * total else " "
    return cat._cache["joiner"]


def token_range(cat: Catalog, lo: int, hi: int) -> list[str]:
    """The tokens at positions lo..hi, in order (from the cached text when it is there)."""
    if "text" in cat._cache:
        return cat._cache["text"].tokens[lo:hi + 1]
    with cat.cursor() as cur:
        rows = cur.execute("SELECT token FROM tokens WHERE pos BETWEEN ? AND ? ORDER BY pos",
                           [int(lo), int(hi)]).fetchall()
    return [str(r[0]) for r in rows]


def search(cat: Catalog, phrase: str | None = None, regex: str | None = None, limit: int = 50,
           context: int = 5) -> list[SearchHit]:
    """Positions where a phrase (case-insensitive, whole tokens) or a regex matches the text.

    The text is the tokens joined by spaces (word tokens) or concatenated (character tokens).
    Returns dicts: pos, length (tokens), doc, match (the matched tokens), left, right (context).
    """
    if (phrase is None) == (regex is None):
        raise QueryError("give exactly one of phrase or regex")
    limit, context = check_int(limit, "limit", 1, MAX_RESULTS), check_int(context, "context", 0, 1000)
    if not isinstance(phrase if phrase is not None else regex, str):
        raise QueryError(f"the search {'phrase' if phrase is not None else 'regex'} must be text")
    tx = token_text(cat)
    if phrase is not None:
        if not phrase.strip():
            raise QueryError("empty search phrase")
        words = phrase.split() if tx.joiner else [phrase]
        text = r"\s+".join(re.escape(w) for w in words) if tx.joiner else re.escape(phrase)
        pattern = re.compile(text, re.IGNORECASE)
    else:
        try:
            pattern = re.compile(regex)  # type: ignore[arg-type]
        except re.error as e:
            raise QueryError(f"invalid regex {regex!r}: {e}") from None
    out: list[SearchHit] = []
    offs = tx.offsets
    for mt in pattern.finditer(tx.text):
        if mt.end() == mt.start():
            continue
        first = int(np.searchsorted(offs, mt.start(), side="right") - 1)
        last = int(np.searchsorted(offs, mt.end() - 1, side="right") - 1)
        if phrase is not None and tx.joiner and (offs[first] != mt.start() or offs[last + 1] - 1 != mt.end()):
            continue
        doc = cat.doc_of(first)
        if cat.doc_of(last) != doc:
            continue
        lo = max(int(cat.doc_first[doc]), first - context)
        hi = min(int(cat.doc_last[doc]), last + context)
        toks = tx.tokens[lo:hi + 1]
        out.append({
            "pos": first, "length": last - first + 1, "doc": doc,
            "left": toks[: first - lo], "match": toks[first - lo: last - lo + 1], "right": toks[last - lo + 1:],
        })
        if len(out) >= limit:
            break
    return out


# --------------------------------------------------------------------------- info


def info(cat: Catalog) -> InfoResult:
    """The dict of ``info --json``."""
    with cat.cursor() as cur:
        meta = dict(cur.execute("SELECT key, value FROM project").fetchall())
        n_docs = count_rows(cur, "documents")
        trk = cur.execute("SELECT track, kind FROM tracks ORDER BY track").fetchall()
    return {
        "name": meta.get("name", ""),
        "description": meta.get("description", ""),
        "tokens": cat.n_positions,
        "documents": n_docs,
        "sources": [
            {"source": s.source, "n_cells": s.n_cells, "layer": s.layer, "kind": s.kind, "transform": s.transform,
             "value_dtype": s.value_dtype}
            for s in cat.sources.values()
        ],
        "tracks": [{"track": t, "kind": k} for t, k in trk],
        "extraction": {k.removeprefix("extract."): v for k, v in sorted(meta.items()) if k.startswith("extract.")},
    }


def project_meta(cat: Catalog) -> dict[str, str]:
    with cat.cursor() as cur:
        return dict(cur.execute("SELECT key, value FROM project").fetchall())
