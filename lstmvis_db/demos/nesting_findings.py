"""The nesting findings of the Python demo, computed by the tool's own statistics
(``Project.cells`` for the cells ranking, ``Project.select`` / ``Project.align`` with the span
null, BH q-values and the random-cell-set null).

* :func:`python_finding`: over all sources, the cell that best separates ``in_brackets`` =
  inside (bracket depth >= 1) from outside by AUROC (either way: higher or lower inside), and the
  same for each ``indent`` level 0-3 against the other levels; the suggested bracket
  hypothesis against ``in_brackets`` (covers: the whole match inside brackets) with its
  random-cell-set null; and, over every bracket pair of the text opened at depth 0 whose inside
  spans at least :data:`MIN_INSIDE` characters (all such instances, not one picked example), how
  many selections of the bracket and its next 7 characters pick cells whose top-50 matches lie
  inside brackets at q <= 1e-6 (covers, lift > 1).
* :func:`parens_depth_cells`: in the parens demo, for each depth label 0-4 the cell (over all
  sources) that best separates it from the other depths by AUROC, either way.

:data:`STATED` and :data:`PARENS_DEPTH_STATED` hold what the default builds' descriptions and the README say; the tests
recompute it on a fresh default build (tests/unit/test_demo_python.py); the full build's
numbers, measured once, are in :mod:`lstmvis_db.demos.full_findings`.  Imports the standard
library, :mod:`lstmvis_db.errors` and that data module; the project is passed in.
"""

from __future__ import annotations

from typing import Any

from lstmvis_db.errors import QueryError

__all__ = ["MIN_INSIDE", "PARENS_DEPTH_STATED", "STATED", "TEMPLATE", "bracket_instances", "parens_depth_cells",
           "python_finding", "stated_parens_depth", "stated_python_finding"]

Q_MAX = 1e-6
MIN_INSIDE = 20
SPAN = 8
INDENT_LEVELS = ("0", "1", "2", "3")


def _depths(project: Any) -> list[int]:
    frame = project.annotations("bracket_depth", list(range(project.n_positions)))
    out = [0] * project.n_positions
    for pos, value in zip(frame["pos"], frame["value"]):
        out[int(pos)] = int(value)
    return out


def bracket_instances(project: Any) -> list[int]:
    """Positions of every opening bracket entered from depth 0 whose bracket pair holds at least
    :data:`MIN_INSIDE` characters, inside one document."""
    depth = _depths(project)
    docs = project.documents
    spans = sorted(zip(docs["first_pos"].astype(int), docs["last_pos"].astype(int)))
    out: list[int] = []
    for a, b in spans:
        i = a
        while i <= b:
            if depth[i] == 1 and (i == a or depth[i - 1] == 0):
                j = i
                while j <= b and depth[j] >= 1:
                    j += 1
                if j - i - 1 >= MIN_INSIDE:
                    out.append(i)
                i = j
            else:
                i += 1
    return out


def _best(project: Any, source: str, track: str, label: str) -> dict[str, Any]:
    """The cell of ``source`` that best separates ``label`` from the rest, either way: AUROC for
    the label (higher on it) or 1 - AUROC (lower on it; every position has a label, so that is
    the AUROC of the rest)."""
    rows = [r for r in project.cells(source, track, label)["cells"] if r["auroc"] is not None]
    scored = [(max(float(r["auroc"]), 1.0 - float(r["auroc"])), -int(r["cell"]), r) for r in rows]
    auroc, _, top = max(scored, key=lambda x: (x[0], x[1]))
    return {"source": source, "cell": int(top["cell"]), "auroc": auroc,
            "direction": "higher" if float(top["auroc"]) >= 0.5 else "lower",
            "over_0_9": sum(a > 0.9 for a, _, _ in scored)}


def _covers(project: Any, source: str, cells: list[int], threshold: float, **kw: Any) -> dict[str, Any]:
    result = project.align(source, cells, threshold, tracks=["in_brackets"], conditions=["covers"], **kw)
    row = next(r for r in result["tests"] if r["label"] == "inside")
    return {"hits": row["hits"], "spans": result["spans"], "lift": row["lift"], "q": row["q"],
            "null": result.get("cell_null")}


