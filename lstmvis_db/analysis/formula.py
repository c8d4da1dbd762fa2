"""Explain a cell set by a formula (Mu and Andreas, NeurIPS 2020, compositional explanations):
the AND / OR / AND NOT / OR NOT combination of at most ``max_terms`` label primitives (label l
of categorical track T at the position, or shifted by -1 / +1 inside the document) whose
indicator best matches the cells' joint on-set (every cell on) by IoU.

Search: beam search over left-deep formulas ((p1 op p2) op p3).  Level 1 scores every
primitive; each next level extends each of the ``beam`` best formulas so far by every primitive
and operator.  With ``beam`` >= the number of primitives it is exhaustive for two terms.  Ties:
higher IoU, then fewer terms, then the formula's text.  Indicators are packed 64 positions to a
word, so one candidate costs two AND/OR passes and popcounts over N/64 words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from lstmvis_db.analysis import _labels
from lstmvis_db.analysis.coactivation import cell_thresholds, on_matrix
from lstmvis_db.errors import QueryError
from lstmvis_db.queries import Catalog, check_cells

OPS = ("AND", "OR", "AND NOT", "OR NOT")
MAX_LABELS = 60  # most frequent labels per track taken as primitives


class Term(TypedDict):
    op: str | None
    track: str
    label: str
    shift: int


class Explanation(TypedDict):
    formula: str
    iou: float
    precision: float
    recall: float
    terms: list[Term]


class ExplainResult(TypedDict):
    source: str
    cells: list[int]
    thresholds: dict[str, float]
    target: int
    primitives: int
    best: Explanation | None
    alternatives: list[Explanation]


@dataclass(frozen=True)
class _Prim:
    track: str
    label: str
    shift: int

    def text(self) -> str:
        where = "" if self.shift == 0 else f"[{self.shift:+d}]"
        return f"{self.track}{where} = {self.label}"


_Terms = list[tuple[str | None, "_Prim"]]
_State = tuple[float, _Terms, int, int]  # (IoU, terms, |F and T|, |F|)


def _pack(x: np.ndarray) -> np.ndarray:
    b = np.packbits(x, bitorder="little")
    pad = (-len(b)) % 8
    return np.concatenate([b, np.zeros(pad, np.uint8)]).view(np.uint64)


def _count(words: np.ndarray) -> int:
    return int(np.bitwise_count(words).sum())


def _shifted(ind: np.ndarray, shift: int, doc: np.ndarray) -> np.ndarray:
    """ind at pos + shift, false where pos + shift leaves the document."""
    out = np.zeros_like(ind)
    if shift > 0:
        out[:-shift] = ind[shift:] & (doc[shift:] == doc[:-shift])
    elif shift < 0:
        out[-shift:] = ind[:shift] & (doc[:shift] == doc[-shift:])
    else:
        out[:] = ind
    return out


def _primitives(cat: Catalog, tracks: list[str], shifts: tuple[int, ...]) -> tuple[list[_Prim], list[np.ndarray]]:
    doc = np.searchsorted(cat.doc_first, np.arange(cat.n_positions), side="right") - 1
    prims, bits = [], []
    for track in tracks:
        tr = _labels.categorical(cat, track)
        counts = np.bincount(tr.codes[tr.codes >= 0], minlength=len(tr.labels))
        keep = [k for k in np.argsort(-counts, kind="stable")[:MAX_LABELS] if counts[k] > 0]
        for k in sorted(keep):
            ind = tr.codes == k
            for s in shifts:
                prims.append(_Prim(track, tr.labels[k], s))
                bits.append(_pack(_shifted(ind, s, doc)))
    return prims, bits


def _combine(f: np.ndarray, p: np.ndarray, op: str, valid: np.ndarray) -> np.ndarray:
    if op == "AND":
        return f & p
    if op == "OR":
        return f | p
    if op == "AND NOT":
        return f & ~p & valid
    return (f | ~p) & valid


def _extensions(f: np.ndarray, bits: np.ndarray, target: np.ndarray, n: int, nb: np.ndarray, nbt: np.ndarray,
                n_target: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For every primitive B and operator: (|f op B ∧ T|, |f op B|), from two popcount passes."""
    nf, nft = _count(f), _count(f & target)
    fb = np.bitwise_count(bits & f).sum(axis=1, dtype=np.int64)
    fbt = np.bitwise_count(bits & (f & target)).sum(axis=1, dtype=np.int64)
    return {
        "AND": (fbt, fb),
        "OR": (nft + nbt - fbt, nf + nb - fb),
        "AND NOT": (nft - fbt, nf - fb),
        "OR NOT": (n_target - (nbt - fbt), n - nb + fb),
    }


