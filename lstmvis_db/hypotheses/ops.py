"""Save, list, re-run, delete and export hypotheses of an open project (docs/analysis.md §Saved hypotheses)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TypedDict

from lstmvis_db import queries, store
from lstmvis_db.errors import LstmvisError, QueryError
from lstmvis_db.hypotheses.workspace import Workspace, content_hash
from lstmvis_db.queries import Catalog
from lstmvis_db.types import MatchRow

CHANGED = "the project has changed since the hypothesis was saved"


class RunResult(TypedDict):
    name: str
    same: bool
    matches: list[MatchRow]


class Export(TypedDict):
    hypothesis: dict
    matches: list[dict]
    sql: str
    workspace: str


def check_name(name: object) -> str:
    text = str(name or "").strip()
    if not text or len(text) > 200 or any(ord(ch) < 32 for ch in text):
        raise QueryError(f"a hypothesis name must be 1-200 printable characters, got {name!r}")
    return text


def save(cat: Catalog, ws: Workspace, name: str, source: str, cells: list[int], threshold: float,
         constrain_left: bool = True, constrain_right: bool = False, length: int = 0, limit: int = 50,
         pool: int | None = None, brush: tuple[int, int] | None = None, padding: tuple[int, int] = (1, 0),
         replace: bool = False) -> dict:
    """Match the hypothesis and store it with its matches; returns the stored row."""
    name = check_name(name)
    if brush is not None:
        brush = queries.check_range(cat, brush[0], brush[1])
    pad = [int(x) for x in padding]
    if len(pad) != 2 or min(pad) < 0:
        raise QueryError(f"padding must be two integers >= 0, got {padding!r}")
    res = queries.match(cat, source, cells, threshold, constrain_left, constrain_right, length, limit, pool)
    row = {
        "name": name, "project_path": str(Path(cat.path).resolve()), "project_hash": content_hash(cat),
        "source": source, "cells": sorted({int(c) for c in cells}), "threshold": float(threshold),
        "quantile": None, "pad_left": pad[0], "pad_right": pad[1], "constrain_left": bool(constrain_left),
        "constrain_right": bool(constrain_right), "length": int(length), "pool": None if pool is None else int(pool),
        "limit": int(limit), "brush_start": None if brush is None else brush[0],
        "brush_end": None if brush is None else brush[1], "tool_version": store.VERSION,
        "created": dt.datetime.now(dt.UTC).replace(tzinfo=None),
    }
    ws.insert(row, res["matches"], replace=replace)
    return ws.get(name)


def run(cat: Catalog, ws: Workspace, name: str) -> RunResult:
    """Re-run a saved hypothesis on the open project: the same matches, or an error saying the
    project has changed."""
    h = ws.get(name)
    if content_hash(cat) != h["project_hash"]:
        raise LstmvisError(f"{CHANGED} (hypothesis {name!r}, saved for {h['project_path']})")
    try:
        res = queries.match(cat, h["source"], h["cells"], h["threshold"], h["constrain_left"], h["constrain_right"],
                            h["length"], h["limit"], h["pool"])
    except QueryError as e:
        raise LstmvisError(f"{CHANGED}: {e}") from None
    saved = ws.matches(name)
    if res["matches"] != saved:
        raise LstmvisError(f"{CHANGED}: its matches differ (hypothesis {name!r})")
    return {"name": name, "same": True, "matches": res["matches"]}


def reproduce_sql(name: str) -> str:
    lit = "'" + name.replace("'", "''") + "'"
    return ("-- the saved matches of this hypothesis, in rank order (workspace tables)\n"
            "SELECT m.rank, m.start, m.length, m.intersection, m.\"union\", m.jaccard, m.missing\n"
            "FROM hypothesis_matches m JOIN hypotheses h ON h.name = m.hypothesis\n"
            f"WHERE h.name = {lit}\nORDER BY m.rank")


def export(ws: Workspace, name: str) -> Export:
    h = ws.get(name)
    return {"hypothesis": h, "matches": ws.matches(name), "sql": reproduce_sql(name), "workspace": ws.path}
