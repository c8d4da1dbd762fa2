"""SQL text for selection and matching (docs/semantics.md), as literals or as table macros.

One template per operation, filled either with literal values (``select_sql``/``match_sql``/
``align_sql``: what ``lstmvis-db select|match|align --sql`` prints) or with macro parameter
names (``macro_statements``: the ``lstmvis_*`` table macros).  The macros and the Parquet form
read values through ``project_rows`` (the relation ``(pos, doc, v FLOAT[n])`` of one source); the
literal ``match``/``align`` text for a project file reads the selected cells' 14-bit index columns
and only the threshold bucket's values from the rows (:func:`_on_from_index`).  Values are
compared as DOUBLE as the compiled path does, so the answers are the same to the last bit.

How a match is computed in SQL (the same definition as the compiled path; docs/sql.md):
- one read of the rows: per position the selected cells' on-bits (``v[i]`` of the selected
  indexes only, an m-bit BITSTRING) and their count; positions with count 0 dropped;
- the maximal runs of count >= k of every level at once from the level boundaries (a run of
  level k starts where the previous count < k <= count, ends where k > the next count; the i-th
  start and end of one level and document pair up), kept when at least 2 long (or ``length``);
- each distinct (start, length) gets I from ``bit_and`` of its selected bits, and-not the left
  (right) neighbour when constrained and inside the document (all the histograms need);
- only candidates whose I reaches the ``limit``-th best I are rescored on all cells (their
  positions read again), U = popcount(A | S); ranked by I desc, U asc, length desc, start asc.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from lstmvis_db.errors import InputError
from lstmvis_db.matching.quant import LEVELS, Quantizer
from lstmvis_db.sqlmatch import align as sqlalign
from lstmvis_db.sqltext import sql_literal

_MATCH_CTES = """\
_sel AS (
    SELECT list_sort(list_distinct({cells}))::INTEGER[] AS cells
),
_m AS (
    SELECT len(cells) AS m, list_transform(cells, lambda c: c + 1) AS idx,
           array_to_string(list_transform(range({n_cells}), lambda c: list_contains(cells, c)::INTEGER), '')::BIT AS s
    FROM _sel
),
_on AS MATERIALIZED (
    SELECT pos, doc, bits, bit_count(bits)::INTEGER AS cnt FROM (
        SELECT r.pos, r.doc,
               array_to_string(list_transform(list_select(r.v, _m.idx), lambda x: (x::DOUBLE >= {t})::INTEGER), '')::BIT
                   AS bits
        FROM {rows} AS r CROSS JOIN _m
    ) WHERE bit_count(bits) > 0
),
_pos AS (
    SELECT pos, doc, cnt,
           CASE WHEN lag(pos) OVER w = pos - 1 THEN lag(cnt) OVER w ELSE 0 END AS prev,
           CASE WHEN lead(pos) OVER w = pos + 1 THEN lead(cnt) OVER w ELSE 0 END AS nxt
    FROM _on WINDOW w AS (PARTITION BY doc ORDER BY pos)
),
_starts AS (
    SELECT doc, k, pos, row_number() OVER (PARTITION BY doc, k ORDER BY pos) AS rn
    FROM (SELECT doc, pos, unnest(range(prev + 1, cnt + 1)) AS k FROM _pos WHERE cnt > prev)
),
_ends AS (
    SELECT doc, k, pos, row_number() OVER (PARTITION BY doc, k ORDER BY pos) AS rn
    FROM (SELECT doc, pos, unnest(range(nxt + 1, cnt + 1)) AS k FROM _pos WHERE cnt > nxt)
),
_cand AS (
    SELECT DISTINCT s.pos AS start, (e.pos - s.pos + 1)::INTEGER AS length, s.doc
    FROM _starts AS s JOIN _ends AS e ON e.doc = s.doc AND e.k = s.k AND e.rn = s.rn
    WHERE CASE WHEN {length} = 0 THEN e.pos - s.pos + 1 >= 2 ELSE e.pos - s.pos + 1 = {length} END
),
_span AS (@AND(_cand, _on)@),
_scored AS (SELECT start, length, doc, bit_count(a)::INTEGER AS i FROM (@CONSTRAIN(_span, _on)@)),
_need AS (
    SELECT * FROM _scored
    WHERE {limit} IS NULL OR i >= (SELECT coalesce(min(i), 0) FROM (
        SELECT i, row_number() OVER (ORDER BY i DESC) AS r FROM _scored) WHERE r <= {limit})
),
_full AS (
    SELECT r.pos, r.doc, array_to_string(list_transform(r.v, lambda x: (x::DOUBLE >= {t})::INTEGER), '')::BIT AS bits
    FROM {rows} AS r
    JOIN (SELECT DISTINCT unnest(range(start - 1, start + length + 1)) AS pos FROM _need) AS q ON q.pos = r.pos
),
_whole AS (@AND(_need, _full)@),
_rescored AS (@CONSTRAIN(_whole, _full)@),
_ranked AS (
    SELECT row_number() OVER (ORDER BY i DESC, u ASC, length DESC, start ASC) AS rank,
           start, length, i AS intersection, u AS "union", i / u AS jaccard, m - i AS missing
    FROM (
        SELECT rs.start, rs.length, bit_count(rs.a & _m.s)::INTEGER AS i, bit_count(rs.a | _m.s)::INTEGER AS u, _m.m
        FROM _rescored AS rs CROSS JOIN _m
    )
)"""
# bit_and of the bits of BITS over each span of SPANS (start, length, doc) -> (start, length, doc, a)
_AND = """
    SELECT x.start, x.length, x.doc, bit_and(o.bits) AS a
    FROM (SELECT start, length, doc, unnest(range(start, start + length)) AS pos FROM SPANS) AS x
    JOIN BITS AS o ON o.pos = x.pos
    GROUP BY x.start, x.length, x.doc