def python_finding(project: Any, null_cells: int = 99, seed: int = 0) -> dict[str, Any]:
    """The Python demo's finding (see the module docstring)."""
    meta = project.meta()
    source, threshold = meta["suggest_source"], float(meta["suggest_threshold"])
    best_bracket = max((_best(project, s, "in_brackets", "inside") for s in project.sources),
                       key=lambda r: r["auroc"])
    over = sum(_best(project, s, "in_brackets", "inside")["over_0_9"] for s in project.sources)
    indent = {level: max((_best(project, s, "indent", level) for s in project.sources), key=lambda r: r["auroc"])
              for level in INDENT_LEVELS}
    cells = project.select(source, int(meta["suggest_start"]), int(meta["suggest_end"]), threshold)
    try:
        suggested = _covers(project, source, cells, threshold, null_cells=null_cells, seed=seed)
    except QueryError:  # no cell or no match: nothing to test
        suggested = {"hits": 0, "spans": 0, "lift": None, "q": None, "null": None}
    instances = bracket_instances(project)
    picked = [c for start in instances if (c := project.select(source, start, start + SPAN - 1, threshold))]
    with_cells, enriched = len(picked), 0
    # align of each selection, every cell's bits read once (None: no match at all)
    for result in project.align_each(source, picked, threshold, tracks=["in_brackets"], conditions=["covers"]):
        row = None if result is None else next(r for r in result["tests"] if r["label"] == "inside")
        enriched += bool(row is not None and row["q"] <= Q_MAX and (row["lift"] or 0.0) > 1.0)
    null = suggested["null"]
    return {
        "source": source, "threshold": threshold, "cells": cells,
        "bracket_source": best_bracket["source"], "bracket_cell": best_bracket["cell"],
        "bracket_auroc": best_bracket["auroc"], "bracket_direction": best_bracket["direction"],
        "bracket_over_0_9": over, "n_cells": 128 * len(project.sources),
        "indent": {lv: {k: r[k] for k in ("source", "cell", "auroc", "direction")} for lv, r in indent.items()},
        "hits": suggested["hits"], "spans": suggested["spans"], "lift": suggested["lift"], "q": suggested["q"],
        "null_p": None if null is None else null["p"], "null_k": null_cells,
        "instances": len(instances), "with_cells": with_cells, "enriched": enriched,
    }


#: The default build's finding (recomputed by tests/unit/test_demo_python.py).
STATED: dict[str, Any] = {"source": "layer1_c",
     "threshold": 0.3,
     "cells": [70, 78],
     "bracket_source": "layer2_c",
     "bracket_cell": 121,
     "bracket_auroc": 0.8741255141273577,
     "bracket_direction": "lower",
     "bracket_over_0_9": 0,
     "n_cells": 512,
     "indent": {"0": {"source": "layer2_c", "cell": 79, "auroc": 0.8722208816882476, "direction": "higher"},
                "1": {"source": "layer2_c", "cell": 79, "auroc": 0.6761037098835004, "direction": "higher"},
                "2": {"source": "layer2_c", "cell": 18, "auroc": 0.6311297853153582, "direction": "higher"},
                "3": {"source": "layer2_c", "cell": 107, "auroc": 0.7120685766206605, "direction": "lower"}},
     "hits": 20,
     "spans": 50,
     "lift": 4.021830885274439,
     "q": 3.1663907352760514e-08,
     "null_p": 0.03,
     "null_k": 99,
     "instances": 66,
     "with_cells": 61,
     "enriched": 11}

