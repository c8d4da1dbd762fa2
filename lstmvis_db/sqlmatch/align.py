"""SQL text for ``align``'s ``tests`` (docs/analysis.md §The span null), in plain DuckDB.

One template, filled with literals (``align_sql``: what ``lstmvis-db align --sql`` prints) or
with macro parameters (the ``lstmvis_align`` table macro).  It reads only the public tables
(``documents``, ``tokens``, ``tracks``, ``annotations``) and a relation ``_spans(start, length)``:
the match set (from the match statement's ``_ranked``) or a user's span list.

Per (track, label, condition), over the categorical tracks asked for and the labels that occur
in the corpus:

- ``hits``: spans that satisfy the condition (label counts inside each span);
- the span null pi of each span, exactly as ``analysis.spannull``: per (document, length) the
  windows of that length inside the document that satisfy the condition (``starts``/``ends``
  count the label's positions in the admissible start/end range, ``covers`` sums
  max(0, r - L + 1) over the label's runs, ``contains`` is all windows minus those inside a gap),
  divided by the number of windows;
- ``expected`` = sum of pi, ``lift`` = hits / expected (NULL when expected = 0);
- ``p`` = P(X >= hits) for the Poisson-binomial X, by the exact recursion over the spans in
  log space (``list_reduce``: the distribution after each span is the previous one convolved
  with [1 - pi, pi]); exact like the compiled path up to float rounding, at O(n^2) per test.
  When more than ``EXACT_MAX_N`` spans have 0 < pi < 1 the compiled path uses its saddle-point
  approximation instead; the SQL then leaves ``p``, ``log10_p`` and every ``q`` NULL (and
  ``p_method`` says so) rather than give a different number;
- ``q``: Benjamini-Hochberg over all rows, on log10 p (p = 0 first), as ``analysis.multiple``.

Rows are ordered as ``align`` orders them (log10 p ascending, |lift| descending, track, label,
condition).
"""

from __future__ import annotations

from collections.abc import Sequence

from lstmvis_db.sqltext import sql_literal

EXACT_MAX_N = 20_000  # the compiled path's bound (analysis.poibin.EXACT_MAX_N); a test keeps them equal
CONDITIONS = ("contains", "covers", "starts", "ends")

_NEG_INF = "'-inf'::DOUBLE"

# the match set of one match statement: the top ``lim`` of ``_ranked``, every candidate (``_scored``), or
# the candidates with missing = 0
SET_FROM_RANKED = """\
_spans AS (
    SELECT start, length FROM _ranked
    WHERE CASE {set_kind} WHEN 'top' THEN rank <= {limit} WHEN 'all' THEN false WHEN 'strict' THEN false
          ELSE error('unknown match set; sets: top, all, strict') END
    UNION ALL
    SELECT start, length FROM _scored
    WHERE {set_kind} = 'all' OR ({set_kind} = 'strict' AND i = (SELECT m FROM _m))
)"""