"""
# a, and-not the left (right) neighbour's bits when constrained and the neighbour is in the document
_CONSTRAIN = """
    SELECT sp.start, sp.length, sp.doc,
           CASE WHEN {constrain_right} AND rgt.bits IS NOT NULL THEN a_l & ~rgt.bits ELSE a_l END AS a
    FROM (
        SELECT sp.*, CASE WHEN {constrain_left} AND lft.bits IS NOT NULL THEN sp.a & ~lft.bits ELSE sp.a END AS a_l
        FROM SPANS AS sp LEFT JOIN BITS AS lft ON lft.pos = sp.start - 1 AND lft.doc = sp.doc
    ) AS sp LEFT JOIN BITS AS rgt ON rgt.pos = sp.start + sp.length AND rgt.doc = sp.doc
"""
for _name, _frag in (("AND", _AND), ("CONSTRAIN", _CONSTRAIN)):
    for _spans, _bits in (("_cand", "_on"), ("_span", "_on"), ("_need", "_full"), ("_whole", "_full")):
        _MATCH_CTES = _MATCH_CTES.replace(f"@{_name}({_spans}, {_bits})@",
                                          _frag.replace("SPANS", _spans).replace("BITS", _bits))
_MATCH_BODY = "WITH\n" + _MATCH_CTES + "\n"

_MATCH_ROWS = "SELECT * FROM _ranked WHERE {limit} IS NULL OR rank <= {limit} ORDER BY rank"
_MATCH_HISTOGRAM = (
    "SELECT length, count(*)::INTEGER AS fuzzy, count(*) FILTER (WHERE i = (SELECT m FROM _m))::INTEGER AS strict "
    "FROM _scored GROUP BY length ORDER BY length"
)

_SELECT_BODY = """\
WITH
_doc AS (
    SELECT first_pos, last_pos FROM {documents} WHERE {start} BETWEEN first_pos AND last_pos
),
_check AS (
    SELECT CASE
        WHEN {start} > {end} THEN error('inverted range: start > end')
        WHEN NOT EXISTS (SELECT 1 FROM {documents} WHERE {end} BETWEEN first_pos AND last_pos)
             OR NOT EXISTS (SELECT 1 FROM _doc) THEN error('range outside the corpus')
        WHEN (SELECT last_pos FROM _doc) < {end} THEN error('range crosses a document boundary')
        ELSE true END AS ok
),
_vals AS (
    SELECT r.pos, unnest(range({n_cells})) AS cell, unnest(r.v)::DOUBLE AS value
    FROM {rows} AS r, _doc, _check
    WHERE _check.ok AND r.pos BETWEEN greatest(_doc.first_pos, {start} - {left_off})
                                  AND least(_doc.last_pos, {end} + {right_off})
)
SELECT cell FROM _vals
GROUP BY cell
HAVING bool_and(CASE WHEN pos BETWEEN {start} AND {end} THEN value >= {t} ELSE value < {t} END)
ORDER BY cell"""


@dataclass(frozen=True)
class SourceRows:
    """A source's name, its physical id (``_idx.rows_<sid>``, ``_idx.q_<sid>``) and width, and
    (when known) its 14-bit index's bucket step and offset (``_idx.source_index``)."""

    source: str
    sid: int
    n_cells: int
    q_step: float | None = None
    q_zero: int | None = None


