"""Plain, slow oracles of docs/analysis.md (selectivity, profile, co-activation), written from
the spec's words with loops and brute force, independent of lstmvis_db.analysis.

Also a builder of small random projects with documents, a categorical track with missing
labels, repeated token strings (for the control task) and values that pile up in a few
buckets (saturated), so bucket ties are exercised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import lstmvis_db
from lstmvis_db import Document, ProjectData, Source, Track


@dataclass
class Corpus:
    path: Path
    values: np.ndarray  # (N, D) float32
    docs: list[tuple[int, int]]
    tokens: list[str]
    labels: list[str | None]  # track "tag"
    labels2: list[str | None]  # track "kind"


def copy_project(path: Path, folder: Path, name: str, sql=()) -> Path:
    """A copy of the project file ``path`` as ``folder/name.duckdb``, with the statements ``sql``
    run on it (dropping or damaging what ingest kept)."""
    import shutil

    import duckdb

    out = folder / f"{name}.duckdb"
    shutil.copyfile(path, out)
    with duckdb.connect(str(out)) as con:
        for stmt in sql:
            con.execute(stmt)
    return out


def random_corpus(folder: Path, seed: int, n: int = 300, d: int = 6, saturate: bool = True) -> Corpus:
    rng = np.random.default_rng(seed)
    vals = rng.normal(0, 0.6, size=(n, d)).astype(np.float32)
    if saturate:  # values piled on a few exact values, many sharing one bucket
        mask = rng.random((n, d)) < 0.4
        vals[mask] = rng.choice(np.array([1.0, 0.999999, 0.99999, -1.0, 0.3], np.float32), size=int(mask.sum()))
    tags = ["A", "B", "C"]
    labels = [None if rng.random() < 0.1 else tags[int(rng.integers(3))] for _ in range(n)]
    for c in range(min(2, d)):  # cells 0 and 1 lean towards label A
        vals[:, c] += np.array([0.8 if lab == "A" else 0.0 for lab in labels], np.float32)
    labels2 = [["x", "y"][int(rng.integers(2))] for _ in range(n)]
    tokens = [f"w{int(rng.integers(12))}" for _ in range(n)]
    cuts = sorted(rng.choice(np.arange(5, n - 5), size=3, replace=False).tolist())
    bounds = [0, *cuts, n]
    docs = [(bounds[i], bounds[i + 1] - 1) for i in range(len(bounds) - 1)]
    path = folder / f"c{seed}.duckdb"
    lstmvis_db.write_project(path, ProjectData(
        name="cells", tokens=tokens, sources=[Source("s", vals), Source("t", vals[:, ::-1].copy() * 0.5)],
        documents=[Document(f"d{i}", a, b) for i, (a, b) in enumerate(docs)],
        tracks=[Track("tag", "categorical", labels=labels), Track("kind", "categorical", labels=labels2),
                Track("score", "scalar", values=rng.normal(size=n))],
    ))
    return Corpus(path, vals, docs, tokens, labels, labels2)


# --------------------------------------------------------------------------- §4


def auroc(v: list[float], y: list[bool]) -> float | None:
    pos = [a for a, b in zip(v, y) if b]
    neg = [a for a, b in zip(v, y) if not b]
    if not pos or not neg:
        return None
    s = 0.0
    for a in pos:
        for b in neg:
            s += 1.0 if a > b else 0.5 if a == b else 0.0
    return s / (len(pos) * len(neg))


def mean_diff(v: list[float], y: list[bool]) -> float | None:
    a = [x for x, b in zip(v, y) if b]
    b_ = [x for x, b in zip(v, y) if not b]
    if not a or not b_:
        return None
    return sum(a) / len(a) - sum(b_) / len(b_)


def prec_rec_iou(v: list[float], y: list[bool], t: float) -> tuple[float | None, float | None, float | None]:
    on = [x >= t for x in v]
    both = sum(1 for o, b in zip(on, y) if o and b)
    n_on, n_y = sum(on), sum(y)
    union = sum(1 for o, b in zip(on, y) if o or b)
    return (both / n_on if n_on else None, both / n_y if n_y else None, both / union if union else None)


def control_labels(tokens: list[str], labels: list[str | None], seed: int) -> list[str | None]:
    """Hewitt-Liang control as this project seeds it: the distinct token strings in sorted
    order each draw one label with numpy's default_rng(seed).choice over the label codes
    (labels in the track's category order: first seen), weighted by their frequency."""
    cats = list(dict.fromkeys(lab for lab in labels if lab is not None))
    freq = np.array([sum(1 for lab in labels if lab == c) for c in cats], dtype=np.float64)
    types = sorted(set(tokens))
    drawn = np.random.default_rng(seed).choice(len(cats), size=len(types), p=freq / freq.sum())
    of = {t: cats[int(k)] for t, k in zip(types, drawn)}
    return [of[t] if lab is not None else None for t, lab in zip(tokens, labels)]


def quantile_cont(values: list[float], q: float) -> float:
    return duckdb_quantiles(values, [q])[0]


# --------------------------------------------------------------------------- §5


def duckdb_quantiles(values: list[float], levels: list[float]) -> list[float]:
    """DuckDB's own quantile_cont over the values as DOUBLE (the spec's reference)."""
    import duckdb
    import pandas as pd

    con = duckdb.connect()
    con.register("v", pd.DataFrame({"x": np.asarray(values, dtype=np.float64)}))
    out = [float(con.execute("SELECT quantile_cont(x, ?) FROM v", [q]).fetchone()[0]) for q in levels]
    con.close()
    return out


def top_contexts(values: dict[int, float], doc_of: dict[int, int], k: int, gap: int, largest: bool) -> list[int]:
    """Positions of the k largest (smallest) values, ties to the smaller position, each >= gap
    away from every higher-ranked one in the same document (brute force over all positions)."""
    ranked = sorted(values, key=lambda p: ((-values[p]) if largest else values[p], p))
    chosen: list[int] = []
    for p in ranked:
        if len(chosen) == k:
            break
        if all(doc_of[q] != doc_of[p] or abs(q - p) >= gap for q in chosen):
            chosen.append(p)
    return chosen


def doc_index(docs: list[tuple[int, int]]) -> dict[int, int]:
    return {p: i for i, (a, b) in enumerate(docs) for p in range(a, b + 1)}


# --------------------------------------------------------------------------- §6


def coactivation(on: np.ndarray, a: int, b: int, keep: list[int]) -> tuple[float | None, float | None, float | None]:
    """lift, PMI, phi of indicators on[:, a] and on[:, b] over positions keep."""
    return _lift_pmi_phi([bool(on[p, a]) for p in keep], [bool(on[p, b]) for p in keep])


def lagged(on: np.ndarray, docs: list[tuple[int, int]], a: int, b: int, k: int, keep: set[int] | None = None):
    """a on at pos, and b on somewhere in (pos, pos+k] of the same document; positions whose
    window is empty (the document's last) are left out."""
    xa, xb = [], []
    for first, last in docs:
        for p in range(first, last + 1):
            if p == last or (keep is not None and p not in keep):
                continue
            window = range(p + 1, min(last, p + k) + 1)
            xa.append(bool(on[p, a]))
            xb.append(any(bool(on[q, b]) for q in window))
    return _lift_pmi_phi(xa, xb)


def _lift_pmi_phi(xa: list[bool], xb: list[bool]):
    n = len(xa)
    pa = sum(xa) / n
    pb = sum(xb) / n
    pab = sum(1 for u, v in zip(xa, xb) if u and v) / n
    lift = pab / (pa * pb) if pa * pb > 0 else None
    pmi = math.log2(lift) if lift else None
    den = math.sqrt(pa * (1 - pa) * pb * (1 - pb))
    phi = (pab - pa * pb) / den if den > 0 else None
    return lift, pmi, phi


# --------------------------------------------------------------------------- formulas


def primitive(labels: list[str | None], docs: list[tuple[int, int]], label: str, shift: int) -> list[bool]:
    """label at pos + shift, false when pos + shift is outside pos's document."""
    out = []
    for first, last in docs:
        for p in range(first, last + 1):
            q = p + shift
            out.append(first <= q <= last and labels[q] == label)
    return out


def combine(f: list[bool], g: list[bool], op: str) -> list[bool]:
    return {"AND": [a and b for a, b in zip(f, g)], "OR": [a or b for a, b in zip(f, g)],
            "AND NOT": [a and not b for a, b in zip(f, g)], "OR NOT": [a or not b for a, b in zip(f, g)]}[op]


def iou_pr(f: list[bool], target: list[bool]) -> tuple[float, float, float]:
    inter = sum(1 for a, b in zip(f, target) if a and b)
    union = sum(1 for a, b in zip(f, target) if a or b)
    size, n_t = sum(f), sum(target)
    return (inter / union if union else 0.0, inter / size if size else 0.0, inter / n_t if n_t else 0.0)
