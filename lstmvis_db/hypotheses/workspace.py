"""The workspace file and the project content hash.

Workspace: ``--workspace`` / ``LSTMVIS_WORKSPACE`` / ``~/.local/share/lstmvis-db/workspace.duckdb``
(or ``:memory:`` for a session-only workspace).  Every statement binds its values.

Content hash (``content_hash``): sha256 over, in this order, the ``project`` metadata rows, the
``sources`` rows with their stored value range and quantisation step, the documents, a 64-bit
DuckDB hash sum and the count of (pos, doc, token, token_id) over all tokens, the annotation
rows' count and hash sum, and per source the row count and the hash of the value arrays at the
first and last 64 positions.  It changes when tokens, documents, tracks, metadata or the shape
or range of the states change; an edit of states in the middle that keeps their range is caught
by ``run`` instead, which re-matches and compares the matches.  It reads no states beyond 128
rows per source (milliseconds on a 1M-token project).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import duckdb
import pandas as pd

from lstmvis_db import store
from lstmvis_db.errors import InputError, QueryError
from lstmvis_db.queries import Catalog

PUBLIC_ENV = "LSTMVIS_PUBLIC"


def public_mode() -> bool:
    """True on a public deployment: hypotheses stay in the visitor's session and URL."""
    return os.environ.get(PUBLIC_ENV, "").strip() == "1"


def default_path() -> str:
    env = os.environ.get("LSTMVIS_WORKSPACE")
    if env:
        return env
    return str(Path.home() / ".local" / "share" / "lstmvis-db" / "workspace.duckdb")


def content_hash(cat: Catalog) -> str:
    h = hashlib.sha256()
    with cat.cursor() as cur:
        parts = [
            cur.execute("SELECT key, value FROM project WHERE key <> 'created' ORDER BY key").fetchall(),
            cur.execute("""SELECT s.source, s.n_cells, s.transform, i.min_value, i.max_value, i.q_step, i.q_zero
                           FROM sources s JOIN _idx.source_index i USING (source) ORDER BY s.source""").fetchall(),
            cur.execute("SELECT doc, name, first_pos, last_pos FROM documents ORDER BY doc").fetchall(),
            cur.execute("SELECT count(*), sum(hash(pos, doc, token, token_id)::HUGEINT) FROM tokens").fetchall(),
            cur.execute("SELECT count(*), sum(hash(track, pos, label, value)::HUGEINT) FROM annotations").fetchall(),
        ]
        for info in cat.sources.values():
            # sid is an integer from the project's own index, never user text
            if info.sparse:  # its entries (docs/data-model.md §Sparse sources and SAE features)
                parts.append(cur.execute(
                    f"""SELECT count(*), sum(hash(pos, unit, value)::HUGEINT) FILTER (WHERE pos < 64 OR pos >= $n - 64)
                        FROM _idx.sp_{info.sid}""", {"n": cat.n_positions}).fetchall())
                continue
            parts.append(cur.execute(
                f"""SELECT count(*), (SELECT sum(hash(pos, v)::HUGEINT) FROM _idx.rows_{info.sid}
                                      WHERE pos < 64 OR pos >= $n - 64) FROM _idx.rows_{info.sid}""",
                {"n": cat.n_positions}).fetchall())
    h.update(json.dumps(parts, default=str).encode())
    return h.hexdigest()


class Workspace:
    """One workspace DuckDB file (or ``:memory:``), created on first use."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else default_path()
        if self.path != ":memory:":
            try:
                Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise InputError(f"cannot create the workspace folder for {self.path!r}: {e}") from None
        try:
            self.con = duckdb.connect(self.path if self.path == ":memory:" else str(Path(self.path).expanduser()))
            self.con.execute(store.schema_statements()["workspace_tables"])
        except duckdb.Error as e:
            raise InputError(f"cannot open the workspace {self.path!r}: {str(e).splitlines()[0]}") from None

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exists(self, name: str) -> bool:
        row = self.con.execute("SELECT count(*) FROM hypotheses WHERE name = ?", [name]).fetchone()
        return bool(row and row[0] > 0)

    def insert(self, row: dict, matches: Sequence[Mapping[str, Any]], replace: bool = False) -> None:
        """One hypothesis and its matches, in one transaction (all or nothing)."""
        cols = list(row)
        self.con.execute("BEGIN TRANSACTION")
        try:
            if replace:
                self._delete(row["name"])
            elif self.exists(row["name"]):
                raise QueryError(f"a hypothesis named {row['name']!r} exists already "
                                 "(delete it or choose another name)")
            quoted = ", ".join(f'"{c}"' for c in cols)  # column names from the fixed dict above, not user text
            self.con.execute(f"INSERT INTO hypotheses ({quoted}) VALUES ({', '.join('?' * len(cols))})",
                             [row[c] for c in cols])
            if matches:
                df = pd.DataFrame([{"hypothesis": row["name"], "rank": i + 1, **m} for i, m in enumerate(matches)])
                self.con.register("_new_matches", df)
                self.con.execute(
                    """INSERT INTO hypothesis_matches SELECT hypothesis, rank, start, length, intersection, "union",
                       jaccard, missing FROM _new_matches""")
                self.con.unregister("_new_matches")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _delete(self, name: str) -> None:
        self.con.execute("DELETE FROM hypothesis_matches WHERE hypothesis = ?", [name])
        self.con.execute("DELETE FROM hypotheses WHERE name = ?", [name])

    def delete(self, name: str) -> None:
        self.get(name)
        self.con.execute("BEGIN TRANSACTION")
        self._delete(name)
        self.con.execute("COMMIT")

    def get(self, name: str) -> dict:
        df = self.con.execute("SELECT * FROM hypotheses WHERE name = ?", [name]).df()
        if df.empty:
            raise QueryError(f"no saved hypothesis named {name!r} in workspace {self.path!r}")
        return _plain(df.iloc[0].to_dict())

    def saved(self, project_path: str | None = None) -> list[dict]:
        df = self.con.execute(
            "SELECT * FROM hypotheses WHERE $p IS NULL OR project_path = $p ORDER BY created, name",
            {"p": project_path}).df()
        return [_plain(r) for r in df.to_dict("records")]

    def matches(self, name: str) -> list[dict]:
        df = self.con.execute(
            """SELECT start, length, intersection, "union", jaccard, missing FROM hypothesis_matches
               WHERE hypothesis = ? ORDER BY rank""", [name]).df()
        return [{k: (float(v) if k == "jaccard" else int(v)) for k, v in r.items()} for r in df.to_dict("records")]

    def frames(self) -> dict[str, pd.DataFrame]:
        """Both tables as DataFrames (the SQL console registers them under their names)."""
        return {t: self.con.execute(f"SELECT * FROM {t}").df() for t in ("hypotheses", "hypothesis_matches")}


_INT_COLUMNS = {"pad_left", "pad_right", "length", "pool", "limit", "brush_start", "brush_end"}


def _plain(row: dict) -> dict:
    """JSON-ready values: lists of ints, None for NULL, ISO timestamps."""
    out: dict[str, object] = {}
    for k, v in row.items():
        if k == "cells":
            out[k] = [int(c) for c in v]
        elif isinstance(v, pd.Timestamp):
            out[k] = v.isoformat()
        elif v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
            out[k] = None
        elif k in _INT_COLUMNS:
            out[k] = int(v)
        elif hasattr(v, "item"):
            out[k] = v.item()
        else:
            out[k] = v
    return out
