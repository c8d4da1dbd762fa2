"""The findings each demo states, computed by the tool's own statistics (``Project.select``,
``Project.match`` through ``Project.align``, and ``Project.cells``).

* :func:`phrase_finding`: over every determiner-adjective-noun instance of the text (Penn tags
  ``DT JJ NN``/``NNS`` in one document), select the three words' cells, match them (top 50) and
  test the matches with the span null against ``noun_chunk`` and ``chunk_iob`` (all four
  conditions, one BH family per instance; ``Project.align_each``, what ``align`` gives per
  instance with every cell's bits read once): an instance counts as enriched in noun chunks when a
  row for a noun-chunk label (``noun chunk``, ``begin``, ``inside``) has lift > 1 and q <= 1e-6.
  How many instances are, and how many by the strictest condition alone (``covers``: the whole
  match inside noun chunks).
* :func:`parens_finding`: the suggested depth hypothesis's cells, their AUROC for the depth it
  enters (``Project.cells``) and the random-cell-set null of its matches' best lift.
* :func:`stage_finding`: the character demo's suggested bracket hypothesis against
  ``stage_direction``.
* :func:`chorale_finding`: the chorales demo's suggested cadence hypothesis against ``cadence``,
  its spread over every authentic cadence of the held-out chorales, and over their transposed
  copies.

:data:`STATED` holds what the default build's descriptions and the README say; the tests
recompute them on a fresh default build (tests/unit/test_demo_findings.py).  Imports only the
public API types; the project is passed in.
"""

from __future__ import annotations

from typing import Any, TypedDict

from lstmvis_db.errors import QueryError

__all__ = ["STATED", "TEMPLATES", "PhraseFinding", "chorale_finding", "chorale_numbers", "parens_finding",
           "phrase_finding", "stage_finding", "stated_finding"]

Q_MAX = 1e-6
NOUN_TAGS = ("NN", "NNS")


class PhraseFinding(TypedDict):
    source: str
    threshold: float
    instances: int
    with_cells: int
    enriched: int
    share: float
    covers: int
    enriched_starts: list[int]


def _labels(project: Any, track: str) -> list[str | None]:
    """The label of every position on a categorical track (None: unlabelled)."""
    labels: list[str | None] = [None] * project.n_positions
    frame = project.annotations(track, list(range(project.n_positions)))
    for pos, label in zip(frame["pos"], frame["label"]):
        labels[int(pos)] = None if label is None else str(label)
    return labels


def dt_jj_nn_instances(project: Any) -> list[int]:
    """Start positions of every DT JJ NN(S) triple that lies inside one document."""
    tags = _labels(project, "tag")
    starts = [i for i in range(len(tags) - 2)
              if tags[i] == "DT" and tags[i + 1] == "JJ" and tags[i + 2] in NOUN_TAGS]
    docs = project.documents
    spans = sorted(zip(docs["first_pos"].astype(int), docs["last_pos"].astype(int)))
    return [s for s in starts if any(a <= s and s + 2 <= b for a, b in spans)]


CHUNK_LABELS = ("noun chunk", "begin", "inside")


def _enriched_rows(result: dict) -> list[dict]:
    return [r for r in result["tests"] if r["label"] in CHUNK_LABELS and r["q"] <= Q_MAX and (r["lift"] or 0.0) > 1.0]


def phrase_finding(project: Any, source: str = "layer1_h", threshold: float = 0.3) -> PhraseFinding:
    """How many DT JJ NN instances' matches are enriched in noun chunks at q <= 1e-6."""
    instances = dt_jj_nn_instances(project)
    picked = [(s, cells) for s in instances if (cells := project.select(source, s, s + 2, threshold))]
    covers = 0
    enriched: list[int] = []
    # align of each selection, every cell's bits read once (a selection without match: not enriched)
    results = project.align_each(source, [c for _, c in picked], threshold, tracks=["noun_chunk", "chunk_iob"])
    for (s, _), result in zip(picked, results, strict=True):
        rows = [] if result is None else _enriched_rows(result)
        if rows:
            enriched.append(s)
        covers += any(r["condition"] == "covers" for r in rows)
    with_cells = len(picked)
    return PhraseFinding(source=source, threshold=threshold, instances=len(instances), with_cells=with_cells,
                         enriched=len(enriched), share=len(enriched) / len(instances) if instances else 0.0,
                         covers=covers, enriched_starts=enriched)


