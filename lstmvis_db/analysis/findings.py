"""The strongest tests of an ``align`` result as sentences (what the app shows first)."""

from __future__ import annotations

_VERB = {"contains": "contain", "covers": "lie inside", "starts": "start on", "ends": "end on"}


def _article(label: str) -> str:
    return "an" if label[:1].lower() in "aeiou" else "a"


def _q_text(q: float) -> str:
    if q == 0.0:
        return "q < 1e-300"
    if q >= 0.001:
        return f"q = {q:.3f}"
    return f"q = {q:.0e}".replace("e-0", "e-")


def sentence(row: dict, n_spans: int) -> str:
    """e.g. '83% of matches lie inside a stage direction (stage_direction), 32× the span null, q = 1e-70'."""
    share = row["hits"] / n_spans if n_spans else 0.0
    lift = row["lift"]
    times = "the span null expects none" if lift is None else (
        f"{lift:.1f}× the span null" if lift < 10 else f"{lift:.0f}× the span null")
    lab = row["label"]
    return (f"{share:.0%} of matches {_VERB[row['condition']]} {_article(lab)} {lab} ({row['track']}), "
            f"{times}, {_q_text(row['q'])}")


def strongest(tests: list[dict], k: int = 3, alpha: float = 0.05) -> list[dict]:
    """Up to ``k`` rows with q < alpha and lift > 1, one per (track, label): the first such row
    in the result's order (smallest p first)."""
    out, seen = [], set()
    for r in tests:
        key = (r["track"], r["label"])
        if r["q"] < alpha and (r["lift"] or 0) > 1 and key not in seen:
            out.append(r)
            seen.add(key)
        if len(out) == k:
            break
    return out
