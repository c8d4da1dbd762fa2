"""The findings each demo states, computed by the tool's own statistics (``Project.select``,
``Project.match`` through ``Project.align``, and ``Project.cells``).

* :func:`phrase_finding`: over every determiner-adjective-noun instance of the text (Penn tags
  ``DT JJ NN``/``NNS`` in one document), select the three words' cells, match them (top 50) and
  test the matches with the span null against ``noun_chunk`` and ``chunk_iob`` (all four
  conditions, one BH family per instance): an instance counts as enriched in noun chunks when a
  row for a noun-chunk label (``noun chunk``, ``begin``, ``inside``) has lift > 1 and q <= 1e-6.
  How many instances are, and how many by the strictest condition alone (``covers``: the whole
  match inside noun chunks).
* :func:`parens_finding`: the suggested depth hypothesis's cells, their AUROC for the depth it
  enters (``Project.cells``) and the random-cell-set null of its matches' best lift.
* :func:`stage_finding`: the character demo's suggested bracket hypothesis against
  ``stage_direction``.

:data:`STATED` holds what the default build's descriptions and the README say; the tests
recompute them on a fresh default build (tests/unit/test_demo_findings.py).  Imports only the
public API types; the project is passed in.
"""

from __future__ import annotations

from typing import Any, TypedDict

from lstmvis_db.errors import QueryError

__all__ = ["STATED", "TEMPLATES", "PhraseFinding", "parens_finding", "phrase_finding", "stage_finding",
           "stated_finding"]

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
    with_cells = covers = 0
    enriched: list[int] = []
    for s in instances:
        cells = project.select(source, s, s + 2, threshold)
        if not cells:
            continue
        with_cells += 1
        try:
            result = project.align(source, cells, threshold, tracks=["noun_chunk", "chunk_iob"])
        except QueryError:  # these cells have no match at all: not enriched
            continue
        rows = _enriched_rows(result)
        if rows:
            enriched.append(s)
        covers += any(r["condition"] == "covers" for r in rows)
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


#: The default build's findings (recomputed by tests/unit/test_demo_findings.py), filled into
#: :data:`TEMPLATES` for the descriptions and the README.
STATED: dict[str, dict[str, Any]] = {
    "phrases": {"source": "layer1_h", "threshold": 0.3, "instances": 80, "with_cells": 35, "enriched": 9,
                "share": 0.1125, "covers": 0,
                "enriched_starts": [1450, 4914, 5165, 5407, 5711, 6638, 7024, 8507, 10622]},
    "shakespeare": {"source": "layer1_c", "cells": [15, 90], "hits": 32, "spans": 50, "lift": 25.10744937688985,
                    "q": 1.8609840309241984e-39},
    "parens": {"source": "layer1_c", "cells": [6, 8, 10, 16, 26, 31], "median_auroc": 0.9638476241016679,
               "min_auroc": 0.2965008345716037, "max_auroc": 0.9991621038626364, "cells_auroc_over_0_9": 9,
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
    """The finding sentence of demo ``name``: the default build's numbers, or for the full build
    the default build's with how to compute them on this one."""
    numbers = STATED.get(name)
    if not numbers:
        return ""
    text = TEMPLATES[name].format(**numbers)
    if size == "full":
        return f"On the default build: {text} Recompute on this build with `lstmvis-db demo-finding {name} --db FILE`."
    return text