def _suggested(project: Any) -> tuple[str, list[int], float]:
    meta = project.meta()
    source, threshold = meta["suggest_source"], float(meta["suggest_threshold"])
    cells = project.select(source, int(meta["suggest_start"]), int(meta["suggest_end"]), threshold)
    return source, cells, threshold


def parens_finding(project: Any, null_cells: int = 99, seed: int = 0) -> dict:
    """The suggested hypothesis's cells: their AUROC for "nested" (depth >= 1), from
    ``Project.cells`` on label depth 0 (every position has a depth, so AUROC(depth >= 1) =
    1 - AUROC(depth 0)); the best span-null test of their matches on ``depth`` and the
    random-cell-set null of that statistic."""
    source, cells, threshold = _suggested(project)
    ranked = {r["cell"]: r["auroc"] for r in project.cells(source, "depth", "0", threshold=threshold)["cells"]}
    nested = sorted(1.0 - float(ranked[c]) for c in cells if ranked.get(c) is not None)
    every = sorted(1.0 - float(v) for v in ranked.values() if v is not None)
    result = project.align(source, cells, threshold, tracks=["depth"], null_cells=null_cells, seed=seed)
    best = max(result["tests"], key=lambda r: (r["lift"] or 0.0))
    null = result["cell_null"]
    return {"source": source, "cells": cells, "median_auroc": nested[len(nested) // 2] if nested else None,
            "min_auroc": nested[0] if nested else None, "max_auroc": nested[-1] if nested else None,
            "cells_auroc_over_0_9": sum(v > 0.9 for v in every), "n_cells": len(every),
            "best_label": best["label"], "best_condition": best["condition"], "best_lift": best["lift"],
            "best_q": best["q"], "null_p": None if null is None else null["p"], "null_k": null_cells}


def stage_finding(project: Any) -> dict:
    """The suggested bracket hypothesis: its matches against ``stage_direction`` (covers)."""
    source, cells, threshold = _suggested(project)
    result = project.align(source, cells, threshold, tracks=["stage_direction"], conditions=["covers"])
    row = result["tests"][0]
    return {"source": source, "cells": cells, "hits": row["hits"], "spans": result["spans"],
            "lift": row["lift"], "q": row["q"]}


CADENCE_TRACK = "cadence"
HELD_OUT_FROM = 335  # the chorales demo's held-out chorales (lstmvis_db.demos.chorales.N_TRAIN + 1)


def _authentic_rows(result: dict) -> list[dict]:
    return [r for r in result["tests"] if r["label"] == "authentic"]


def _best_authentic(result: dict) -> dict:
    """The ``authentic`` row with the smallest p (ties: the order of the conditions)."""
    return min(_authentic_rows(result), key=lambda r: r["p"])


def _enriched_authentic(result: dict) -> bool:
    return any(r["q"] <= Q_MAX and (r["lift"] or 0.0) > 1.0 for r in _authentic_rows(result))


def chorale_groups(project: Any) -> dict[str, list[tuple[int, int, str]]]:
    """The held-out chorales' documents (first, last, name) by transposition label (``original``,
    ``up 2``, ...)."""
    import re

    trans = _labels(project, "transposition")
    docs = project.documents
    out: dict[str, list[tuple[int, int, str]]] = {}
    for name, first, last in zip(docs["name"], docs["first_pos"].astype(int), docs["last_pos"].astype(int)):
        m = re.match(r"^(\d+)\.", str(name))
        if m and int(m.group(1)) >= HELD_OUT_FROM and trans[first] is not None:
            out.setdefault(str(trans[first]), []).append((int(first), int(last), str(name)))
    return out


def cadence_instances(project: Any, docs: list[tuple[int, int, str]]) -> list[int]:
    """Approach positions of every authentic cadence in ``docs`` whose approach chord directly
    precedes the final chord (the two positions a user selects)."""
    cad = _labels(project, CADENCE_TRACK)
    tokens = list(project.tokens(0, project.n_positions - 1)["token"])
    out = []
    for first, last, _ in docs:
        for a in range(first, last):
            if (cad[a] == "authentic" and cad[a + 1] == "authentic" and tokens[a] != tokens[a + 1]
                    and (a == first or cad[a - 1] != "authentic")):
                out.append(a)
    return out


def _instance_spread(project: Any, source: str, threshold: float, starts: list[int]) -> dict:
    with_cells = enriched = weak = 0
    for a in starts:
        cells = project.select(source, a, a + 1, threshold)
        if not cells:
            continue
        with_cells += 1
        try:
            result = project.align(source, cells, threshold, tracks=[CADENCE_TRACK])
        except QueryError:
            continue
        enriched += _enriched_authentic(result)
        weak += any(r["q"] <= 0.05 and (r["lift"] or 0.0) > 1.0 for r in _authentic_rows(result))
    return {"instances": len(starts), "with_cells": with_cells, "enriched": enriched,
            "share": enriched / len(starts) if starts else 0.0, "enriched_q05": weak}


def chorale_finding(project: Any) -> dict:
    """The chorales demo's cadence finding, over the held-out chorales (335-371):

    * ``suggested``: the landing page's hypothesis (an authentic cadence, approach and final
      chord) selected, matched (top 50) and aligned with ``cadence`` (span null, BH q over the
      track's labels and four conditions): its best ``authentic`` row;
    * ``instances``: every authentic cadence of the held-out chorales in their own key selected the
      same way; how many pick cells, and how many of those have matches enriched in authentic
      cadences (an ``authentic`` row with lift > 1 and q <= 1e-6, any condition; ``enriched_q05``:
      at q <= 0.05), and the same
      for each transposed copy (``by_key``: the copies' cadences at the same places);
    * ``transposed``: the suggested cells themselves (found in the original key), their top 50
      matches among the documents of each transposition alone, aligned as user spans with
      ``cadence``: hits, lift and q of the suggested row's condition; and the cells that selecting
      the same two chords in each transposed copy picks (``reselected_jaccard`` with the original).
    """
    source, cells, threshold = _suggested(project)
    start = int(project.meta()["suggest_start"])
    first = project.align(source, cells, threshold, tracks=[CADENCE_TRACK])
    best = _best_authentic(first)
    groups = chorale_groups(project)
    original = cadence_instances(project, groups.get("original", []))
    by_key = {}
    for label, docs in groups.items():
        by_key[label] = _instance_spread(project, source, threshold, cadence_instances(project, docs))
    everything = project.match(source, cells, threshold, limit=max(project.n_positions, 1))["matches"]
    transposed = {}
    orig_docs = groups.get("original", [])
    doc_of = next((d for d in orig_docs if d[0] <= start <= d[1]), None)
    for label, docs in groups.items():
        inside = [m for m in everything
                  if any(a <= m["start"] and m["start"] + m["length"] - 1 <= b for a, b, _ in docs)][:50]
        row: dict[str, Any] = {"spans": len(inside)}
        if inside:
            res = project.align(spans=([m["start"] for m in inside], [m["length"] for m in inside]),
                                tracks=[CADENCE_TRACK], conditions=[best["condition"]])
            hit = next(r for r in res["tests"] if r["label"] == "authentic")
            row.update(hits=hit["hits"], lift=hit["lift"], q=hit["q"])
        if doc_of is not None:
            twin = next((d for d in docs if d[2].split(", transposed")[0] == doc_of[2]), None)
            if twin is not None:
                again = set(project.select(source, twin[0] + start - doc_of[0], twin[0] + start - doc_of[0] + 1,
                                           threshold))
                union = again | set(cells)
                row["reselected_jaccard"] = len(again & set(cells)) / len(union) if union else 0.0
        transposed[label] = row
    return {"source": source, "cells": cells, "threshold": threshold, "condition": best["condition"],
            "hits": best["hits"], "spans": first["spans"], "lift": best["lift"], "q": best["q"],
            "cadences": len(original), "by_key": by_key, "transposed": transposed}


def _shift_order(label: str) -> int:
    return 0 if label == "original" else int(label.split()[-1])


def chorale_numbers(found: dict) -> dict[str, Any]:
    """:func:`chorale_finding`'s result as the fields of the chorales template."""
    shifted = sorted((k for k in found["by_key"] if k != "original"), key=_shift_order)
    spread = ", ".join(f"{found['by_key'][k]['enriched']} of {found['by_key'][k]['instances']} "
                       f"({found['by_key'][k]['share']:.0%}) {k}" for k in shifted)

    def hits(row: dict) -> str:
        if not row.get("spans"):
            return "no match"
        q = f"{row['q']:.0e}" if row["q"] < 1e-3 else f"{row['q']:.2g}"
        return f"{row['hits']} of {row['spans']} (lift {row['lift']:.1f}, q = {q})"

    same = "; ".join(f"{k}: {hits(found['transposed'][k])}" for k in shifted)
    jac = ", ".join(f"{found['transposed'][k].get('reselected_jaccard', 0.0):.2f}" for k in shifted)
    orig = found["by_key"]["original"]
    verbs = {"covers": "lie wholly inside", "contains": "contain", "starts": "start on", "ends": "end on"}
    kept = ("source", "cells", "condition", "hits", "spans", "lift", "q", "cadences")
    return {"verb": verbs[found["condition"]], "orig_q05": orig["enriched_q05"], **{k: found[k] for k in kept},
            "orig_enriched": orig["enriched"], "orig_with_cells": orig["with_cells"], "orig_share": orig["share"],
            "spread": spread, "same_original": hits(found["transposed"]["original"]), "same": same,
            "jaccard": jac, "shifts": ", ".join(k.split()[-1] for k in shifted)}


#: The default build's findings (recomputed by tests/unit/test_demo_findings.py), filled into
#: :data:`TEMPLATES` for the descriptions and the README.
STATED: dict[str, dict[str, Any]] = {
    "phrases": {"source": "layer1_h", "threshold": 0.3, "instances": 80, "with_cells": 35, "enriched": 9,
                "share": 0.1125, "covers": 0,
                "enriched_starts": [1450, 4914, 5165, 5407, 5711, 6638, 7024, 8507, 10622]},
    "shakespeare": {"source": "layer1_c", "cells": [15, 90], "hits": 32, "spans": 50, "lift": 25.10744937688985,
                    "q": 1.8609840309241984e-39},
    "chorales": {"source": "layer1_h",
                 "cells": [8, 25, 30, 63],
                 "threshold": 0.5,
                 "condition": "starts",
                 "hits": 28,
                 "spans": 50,
                 "lift": 5.949975669787509,
                 "q": 6.523669215941615e-16,
                 "cadences": 148,
                 "by_key": {"original": {"instances": 148,
                                         "with_cells": 115,
                                         "enriched": 14,
                                         "share": 0.0945945945945946,
                                         "enriched_q05": 51},
                            "up 2": {"instances": 148,
                                     "with_cells": 115,
                                     "enriched": 17,
                                     "share": 0.11486486486486487,
                                     "enriched_q05": 43},
                            "up 5": {"instances": 148,
                                     "with_cells": 120,
                                     "enriched": 13,
                                     "share": 0.08783783783783784,
                                     "enriched_q05": 47},
                            "up 6": {"instances": 148,
                                     "with_cells": 112,
                                     "enriched": 4,
                                     "share": 0.02702702702702703,
                                     "enriched_q05": 30}},
                 "transposed": {"original": {"spans": 50,
                                             "hits": 9,
                                             "lift": 2.1291575236426237,
                                             "q": 0.054517271639096004,
                                             "reselected_jaccard": 1.0},
                                "up 2": {"spans": 50,
                                         "hits": 8,
                                         "lift": 1.8738466996225829,
                                         "q": 0.28311901955182217,
                                         "reselected_jaccard": 0.0},
                                "up 5": {"spans": 50,
                                         "hits": 8,
                                         "lift": 1.7984409492101472,
                                         "q": 0.35471329956988196,
                                         "reselected_jaccard": 0.0},
                                "up 6": {"spans": 50,
                                         "hits": 12,
                                         "lift": 3.1576271893367673,
                                         "q": 0.0009673310538757381,
                                         "reselected_jaccard": 0.0}}},
    "parens": {"source": "layer1_c", "cells": [6, 8, 10, 16, 26, 31], "median_auroc": 0.9638420192789232,
               "min_auroc": 0.29649572937606616, "max_auroc": 0.9991658925049649, "cells_auroc_over_0_9": 9,
               "n_cells": 32, "best_label": "2", "best_condition": "covers", "best_lift": 5.2459855399811355,
               "best_q": 3.469047819064762e-07, "null_p": 0.76, "null_k": 99},
}

TEMPLATES: dict[str, str] = {
    "phrases": (
        "**Finding** (`lstmvis-db demo-finding phrases`): the text has {instances} determiner-adjective-noun "
        "phrases (spaCy tags DT JJ NN/NNS). Selecting each one's three words on `{source}` at threshold "
        "{threshold} picks cells for {with_cells} of them; the top-50 matches of only {enriched} ({share:.0%} "
        "of all {instances}) are enriched in noun chunks against the span null (a noun-chunk label, any "
        "condition, lift > 1, q <= 1e-6), and of {covers} by the strict condition covers (match wholly "
        "inside noun chunks). So this small model's phrase structure is weak: most such selections pick "
        "slow cells or none."),
    "shakespeare": (
        "**Finding** (`lstmvis-db demo-finding shakespeare`): the suggested selection picks cells {cells}; "
        "{hits} of its {spans} top matches lie wholly inside stage directions (lift {lift:.1f}, q = {q:.1e})."),
    "chorales": (
        "**Finding** (`lstmvis-db demo-finding chorales`): the suggested cadence selects cells {cells} of "
        "`{source}`; {hits} of their {spans} top matches {verb} an authentic cadence (lift {lift:.1f}, "
        "q = {q:.0e}, span null). Spread over instances: of all {cadences} authentic cadences of the held-out "
        "chorales, each selected the same way, {orig_with_cells} pick cells and {orig_enriched} ({orig_share:.0%}) "
        "have top-50 matches enriched in authentic cadences at q <= 1e-6 ({orig_q05} at q <= 0.05); in the "
        "transposed copies: {spread}. "
        "Across keys: the same cells, found in the original key, among the held-out chorales in their own keys "
        "hit authentic cadences with {same_original} of their top matches, and in the copies {same}; selecting "
        "the same two chords in the copies transposed up {shifts} picks cell sets with Jaccard {jaccard} to the "
        "original's. So the hypothesis is real where it was selected but neither general over cadences nor "
        "independent of the key: these cells follow particular chord symbols more than the cadence."),
    "parens": (
        "**Finding** (`lstmvis-db demo-finding parens`): the suggested cells {cells} separate nested "
        "positions (depth >= 1) from top-level ones with AUROC {min_auroc:.2f}-{max_auroc:.2f} (median "
        "{median_auroc:.2f}; `lstmvis-db cells`); their matches' best test is depth {best_label} "
        "({best_condition}, lift {best_lift:.2f}, q = {best_q:.1e}). But the random-cell-set null gives "
        "p = {null_p:.2f} over {null_k} random sets of as many cells, and {cells_auroc_over_0_9} of the "
        "{n_cells} cells reach AUROC > 0.9: in this small model most cells follow depth, so the "
        "selection itself is not special."),
}


def stated_finding(name: str, size: str) -> str:
    """The finding sentence of demo ``name``: the default build's numbers; for the full build its
    own where they were measured (:mod:`lstmvis_db.demos.full_findings`), else the default build's,
    with how to compute them on this one."""
    from lstmvis_db.demos.full_findings import FULL_STATED, MEASURED

    full = FULL_STATED.get(name) if size == "full" else None
    numbers = full or STATED.get(name)
    if not numbers:
        return ""
    text = TEMPLATES[name].format(**(chorale_numbers(numbers) if name == "chorales" else numbers))
    recompute = f"`lstmvis-db demo-finding {name} --db FILE`"
    if full:
        return f"{text} (Measured on a full build made on the project machine: {MEASURED[name]}; {recompute}.)"
    if size == "full":
        return f"On the default build: {text} Recompute on this build with {recompute}."
    return text