_ALIGN_CTES = """\
_chk AS (
    SELECT CASE WHEN count(*) = 0
           THEN error('the match set is empty: these cells at this threshold have no matches')
           ELSE count(*) END AS n
    FROM _spans
),
_sp AS (
    SELECT row_number() OVER (ORDER BY s.start, s.length) AS i, s.start, s.length, d.doc, d.first_pos, d.last_pos,
           (d.last_pos - d.first_pos + 1 - s.length + 1)::DOUBLE AS nw
    FROM _spans AS s JOIN documents AS d ON s.start BETWEEN d.first_pos AND d.last_pos, _chk
    WHERE _chk.n > 0
),
_lab AS (
    SELECT a.track, a.label, a.pos, tk.doc
    FROM annotations AS a JOIN tokens AS tk ON tk.pos = a.pos
    WHERE a.label IS NOT NULL AND a.track IN (
        SELECT track FROM tracks WHERE kind = 'categorical' AND ({tracks} IS NULL OR list_contains({tracks}, track)))
),
_labels AS (SELECT DISTINCT track, label FROM _lab),
_dl AS (SELECT DISTINCT doc, first_pos, last_pos, length, nw FROM _sp),
_ldoc AS (SELECT * FROM _lab WHERE doc IN (SELECT doc FROM _dl)),
_lruns AS (
    SELECT track, label, doc, min(pos) AS rs, max(pos) AS re, count(*) AS r
    FROM (SELECT *, pos - row_number() OVER (PARTITION BY track, label, doc ORDER BY pos) AS g FROM _ldoc)
    GROUP BY track, label, doc, g
),
_lgaps AS (
    SELECT r.track, r.label, r.doc,
           r.rs - coalesce(lag(r.re) OVER (PARTITION BY r.track, r.label, r.doc ORDER BY r.rs), d.first_pos - 1) - 1
               AS gap
    FROM _lruns AS r JOIN documents AS d ON d.doc = r.doc
    UNION ALL
    SELECT r.track, r.label, r.doc, max(d.last_pos) - max(r.re) AS gap
    FROM _lruns AS r JOIN documents AS d ON d.doc = r.doc GROUP BY r.track, r.label, r.doc
),
_w_starts AS (
    SELECT dl.doc, dl.length, x.track, x.label, count(*) AS w
    FROM _dl AS dl JOIN _ldoc AS x ON x.doc = dl.doc AND x.pos BETWEEN dl.first_pos AND dl.last_pos - dl.length + 1
    GROUP BY ALL
),
_w_ends AS (
    SELECT dl.doc, dl.length, x.track, x.label, count(*) AS w
    FROM _dl AS dl JOIN _ldoc AS x ON x.doc = dl.doc AND x.pos BETWEEN dl.first_pos + dl.length - 1 AND dl.last_pos
    GROUP BY ALL
),
_w_covers AS (
    SELECT dl.doc, dl.length, r.track, r.label, sum(r.r - dl.length + 1) AS w
    FROM _dl AS dl JOIN _lruns AS r ON r.doc = dl.doc AND r.r >= dl.length
    GROUP BY ALL
),
_w_gaps AS (
    SELECT dl.doc, dl.length, g.track, g.label, sum(g.gap - dl.length + 1) AS w
    FROM _dl AS dl JOIN _lgaps AS g ON g.doc = dl.doc AND g.gap >= dl.length
    GROUP BY ALL
),
_present AS (SELECT DISTINCT track, label, doc FROM _lruns),
_pi AS (
    SELECT dl.doc, dl.length, lb.track, lb.label,
           coalesce(ws.w, 0) / dl.nw AS pi_starts,
           coalesce(we.w, 0) / dl.nw AS pi_ends,
           coalesce(wc.w, 0) / dl.nw AS pi_covers,
           CASE WHEN pr.doc IS NULL THEN 0.0 ELSE (dl.nw - coalesce(wg.w, 0)) / dl.nw END AS pi_contains
    FROM _dl AS dl CROSS JOIN _labels AS lb
    LEFT JOIN _w_starts AS ws ON ws.doc = dl.doc AND ws.length = dl.length AND ws.track = lb.track
                                 AND ws.label = lb.label
    LEFT JOIN _w_ends AS we ON we.doc = dl.doc AND we.length = dl.length AND we.track = lb.track AND we.label = lb.label
    LEFT JOIN _w_covers AS wc ON wc.doc = dl.doc AND wc.length = dl.length AND wc.track = lb.track
                                 AND wc.label = lb.label
    LEFT JOIN _w_gaps AS wg ON wg.doc = dl.doc AND wg.length = dl.length AND wg.track = lb.track AND wg.label = lb.label
    LEFT JOIN _present AS pr ON pr.doc = dl.doc AND pr.track = lb.track AND pr.label = lb.label
),
_inside AS (
    SELECT sp.i, x.track, x.label, count(*) AS c,
           bool_or(x.pos = sp.start) AS at_start, bool_or(x.pos = sp.start + sp.length - 1) AS at_end
    FROM _sp AS sp JOIN _ldoc AS x ON x.doc = sp.doc AND x.pos BETWEEN sp.start AND sp.start + sp.length - 1
    GROUP BY ALL
),
_per_span AS (
    SELECT sp.i, lb.track, lb.label, cd.condition,
           CASE cd.condition WHEN 'contains' THEN p.pi_contains WHEN 'covers' THEN p.pi_covers
                WHEN 'starts' THEN p.pi_starts ELSE p.pi_ends END AS pi,
           CASE cd.condition WHEN 'contains' THEN coalesce(ins.c, 0) > 0
                WHEN 'covers' THEN coalesce(ins.c, 0) = sp.length
                WHEN 'starts' THEN coalesce(ins.at_start, false) ELSE coalesce(ins.at_end, false) END AS hit
    FROM _sp AS sp CROSS JOIN _labels AS lb CROSS JOIN (SELECT unnest({conditions}) AS condition) AS cd
    JOIN _pi AS p ON p.doc = sp.doc AND p.length = sp.length AND p.track = lb.track AND p.label = lb.label
    LEFT JOIN _inside AS ins ON ins.i = sp.i AND ins.track = lb.track AND ins.label = lb.label
),
_test AS (
    SELECT track, label, condition, count(*) FILTER (WHERE hit)::INTEGER AS hits, sum(pi) AS expected,
           count(*) FILTER (WHERE pi > 0 AND pi < 1) AS n_random, count(*) FILTER (WHERE pi >= 1) AS n_sure,
           list([ln(1 - pi), ln(pi)] ORDER BY i) AS steps
    FROM _per_span GROUP BY track, label, condition
),
_dist AS (
    SELECT *, CASE WHEN n_random > {exact_max} OR hits <= n_sure THEN NULL ELSE list_slice(list_reduce(steps,
               lambda acc, x: list_transform(range(1, len(acc) + 2), lambda j: _lae)), hits + 1, len(steps) + 1)
           END AS tail
    FROM _test
),
_p AS (
    SELECT track, label, condition, hits, expected, CASE WHEN expected > 0 THEN hits / expected END AS lift,
           CASE WHEN n_random > {exact_max} THEN NULL WHEN hits <= n_sure THEN 0.0
                WHEN list_max(tail) = _ninf THEN _ninf
                ELSE least(list_max(tail) + ln(list_sum(list_transform(tail, lambda x: exp(x - list_max(tail))))), 0.0)
           END AS ln_p,
           CASE WHEN n_random > {exact_max} THEN 'saddlepoint (not computed in SQL)' ELSE 'exact' END AS p_method
    FROM _dist
),
_ranked_p AS (
    SELECT *, coalesce(ln_p / ln(10.0), _ninf) AS lpx,
           row_number() OVER (ORDER BY coalesce(ln_p / ln(10.0), _ninf)) AS rk, count(*) OVER () AS fam,
           count(ln_p) OVER () AS with_p
    FROM _p
)
SELECT track, label, condition, hits, expected, lift, exp(ln_p) AS p,
       CASE WHEN ln_p > _ninf THEN ln_p / ln(10.0) END AS log10_p,
       CASE WHEN with_p = fam THEN pow(10.0, least(min(lpx + log10(fam::DOUBLE / rk)) OVER (
           ORDER BY rk DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), 0.0)) END AS q,
       p_method
FROM _ranked_p
ORDER BY lpx, abs(coalesce(lift, 0.0)) DESC, track, label, condition"""