def source_rows(con: duckdb.DuckDBPyConnection) -> list[SourceRows]:
    """The dense sources of the project ``con`` uses (its ``_idx.source_index``; the SQL forms
    read the rows arrays, which a sparse source does not have)."""
    rows = con.execute("SELECT source, sid, n_cells FROM _idx.source_index WHERE value_dtype <> 'sparse' "
                       "ORDER BY sid").fetchall()
    return [SourceRows(str(a), int(b), int(c)) for a, b, c in rows]


def _num(x: float) -> str:
    if not math.isfinite(x):
        raise InputError(f"threshold must be a finite number, got {x!r}")
    return f"{float(x)!r}::DOUBLE"


def _int(x: int, what: str) -> str:
    if isinstance(x, bool) or int(x) != x:
        raise InputError(f"{what} must be an integer, got {x!r}")
    return str(int(x))


def _cells(cells: Sequence[int]) -> str:
    return "[" + ", ".join(_int(c, "cell") for c in cells) + "]"


def project_rows(sid: int) -> str:
    """The rows relation (pos, doc, v) of source ``sid`` in a project file."""
    return f"(SELECT r.pos, tk.doc, r.v FROM _idx.rows_{int(sid)} AS r JOIN tokens AS tk ON tk.pos = r.pos)"


def select_sql(src: SourceRows, start: int, end: int, threshold: float, left_off: int = 1,
               right_off: int = 0, rows: str | None = None, documents: str = "documents") -> str:
    """One SELECT giving the selected cells (one row per cell, ascending).  ``rows`` and
    ``documents`` name other relations of the same columns (an exported Parquet dataset)."""
    return _SELECT_BODY.format(
        documents=documents, rows=rows or project_rows(src.sid), n_cells=src.n_cells,
        start=_int(start, "start"), end=_int(end, "end"),
        t=_num(threshold), left_off=_int(left_off, "left_off"), right_off=_int(right_off, "right_off"),
    ) + ";\n"


def match_sql(src: SourceRows, cells: Sequence[int], threshold: float, constrain_left: bool = True,
              constrain_right: bool = False, length: int = 0, limit: int = 50, rows: str | None = None) -> str:
    """Two statements: the ranked top ``limit`` matches, then the length histograms."""
    body = "WITH\n" + _match_ctes(src, cells, threshold, constrain_left, constrain_right, length, limit, rows) + "\n"
    top = _MATCH_ROWS.format(limit=_int(limit, "limit"))
    return f"-- matches\n{body}{top};\n\n-- length histograms (fuzzy, strict)\n{body}{_MATCH_HISTOGRAM};\n"