def _text(terms: list[tuple[str | None, _Prim]]) -> str:
    text = terms[0][1].text()
    for i, (op, p) in enumerate(terms[1:]):
        text = f"{'(' + text + ')' if i else text} {op} {p.text()}"
    return text


def _explanation(terms: list[tuple[str | None, _Prim]], inter: int, size: int, n_target: int) -> Explanation:
    union = size + n_target - inter
    return Explanation(formula=_text(terms), iou=inter / union if union else 0.0,
                       precision=inter / size if size else 0.0, recall=inter / n_target if n_target else 0.0,
                       terms=[Term(op=op, track=p.track, label=p.label, shift=p.shift) for op, p in terms])


def explain(cat: Catalog, source: str, cells: object, threshold: float | None = None, quantile: float | None = None,
            tracks: list[str] | None = None, max_terms: int = 3, beam: int = 5, shifts: bool = True) -> ExplainResult:
    """The best formula for the joint on-set of ``cells`` (and the runners-up of the last beam)."""
    info = cat.source(source)
    sel = check_cells(info, cells)
    if len(sel) == 0:
        raise QueryError("give at least one cell")
    if int(max_terms) != max_terms or not 1 <= max_terms <= 3:
        raise QueryError(f"a formula has 1 to 3 terms, got {max_terms!r}")
    if int(beam) != beam or beam < 1:
        raise QueryError(f"beam must be an integer >= 1, got {beam!r}")
    names = _labels.categorical_names(cat) if tracks is None else list(tracks)
    for name in names:
        _labels.check_track(cat, name)
    if not names:
        raise QueryError("the project has no categorical track to explain with")
    t = cell_thresholds(cat, info, sel, threshold, quantile)
    on = np.asarray(on_matrix(cat, info, sel, t).all(axis=1))
    target = _pack(on)
    n_target = int(on.sum())
    valid = _pack(np.ones(cat.n_positions, dtype=bool))
    prims, bits = _primitives(cat, names, (-1, 0, 1) if shifts else (0,))
    base = ExplainResult(source=source, cells=[int(c) for c in sel], thresholds={str(c): float(x) for c, x in
                                                                                 zip(sel, t)},
                         target=n_target, primitives=len(prims), best=None, alternatives=[])
    if n_target == 0 or not prims:
        return base
    B = np.stack(bits)
    n = cat.n_positions
    nb = np.bitwise_count(B).sum(axis=1, dtype=np.int64)
    nbt = np.bitwise_count(B & target).sum(axis=1, dtype=np.int64)
    # a state: (iou, terms, inter, size); the beam keeps the best ``beam`` of each level
    level: list[_State] = [(_iou(int(nbt[j]), int(nb[j]), n_target), [(None, prims[j])], int(nbt[j]), int(nb[j]))
             for j in range(len(prims))]
    found = list(level)
    for _ in range(int(max_terms) - 1):
        level.sort(key=lambda st: (-st[0], _key(st[1])))
        nxt: list[_State] = []
        for _iou0, terms, _i, _s in level[: int(beam)]:
            f = bits[prims.index(terms[0][1])]
            for op, p in terms[1:]:
                f = _combine(f, bits[prims.index(p)], str(op), valid)
            used = {prims.index(p) for _, p in terms}
            for op, (inter, size) in _extensions(f, B, target, n, nb, nbt, n_target).items():
                union = size + n_target - inter
                iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
                for j in np.argsort(-iou, kind="stable")[: int(beam) + len(used)]:
                    if int(j) not in used:
                        nxt.append((float(iou[j]), [*terms, (op, prims[int(j)])], int(inter[j]), int(size[j])))
        level = nxt
        found += nxt
    found.sort(key=lambda st: (-st[0], len(st[1]), _key(st[1])))
    top: list[Explanation] = []
    seen: set[tuple] = set()
    for st in found:  # a mirror (p OR q / q OR p) adds nothing: keep the first of each
        key = (st[2], st[3], frozenset(p for _, p in st[1]), tuple(sorted(str(op) for op, _ in st[1])))
        if key not in seen:
            seen.add(key)
            top.append(_explanation(st[1], st[2], st[3], n_target))
        if len(top) == 5:
            break
    base["best"], base["alternatives"] = top[0], top[1:]
    return base


def _iou(inter: int, size: int, n_target: int) -> float:
    union = size + n_target - inter
    return inter / union if union else 0.0


def _key(terms: list[tuple[str | None, _Prim]]) -> str:
    return " ".join(f"{op} {p.text()}" for op, p in terms)
