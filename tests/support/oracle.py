"""A plain, slow, obviously-correct numpy/Python oracle of docs/semantics.md §Matching (select and match).

Written straight from the contract's words, independent of lstmvis_db.matching.
"""

from __future__ import annotations

import numpy as np


def doc_bounds(docs: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    for first, last in docs:
        if first <= pos <= last:
            return first, last
    raise ValueError(pos)


def oracle_select(values: np.ndarray, docs, start: int, end: int, t: float, left_off: int, right_off: int) -> list[int]:
    first, last = doc_bounds(docs, start)
    out = []
    for c in range(values.shape[1]):
        ok = all(float(values[p, c]) >= t for p in range(start, end + 1))
        for p in range(start - left_off, start):
            if p >= first and float(values[p, c]) >= t:
                ok = False
        for p in range(end + 1, end + 1 + right_off):
            if p <= last and float(values[p, c]) >= t:
                ok = False
        if ok:
            out.append(c)
    return out


def _candidates(count: np.ndarray, docs, m: int, length: int) -> dict[tuple[int, int], int]:
    found: dict[tuple[int, int], int] = {}
    for k in range(m, 0, -1):
        for first, last in docs:
            p = first
            while p <= last:
                if count[p] >= k:
                    q = p
                    while q + 1 <= last and count[q + 1] >= k:
                        q += 1
                    ln = q - p + 1
                    if (ln >= 2 if length == 0 else ln == length) and (p, ln) not in found:
                        found[(p, ln)] = k
                    p = q + 1
                else:
                    p += 1
    return found


def oracle_match(values: np.ndarray, docs, cells, t: float, constrain_left=True, constrain_right=False,
                 length=0, limit=50, pool=None) -> dict:
    on = values.astype(np.float64) >= t
    cells = sorted(set(cells))
    m = len(cells)
    sel = np.zeros(values.shape[1], dtype=bool)
    sel[cells] = True
    count = on[:, cells].sum(axis=1)
    found = _candidates(count, docs, m, length)
    keys = list(found)
    if pool is not None:
        def score(key):
            s, ln = key
            k = found[key]
            first, last = doc_bounds(docs, s)
            before = count[s - 1] if s - 1 >= first else 0
            after = count[s + ln] if s + ln <= last else 0
            if constrain_left and constrain_right:
                return k - before - after
            if constrain_left:
                return k - before
            if constrain_right:
                return k - after
            return 0
        collected = 0
        taken_levels = set()
        for k in range(m, 0, -1):
            n_k = sum(1 for key in keys if found[key] == k)
            if n_k and collected < pool:
                taken_levels.add(k)
            collected += n_k
        keys = [key for key in keys if found[key] in taken_levels]
        keys.sort(key=lambda key: (-score(key), -found[key], key[0]))
        keys = keys[:pool]
    scored = []
    for s, ln in keys:
        first, last = doc_bounds(docs, s)
        a = on[s:s + ln].all(axis=0)
        if constrain_left and s - 1 >= first:
            a &= ~on[s - 1]
        if constrain_right and s + ln <= last:
            a &= ~on[s + ln]
        inter = int((a & sel).sum())
        union = int((a | sel).sum())
        scored.append((s, ln, inter, union))
    fuzzy: dict[str, int] = {}
    strict: dict[str, int] = {}
    for _s, ln, inter, _union in scored:
        fuzzy[str(ln)] = fuzzy.get(str(ln), 0) + 1
        if inter == m:
            strict[str(ln)] = strict.get(str(ln), 0) + 1
    scored.sort(key=lambda r: (-r[2], r[3], -r[1], r[0]))
    matches = [
        {"start": s, "length": ln, "intersection": i, "union": u, "jaccard": i / u if u else 0.0, "missing": m - i}
        for s, ln, i, u in scored[:limit]
    ]
    return {"matches": matches, "histogram": {"fuzzy": fuzzy, "strict": strict}, "candidates": len(scored)}