def _match_ctes(src: SourceRows, cells: Sequence[int], threshold: float, constrain_left: bool,
                constrain_right: bool, length: int, limit: int, rows: str | None) -> str:
    ctes = _MATCH_CTES.format(
        cells=_cells(cells), n_cells=src.n_cells, t=_num(threshold), rows=rows or project_rows(src.sid),
        length=_int(length, "length"), limit=_int(limit, "limit"), constrain_left=str(bool(constrain_left)).lower(),
        constrain_right=str(bool(constrain_right)).lower(),
    )
    if rows is None and src.q_step is not None and src.q_zero is not None:
        start = ctes.index("_on AS MATERIALIZED (")
        end = ctes.index("\n),\n_pos AS (", start) + len("\n)")
        ctes = ctes[:start] + _on_from_index(src, cells, threshold) + ctes[end:]
    return ctes


def _on_from_index(src: SourceRows, cells: Sequence[int], threshold: float) -> str:
    """The ``_on`` relation (pos, doc, bits, cnt) read from the selected cells' columns of the
    14-bit index ``_idx.q_<sid>`` instead of every row's whole array: a value in a bucket above
    the threshold's bucket j is on, one below is off, and only the values in bucket j are read
    from the exact rows (none when t is j's lower edge), the rule of docs/data-model.md (The
    quantised 14-bit index) that the compiled path uses, so the bits are the same."""
    assert src.q_step is not None and src.q_zero is not None
    sel = sorted({int(c) for c in cells})
    for c in sel:
        if not 0 <= c < src.n_cells:
            raise InputError(f"cell {c} is outside the source's 0..{src.n_cells - 1}")
    j, exact = Quantizer(step=float(src.q_step), zero=int(src.q_zero)).threshold_bucket(float(threshold))
    t = _num(threshold)
    sid = int(src.sid)
    if j < 0 or j >= LEVELS:  # every value on (j = -1) or every value off
        bit = "'1'" if j < 0 else "'0'"
        chars, keep, amb = [bit] * len(sel), ("true" if j < 0 else "false"), None
    else:
        chars = [f"CASE WHEN q.c{c} > {j} THEN '1' WHEN q.c{c} < {j} THEN '0' "
                 + ("ELSE '1' END" if exact else f"WHEN x.v{c} >= {t} THEN '1' ELSE '0' END")
                 for c in sel]
        keep = " OR ".join(f"q.c{c} >= {j}" for c in sel)
        amb = None if exact else " OR ".join(f"c{c} = {j}" for c in sel)
    # the look-up carries only the selected cells' values: a whole FLOAT[n] per joined position
    # (even a NULL one) made the join with every kept position cost its full width
    picked = ", ".join(f"v[{c + 1}]::DOUBLE AS v{c}" for c in sel)
    look_up = "" if amb is None else (
        f"\n        LEFT JOIN (SELECT pos, {picked} FROM _idx.rows_{sid} WHERE pos IN "
        f"(SELECT pos FROM _idx.q_{sid} WHERE {amb})) AS x ON x.pos = q.pos")
    bits = " || ".join(chars)
    return f"""_on AS MATERIALIZED (
    SELECT pos, doc, bits, bit_count(bits)::INTEGER AS cnt FROM (
        SELECT q.pos, tk.doc, ({bits})::BIT AS bits
        FROM _idx.q_{sid} AS q JOIN tokens AS tk ON tk.pos = q.pos{look_up}
        WHERE {keep}
    ) WHERE bit_count(bits) > 0
)"""


