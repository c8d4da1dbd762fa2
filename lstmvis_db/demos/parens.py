"""The parenthesis demo (docs/data-model.md §The parenthesis language): the parenthesis language of the
LSTMVis paper (max depth 4) and a small LSTM trained by ``scripts/train_parens.py``, run in numpy.

:func:`generate_parens` is the language (the training script uses it too);
:func:`parens_data` is the builder the registry calls.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lstmvis_db.demos import common
from lstmvis_db.demos.findings import stated_finding
from lstmvis_db.errors import InputError
from lstmvis_db.types import ProjectData, Track

__all__ = ["PARENS_HYPOTHESIS", "PARENS_MAX_DEPTH", "PARENS_VOCAB", "generate_parens", "parens_data",
           "parens_hypothesis_range"]

PARENS_MAX_DEPTH = 4
PARENS_VOCAB = ["(", ")", "0", "1", "2", "3", "4"]


def generate_parens(n: int, rng: np.random.Generator, max_depth: int = PARENS_MAX_DEPTH
                    ) -> tuple[list[str], np.ndarray]:
    """The LSTMVis parenthesis language: ``n`` tokens and the nesting depth after each.

    Tokens are ``(``, ``)`` and a digit equal to the current depth; at depth 0 the allowed
    tokens are {``(``, ``0``}, at ``max_depth`` {``)``, digit}, otherwise {``(``, ``)``,
    digit}; each step picks uniformly among the allowed ones (LSTMVis's "Parenthesis
    Generation" notebook).
    """
    tokens: list[str] = []
    depth = np.empty(n, np.int64)
    d = 0
    draws = rng.random(n)
    for i in range(n):
        if d == 0:
            allowed: tuple[str, ...] = ("(", "0")
        elif d == max_depth:
            allowed = (")", str(d))
        else:
            allowed = ("(", ")", str(d))
        tok = allowed[int(draws[i] * len(allowed))]
        if tok == "(":
            d += 1
        elif tok == ")":
            d -= 1
        tokens.append(tok)
        depth[i] = d
    return tokens, depth


PARENS_SEED = 2017  # generation seed of the demo text (training used seeds 1 and 2)
PARENS_DOCS = 40
PARENS_DOC_LEN = 1000
#: sequences of the full build: 1,000,000 tokens, the paper's corpus size
PARENS_FULL_DOCS = 1000

def parens_hypothesis_range(tokens: list[str], depth: np.ndarray, from_depth: int = 1,
                            run: int = 2) -> tuple[int, int]:
    """A hypothesis over an opening-bracket run: the first ``run`` consecutive ``(`` entered
    from depth ``from_depth`` (the token before is not ``(``).  Returns (start, end) inclusive;
    the first ``(`` if no such run exists."""
    for i in range(1, len(tokens) - run + 1):
        if (depth[i - 1] == from_depth and tokens[i - 1] != "("
                and all(t == "(" for t in tokens[i:i + run])):
            return i, i + run - 1
    first = tokens.index("(") if "(" in tokens else 0
    return first, first


PARENS_HYPOTHESIS: dict[str, object] = {
    "source": "layer1_c", "threshold": 0.3,
    "what": ("this selects a handful of layer-1 cells that switch on when the nesting reaches "
             "depth 2 and stay on while it stays there. In the Match view every one of the 50 "
             "top matches stays at depth 2 or deeper (check the depth heatmap; the stated q is over "
             "`depth` alone: Tracks tested `depth`); start the "
             "same selection from depth 0 or 2 and the matches move to depth >= 1 or >= 3: "
             "the cells count brackets."),
}

PARENS_DESCRIPTION = """\
**Parenthesis language (the LSTMVis paper's proof of concept).** Tokens are `(`, `)` and a \
digit equal to the current nesting depth (max depth 4); at each step the generator picks \
uniformly among the allowed tokens (docs/data-model.md §The parenthesis language). \
Predicting the digits needs a counter, so the \
network has to track depth. Model: a {layers}-layer LSTM with {hidden} cells per layer trained \
by scripts/train_parens.py (torch; validation loss {valid:.3f} nats/token, close to the \
language's entropy), run here in numpy. {docs} generated sequences, {n:,} tokens. Tracks: \
nesting depth (categorical and scalar), token type, top-3 next-token predictions, surprisal. \
**Try first:** source `{source}`, select positions {start}-{end} (`{range_text}`, two \
opening brackets taking the depth from 1 to 3) with threshold {threshold}: {what} {finding}"""



def _generate_documents(limit: int | None, docs: int = PARENS_DOCS) -> tuple[list[list[str]], list[np.ndarray]]:
    """The demo's sequences (tokens and depth after each), seeded; ``limit`` tokens at most.
    The full build's first ``PARENS_DOCS`` sequences are the default build's."""
    rng = np.random.default_rng(PARENS_SEED)
    total = docs * PARENS_DOC_LEN if limit is None else min(limit, docs * PARENS_DOC_LEN)
    doc_tokens: list[list[str]] = []
    doc_depths: list[np.ndarray] = []
    left = total
    while left > 0:
        toks, depth = generate_parens(PARENS_DOC_LEN, rng)
        doc_tokens.append(toks[:left])
        doc_depths.append(depth[:left])
        left -= len(doc_tokens[-1])
    return doc_tokens, doc_depths


def _tracks(tokens: list[str], depth: np.ndarray) -> list[Track]:
    """Depth (categorical and scalar) and token type."""
    kind = ["open" if t == "(" else "close" if t == ")" else "digit" for t in tokens]
    return [
        Track("depth", "categorical", "nesting depth after the token (0-4)",
              labels=[str(int(d)) for d in depth], categories=[str(d) for d in range(5)]),
        Track("depth_value", "scalar", "nesting depth after the token, as a number",
              values=depth, min=0.0, max=float(PARENS_MAX_DEPTH)),
        Track("token_type", "categorical", "opening bracket, closing bracket or depth digit",
              labels=kind, categories=["open", "close", "digit"]),
    ]


def _finding(size: str) -> str:
    """The findings the description states: the suggested cells and their null, then the best
    cell for each depth (both from the default build)."""
    from lstmvis_db.demos.nesting_findings import stated_parens_depth

    depth = stated_parens_depth()
    if depth and size == "full":
        depth = f"On the default build: {depth}"
    return " ".join(x for x in (stated_finding("parens", size), depth) if x)


_DEMO = common.SmallLstmDemo(
    "parens", "parens", "token", 4.0,
    f"generated parenthesis language, max depth {PARENS_MAX_DEPTH}, seed {PARENS_SEED}",
    "lstmvis_db.demos (scripts/train_parens.py)", PARENS_DESCRIPTION)


def parens_data(limit: int | None = None, data_dir: Path | None = None,
                progress: common.Report | None = None, size: str = "default") -> ProjectData:
    """Build the parenthesis demo's :class:`ProjectData` (``limit``: first N tokens only;
    ``size="full"``: 1,000 sequences, 1M tokens)."""
    report = common.reporter(progress)
    weights_path = common.verify_data_file("parens/weights.npz", data_dir)
    arrays = common.load_arrays(weights_path)
    vocab = [str(t) for t in arrays["vocab"]]
    if vocab != PARENS_VOCAB:
        raise InputError(f"{weights_path}: unexpected vocabulary {vocab}; rebuild it with "
                         "`python scripts/train_parens.py`")
    stoi = {t: i for i, t in enumerate(vocab)}
    doc_tokens, doc_depths = _generate_documents(limit, PARENS_FULL_DOCS if size == "full" else PARENS_DOCS)
    ids = [np.array([stoi[t] for t in toks], np.int64) for toks in doc_tokens]
    lstm = common.run_small_lstm(arrays, ids, report)
    tokens = [t for toks in doc_tokens for t in toks]
    depth = np.concatenate(doc_depths).astype(float)
    hyp = dict(PARENS_HYPOTHESIS)
    start, end = parens_hypothesis_range(tokens, depth)
    hyp.update(start=start, end=end, range_text=" ".join(tokens[start:end + 1]),
               finding=_finding(size))
    return common.small_lstm_project(
        _DEMO, lstm, tokens, ids, report, tracks=_tracks(tokens, depth), hyp=hyp,
        documents=common.documents_from([f"sequence {i + 1}" for i in range(len(doc_tokens))],
                                        [len(toks) for toks in doc_tokens]))