TEMPLATE = (
    "**Finding** (`lstmvis-db demo-finding python`): {lead}. The cell that best separates positions "
    "inside brackets from the rest (`in_brackets`, `lstmvis-db cells`) is {bracket_source} cell "
    "{bracket_cell}, {bracket_direction} inside, AUROC "
    "{bracket_auroc:.2f} ({bracket_over_0_9} of the {n_cells} cells exceed 0.9); for the indentation levels "
    "0-3 (`indent`, each against the others) the best cells reach AUROC {indent_text}. The suggested "
    "selection picks cells {cells} of `{source}`; {hits} of its {spans} top matches lie wholly inside "
    "brackets (lift {lift:.2f}, q = {q:.1e}), and the random-cell-set null gives p = {null_p:.2f} over "
    "{null_k} random sets of as many cells. Over all {instances} bracket pairs opened at depth 0 with at "
    "least 20 characters inside, selecting the bracket and its next 7 characters on `{source}` at "
    "{threshold} picks cells for {with_cells}, and the matches of only {enriched} of them lie inside "
    "brackets at q <= 1e-6 (covers, lift > 1).")


def _fill(numbers: dict[str, Any]) -> str:
    indent_text = ", ".join(f"{v['auroc']:.2f} (level {lv}: {v['source']} cell {v['cell']}, {v['direction']})"
                            for lv, v in numbers["indent"].items())
    lead = ("no single cell tracks nesting sharply in this small model" if not numbers["bracket_over_0_9"]
            else "a few cells follow bracket nesting, none indentation past level 0, and the suggested selection "
                 "is only weakly special")
    return TEMPLATE.format(**numbers, indent_text=indent_text, lead=lead)


def stated_python_finding(size: str) -> str:
    """The finding sentence: the default build's numbers; for the full build its own, measured
    once (:mod:`lstmvis_db.demos.full_findings`), or failing that the default build's with how to
    compute them on this one."""
    from lstmvis_db.demos.full_findings import FULL_STATED, MEASURED

    recompute = "`lstmvis-db demo-finding python --db FILE`"
    if size == "full" and "python" in FULL_STATED:
        text = _fill(FULL_STATED["python"])
        return f"{text} (Measured on a full build made on the project machine: {MEASURED['python']}; {recompute}.)"
    if not STATED:
        return ""
    text = _fill(STATED)
    if size == "full":
        return f"On the default build: {text} Recompute on this build with {recompute}."
    return text


def parens_depth_cells(project: Any) -> list[dict[str, Any]]:
    """For each depth label 0-4 of the parens demo, the best-separating cell over all sources."""
    out = []
    for label in ("0", "1", "2", "3", "4"):
        best = max((_best(project, s, "depth", label) for s in project.sources),
                   key=lambda r: (r["auroc"], -project.sources.index(r["source"])))
        out.append({"depth": label, **{k: best[k] for k in ("source", "cell", "auroc", "direction")}})
    return out


#: The parens default build's depth cells (recomputed by tests/unit/test_demo_python.py).
PARENS_DEPTH_STATED: list[dict[str, Any]] = [
    {"depth": "0", "source": "layer1_h", "cell": 20, "auroc": 1.0, "direction": "higher"},
    {"depth": "1", "source": "layer2_h", "cell": 0, "auroc": 0.9992499161356432, "direction": "lower"},
    {"depth": "2", "source": "layer2_h", "cell": 30, "auroc": 0.9999349541563617, "direction": "lower"},
    {"depth": "3", "source": "layer2_h", "cell": 19, "auroc": 0.9805981956440113, "direction": "higher"},
    {"depth": "4", "source": "layer2_h", "cell": 1, "auroc": 1.0, "direction": "lower"},
]


def stated_parens_depth() -> str:
    """The depth-cells sentence of the parens description (the default build's numbers)."""
    if not PARENS_DEPTH_STATED:
        return ""
    parts = ", ".join(f"depth {r['depth']}: {r['source']} cell {r['cell']} ({r['direction']}, {r['auroc']:.3f})"
                      for r in PARENS_DEPTH_STATED)
    return ("**Depth cells** (`lstmvis-db cells --track depth`): for every depth one cell separates it from the "
            f"other depths with AUROC near 1 ({parts}).")