def align_sql(src: SourceRows, cells: Sequence[int], threshold: float, constrain_left: bool = True,
              constrain_right: bool = False, length: int = 0, set_kind: str = "top", limit: int = 50,
              tracks: Sequence[str] | None = None, conditions: Sequence[str] = sqlalign.CONDITIONS) -> str:
    """One statement: ``align``'s ``tests`` for the match set ``set_kind`` of one hypothesis."""
    ctes = _match_ctes(src, cells, threshold, constrain_left, constrain_right, length, limit, None)
    spans = sqlalign.SET_FROM_RANKED.format(set_kind=sql_literal(set_kind), limit=_int(limit, "limit"))
    tail = sqlalign.align_ctes(sqlalign.text_list(tracks), sqlalign.text_list(conditions))
    return f"WITH\n{ctes},\n{spans},\n{tail};\n"


def align_spans_sql(start: Sequence[int], length: Sequence[int], tracks: Sequence[str] | None = None,
                    conditions: Sequence[str] = sqlalign.CONDITIONS) -> str:
    """One statement: ``align``'s ``tests`` for a list of spans (checked by the caller)."""
    tail = sqlalign.align_ctes(sqlalign.text_list(tracks), sqlalign.text_list(conditions))
    return f"WITH\n{sqlalign.spans_values(start, length)},\n{tail};\n"


@dataclass(frozen=True)
class MacroSet:
    """The table macros of one project, as CREATE statements."""

    statements: tuple[str, ...]


def _rows_union(sources: Sequence[SourceRows]) -> str:
    parts = [f"SELECT pos, doc, v FROM {project_rows(s.sid)} WHERE src = {sql_literal(s.source)}" for s in sources]
    empty = "(SELECT NULL::INTEGER AS pos, NULL::INTEGER AS doc, NULL::FLOAT[] AS v WHERE false)"
    return "(" + " UNION ALL ".join(parts) + ")" if parts else empty


def macro_statements(sources: Sequence[SourceRows]) -> MacroSet:
    """``lstmvis_select``, ``lstmvis_match`` (every scored candidate, ranked; ``lim`` cuts) and
    ``lstmvis_match_histogram`` over the given sources."""
    kind = "MACRO"
    rows = _rows_union(sources)
    n_cells = "(SELECT n_cells FROM sources WHERE source = src)"
    args = {"cells": "cells", "n_cells": n_cells, "t": "t::DOUBLE", "rows": rows, "length": "len",
            "constrain_left": "constrain_left", "constrain_right": "constrain_right"}
    match, match_all = _MATCH_BODY.format(limit="lim", **args), _MATCH_BODY.format(limit="NULL", **args)
    sel = _SELECT_BODY.format(documents="documents", rows=rows, n_cells=n_cells, start="start_pos", end="end_pos",
                              t="t::DOUBLE", left_off="left_off", right_off="right_off")
    return MacroSet((
        (f"CREATE OR REPLACE {kind} lstmvis_select(src, start_pos, end_pos, t, left_off := 1, right_off := 0) "
         f"AS TABLE\n{sel}"),
        f"CREATE OR REPLACE {kind} lstmvis_match(src, cells, t, constrain_left := true, constrain_right := false, "
        f"len := 0, lim := 50) AS TABLE\n{match}" + _MATCH_ROWS.format(limit="lim"),
        (f"CREATE OR REPLACE {kind} lstmvis_match_histogram(src, cells, t, constrain_left := true, "
         f"constrain_right := false, len := 0) AS TABLE\n{match_all}{_MATCH_HISTOGRAM}"),
        (f"CREATE OR REPLACE {kind} lstmvis_align(src, cells, t, set_kind := 'top', constrain_left := true, "
         f"constrain_right := false, len := 0, lim := 50, tracks := NULL, "
         f"conditions := {sqlalign.text_list(sqlalign.CONDITIONS)}) AS TABLE\n{match.rstrip()},\n"
         f"{sqlalign.SET_FROM_RANKED.format(set_kind='set_kind', limit='lim')},\n"
         f"{sqlalign.align_ctes('tracks', 'conditions')}"),
    ))
