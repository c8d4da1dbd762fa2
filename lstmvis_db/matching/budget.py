"""The memory a match may use, estimated before it runs (``LSTMVIS_MAX_MATCH_MB``).

A match holds arrays over all N positions (the selection's bit words, the count per position,
the document masks and the candidate scan's output) and arrays over the K candidates; the
index is read and candidates are rescored in batches of bounded size.  ``estimate`` adds
these up from N, the number of bit words and an upper bound of K that costs one pass over
the counts (every candidate is a run that opened where the count rose), so a pathological
request (all cells, a threshold below every value) is refused with the estimate before it
allocates anything large, instead of taking the server down.

numpy and the errors module only.
"""

from __future__ import annotations

import os

import numpy as np

from lstmvis_db.errors import QueryError

# bytes per position outside the bit words: count (<= 8), two document masks, the scan's
# output (5 x int32) and its concatenated copy's share; bytes per candidate: its five columns
# (scan output, a take of them), I, the histogram's copies, the rescoring's index arrays
PER_POSITION = 8 + 2 + 20
PER_CANDIDATE = 136
BATCH_BYTES = 8 * 2**20  # index fetch and rescoring work in batches of about this size


def limit_bytes(default_mb: float) -> int:
    """``LSTMVIS_MAX_MATCH_MB`` (a positive number), else ``default_mb``."""
    text = os.environ.get("LSTMVIS_MAX_MATCH_MB", "").strip()
    if not text:
        return int(default_mb * 2**20)
    try:
        mb = float(text)
    except ValueError:
        mb = float("nan")
    if not mb > 0 or mb == float("inf"):
        raise QueryError(f"LSTMVIS_MAX_MATCH_MB must be a positive number of MB, got {text!r}")
    return int(mb * 2**20)


def candidate_bound(count: np.ndarray, doc_start: np.ndarray, m: int) -> int:
    """At most this many candidates: the sum of the count's rises (clipped at m, restarting at
    each document), each rise opening one run per level it crosses."""
    c = np.minimum(count, m).astype(np.int32)
    prev = np.concatenate([[0], c[:-1]]).astype(np.int32)
    prev[doc_start] = 0
    return min(len(c), int(np.maximum(c - prev, 0).sum(dtype=np.int64)))


def estimate(n: int, words_bytes_per_position: int, candidates: int) -> int:
    return n * (words_bytes_per_position + PER_POSITION) + candidates * PER_CANDIDATE + 2 * BATCH_BYTES


def check(n: int, words_bytes_per_position: int, candidates: int, limit: int, what: str = "this match") -> None:
    need = estimate(n, words_bytes_per_position, candidates)
    if need > limit:
        raise QueryError(
            f"{what} would need about {need / 2**20:,.0f} MB ({candidates:,} candidate runs over {n:,} positions), "
            f"more than the limit of {limit / 2**20:,.0f} MB (LSTMVIS_MAX_MATCH_MB); "
            "select fewer cells, raise the threshold or set a length"
        )


def batch_rows(bytes_per_row: int) -> int:
    """Rows per batch so that a batch holds about BATCH_BYTES."""
    return max(1024, BATCH_BYTES // max(1, bytes_per_row))
