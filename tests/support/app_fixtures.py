"""A small, seeded project for the app's tests and the browser test (built in-process).

``build_app_project(folder)`` writes ``<folder>/tiny.duckdb``: about 400 tokens of English text in
two documents, two sources (``lstm::states`` signed, ``lstm::output`` unsigned) whose cells
follow readable rules (inside parentheses, after "the", sentence position), a categorical
part-of-speech track, a scalar surprise track and a top-3 prediction track, plus a suggested
first hypothesis.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import lstmvis_db
from lstmvis_db.types import Document, ProjectData, Source, Track

TEXT_A = (
    "Alice was beginning to get very tired of sitting by her sister on the bank , and of having "
    "nothing to do ( once or twice she had peeped into the book her sister was reading ) but it had "
    "no pictures or conversations in it . So she was considering in her own mind ( as well as she "
    "could , for the hot day made her feel very sleepy and stupid ) whether the pleasure of making "
    "a daisy chain would be worth the trouble of getting up and picking the daisies , when suddenly "
    "a white rabbit with pink eyes ran close by her . There was nothing so very remarkable in that ; "
    "nor did Alice think it so very much out of the way to hear the rabbit say to itself ( oh dear ! "
    "oh dear ! I shall be late ! ) when she thought it over afterwards , it occurred to her that she "
    "ought to have wondered at this , but at the time it all seemed quite natural . "
)
TEXT_B = (
    "The rabbit hole went straight on like a tunnel for some way , and then dipped suddenly down , "
    "so suddenly that Alice had not a moment to think about stopping herself ( before she found "
    "herself falling down a very deep well ) . Either the well was very deep , or she fell very "
    "slowly , for she had plenty of time as she went down to look about her and to wonder what was "
    "going to happen next . First , she tried to look down and make out what she was coming to , but "
    "it was too dark to see anything ( then she looked at the sides of the well ) and noticed that "
    "they were filled with cupboards and book shelves ; here and there she saw maps and pictures "
    "hung upon pegs . She took down a jar from one of the shelves as she passed ( it was labelled "
    "orange marmalade ) but to her great disappointment it was empty . "
)

DETS = {"the", "a", "her", "this", "some", "one"}
PRONS = {"she", "it", "i", "her", "herself", "itself", "they", "that"}
PREPS = {"of", "by", "on", "in", "into", "for", "with", "to", "at", "about", "from", "upon", "like", "as", "out"}
VERBS = {"was", "had", "get", "sitting", "having", "do", "peeped", "reading", "considering", "made", "feel",
         "making", "would", "be", "getting", "picking", "ran", "think", "hear", "say", "shall", "thought",
         "occurred", "ought", "have", "wondered", "seemed", "went", "dipped", "stopping", "found", "falling",
         "fell", "look", "wonder", "going", "happen", "tried", "make", "coming", "see", "looked", "noticed",
         "were", "filled", "saw", "hung", "took", "passed", "labelled", "could", "beginning"}
CATEGORIES = ["NOUN", "VERB", "DET", "PRON", "ADP", "PUNCT", "OTHER"]
SOURCES = ("lstm::states", "lstm::output")
N_CELLS = 12


def pos_tag(tok: str) -> str:
    t = tok.lower()
    if re.fullmatch(r"\W+", t):
        return "PUNCT"
    if t in DETS:
        return "DET"
    if t in PRONS:
        return "PRON"
    if t in PREPS:
        return "ADP"
    if t in VERBS:
        return "VERB"
    if len(t) > 3:
        return "NOUN"
    return "OTHER"


def project_data(seed: int = 0, n_cells: int = N_CELLS) -> ProjectData:
    """The fixture's content (deterministic for a seed); ``n_cells`` >= 5."""
    rng = np.random.default_rng(seed)
    toks_a, toks_b = TEXT_A.split(), TEXT_B.split()
    tokens = toks_a + toks_b
    n = len(tokens)
    depth = np.zeros(n)
    d = 0
    for i, t in enumerate(tokens):
        if t == ")":
            d = max(d - 1, 0)
        depth[i] = d
        if t == "(":
            d += 1
    after_the = np.array([i > 0 and tokens[i - 1].lower() == "the" for i in range(n)], dtype=float)
    since_stop = np.zeros(n)
    c = 0
    for i, t in enumerate(tokens):
        since_stop[i] = c
        c = 0 if t in {".", ";", "!"} else c + 1
    raw = rng.normal(0.0, 0.45, size=(n, n_cells))
    raw[:, [0, 1, 4]] *= 0.4
    raw[:, 0] += 2.2 * depth - 0.9          # on inside parentheses
    raw[:, 1] += 2.0 * depth - 0.8
    raw[:, 2] += 1.8 * after_the - 0.7      # on right after "the"
    raw[:, 3] += 0.25 * since_stop - 1.2    # grows along a sentence
    raw[:, 4] += 2.0 * depth - 1.0
    states = np.tanh(raw).astype(np.float32)
    output = (1 / (1 + np.exp(-(raw * 1.3 + rng.normal(0, 0.2, size=raw.shape))))).astype(np.float32)
    labels = [pos_tag(t) for t in tokens]
    surprise = np.abs(rng.normal(2.0, 1.0, size=n))
    vocab = sorted({t.lower() for t in tokens})
    top = np.array([[vocab[(i * 7 + r * 13) % len(vocab)] for r in range(3)] for i in range(n)], dtype=object)
    scores = np.sort(rng.dirichlet(np.ones(5), size=n)[:, :3], axis=1)[:, ::-1]
    start = tokens.index("(") + 1
    end = start + 3
    return ProjectData(
        name="tiny",
        description="Alice in Wonderland (two paragraphs) with a hand-made 12-cell state model.",
        tokens=tokens,
        documents=[Document("chapter 1a", 0, len(toks_a) - 1), Document("chapter 1b", len(toks_a), n - 1)],
        sources=[
            Source(SOURCES[0], states, model="hand", layer=1, kind="state", transform="tanh",
                   description="cell states"),
            Source(SOURCES[1], output, model="hand", layer=1, kind="output", transform="none", unsigned=True,
                   description="gate outputs"),
        ],
        tracks=[
            Track("pos_tag", "categorical", "part of speech", labels=labels, categories=CATEGORIES),
            Track("surprise", "scalar", "surprisal (bits)", values=surprise),
            Track("next", "topk", "top-3 next-token predictions", topk_tokens=top, topk_scores=scores),
        ],
        extra={"suggest_source": SOURCES[0], "suggest_start": str(start), "suggest_end": str(end),
               "suggest_threshold": "0.3"},
    )


def build_app_project(folder: str | Path, name: str = "tiny", n_cells: int = N_CELLS) -> Path:
    """Write the fixture project into ``folder`` (created if needed) and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.duckdb"
    if not path.exists():
        lstmvis_db.write_project(path, project_data(n_cells=n_cells))
    return path


def run_app(page: str, **params: str):
    """An AppTest of ``page`` (a path under the checkout) run once with these URL query parameters."""
    from streamlit.testing.v1 import AppTest

    from tests.support import ROOT

    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()
