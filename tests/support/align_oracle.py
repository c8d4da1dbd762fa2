"""A slow, plain oracle of docs/analysis.md, written from its words (no lstmvis_db code).

Spans and documents are plain Python; the null is enumerated span by span; the Poisson-binomial
tail is the full convolution of the Bernoulli distributions (Fractions, or float64 for larger n);
BH is the textbook step-up formula.
"""

from __future__ import annotations

import math
from fractions import Fraction

CONDITIONS = ("contains", "covers", "starts", "ends")


def doc_of(docs: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    return next((a, b) for a, b in docs if a <= pos <= b)


def holds(codes: list[int], s: int, ln: int, label: int, cond: str) -> bool:
    window = codes[s:s + ln]
    if cond == "contains":
        return label in window
    if cond == "covers":
        return all(c == label for c in window)
    if cond == "starts":
        return window[0] == label
    return window[-1] == label


def null_pi(codes: list[int], docs, s: int, ln: int, label: int, cond: str) -> Fraction:
    first, last = doc_of(docs, s)
    starts = range(first, last - ln + 2)
    return Fraction(sum(holds(codes, x, ln, label, cond) for x in starts), len(starts))


def tail(pis: list, h: int) -> float:
    """P(X >= h) by full convolution (exact with Fractions)."""
    dist = [Fraction(1)] if isinstance(pis[0] if pis else Fraction(0), Fraction) else [1.0]
    for p in pis:
        new = [dist[0] * (1 - p)] + [dist[k] * (1 - p) + dist[k - 1] * p for k in range(1, len(dist))] + [dist[-1] * p]
        dist = new
    return float(sum(dist[h:])) if h < len(dist) else 0.0


def bh(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        q[i] = running
    return q


def tests(tracks: dict[str, tuple[list[int], list[str]]], docs, spans, conditions=CONDITIONS, exact=True) -> list[dict]:
    """Rows (track, label, condition, hits, expected, lift, p, q) for every label occurring in the corpus."""
    rows = []
    for name, (codes, labels) in tracks.items():
        for j, lab in enumerate(labels):
            if j not in codes:
                continue
            for cond in conditions:
                pis = [null_pi(codes, docs, s, ln, j, cond) for s, ln in spans]
                hits = sum(holds(codes, s, ln, j, cond) for s, ln in spans)
                expected = sum(pis)
                p = tail(pis if exact else [float(x) for x in pis], hits)
                rows.append({"track": name, "label": lab, "condition": cond, "hits": hits,
                             "expected": float(expected), "lift": float(hits / expected) if expected else None,
                             "p": p})
    for r, q in zip(rows, bh([r["p"] for r in rows])):
        r["q"] = q
    return rows


def shares(codes: list[int], labels: list[str], docs, spans) -> dict[str, tuple[float, float]]:
    covered = sorted({x for s, ln in spans for x in range(s, s + ln)})
    held = {doc_of(docs, s) for s, _ in spans}
    around = [x for a, b in held for x in range(a, b + 1)]
    inside = [codes[x] for x in covered if codes[x] >= 0]
    corp = [codes[x] for x in around if codes[x] >= 0]
    out = {}
    for j, lab in enumerate(labels):
        sh = inside.count(j) / len(inside) if inside else 0.0
        cs = corp.count(j) / len(corp) if corp else 0.0
        if sh > 0 or cs > 0:
            out[lab] = (sh, cs)
    return out


def scalar_moments(values: list[float], docs, spans) -> tuple:
    covered = sorted({x for s, ln in spans for x in range(s, s + ln)})
    held = {doc_of(docs, s) for s, _ in spans}
    around = [x for a, b in held for x in range(a, b + 1)]

    def mom(xs):
        v = [values[x] for x in xs if not math.isnan(values[x])]
        if not v:
            return None, None
        mu = sum(v) / len(v)
        return mu, math.sqrt(sum((x - mu) ** 2 for x in v) / len(v))

    return (*mom(covered), *mom(around))