def _inline(text: str) -> str:
    """The helpers ``_ninf`` and ``_lae`` (log(e^a + e^b) of P(X = j - 1) and P(X = j - 2) times
    the span's [1 - pi, pi], -inf aware) written out."""
    text = text.replace("lambda j: _lae", "lambda j: " + _LAE)
    return text.replace("_ninf", _NEG_INF)


_A = "(coalesce(acc[j], _ninf) + x[1])"
_B = "(coalesce(acc[j - 1], _ninf) + x[2])"
_LAE = (f"CASE WHEN {_A} = _ninf THEN {_B} WHEN {_B} = _ninf THEN {_A} "
        f"ELSE greatest({_A}, {_B}) + ln(1 + exp(-abs({_A} - {_B}))) END")


def align_ctes(tracks: str, conditions: str) -> str:
    """The CTEs after ``_spans`` and the final SELECT, for SQL expressions ``tracks`` (a
    VARCHAR[] or NULL = every categorical track) and ``conditions`` (a VARCHAR[])."""
    return _inline(_ALIGN_CTES.format(tracks=tracks, conditions=conditions, exact_max=EXACT_MAX_N))


def text_list(items: Sequence[str] | None) -> str:
    """A VARCHAR[] literal (NULL for None)."""
    if items is None:
        return "NULL::VARCHAR[]"
    return "[" + ", ".join(sql_literal(str(x)) for x in items) + "]::VARCHAR[]"


def spans_values(start: Sequence[int], length: Sequence[int]) -> str:
    """``_spans`` as a VALUES list (a user's span list, already checked)."""
    rows = ", ".join(f"({int(s)}, {int(n)})" for s, n in zip(start, length, strict=True))
    return f"_spans AS (SELECT * FROM (VALUES {rows}) AS v(start, length))"
