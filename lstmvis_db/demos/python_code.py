"""The Python demo: the project's character-level 2 x 128 LSTM, trained on the standard library
of Python 3.11.2 by ``scripts/train_python_chars.py``, reading Python source files statefully,
each from a zero state to its end (no windows, no restarts), with ``tokenize``'s bracket depth,
indentation depth and token type as tracks (:mod:`lstmvis_db.demos.pytokens`).

Default size: the five modules committed in ``data/python/corpus.tar.gz`` (held out from
training), so every machine builds the same project whatever its Python.  Full size: the
running interpreter's standard library (:func:`full_files`, about a million characters), which
the description names with its version.  The model runs in numpy
(:mod:`lstmvis_db.demos.npstream`).  :func:`python_data` is the builder the registry calls.
"""

from __future__ import annotations

import math
import tokenize
from pathlib import Path

import numpy as np

from lstmvis_db.demos import common
from lstmvis_db.demos.pysource import (
    DEMO_FILES,
    VOCAB,
    encode,
    python_version,
    read_corpus_archive,
    read_source,
    stdlib_dir,
    stdlib_files,
)
from lstmvis_db.demos.pytokens import TOKEN_TYPES, python_structure
from lstmvis_db.errors import InputError
from lstmvis_db.types import ProjectData, Track

__all__ = ["FULL_CHARS", "PYTHON_HYPOTHESIS", "full_files", "python_data", "python_tracks"]

WEIGHTS = "python/weights.npz"
CORPUS = "python/corpus.tar.gz"
#: the full build reads whole files until it has at least this many characters
FULL_CHARS = 1_000_000
BRACKET_LABELS = ["0", "1", "2", "3", "4+"]
INDENT_LABELS = ["0", "1", "2", "3", "4", "5+"]

#: The suggested first hypothesis: an opening bracket and the 7 characters after it (the
#: parameter list of ``bisect_right``), placed on the first occurrence of ``anchor``, ``offset``
#: characters into it; one of the bracket instances that nesting_findings counts.
PYTHON_HYPOTHESIS: dict[str, object] = {
    "source": "layer1_c", "anchor": "def bisect_right(", "offset": 16, "length": 8, "threshold": 0.3,
}

PYTHON_DESCRIPTION = """\
**Python source, read by a character LSTM trained on Python's standard library.** The model is \
this project's character-level language model (scripts/train_python_chars.py, torch, seed 1): an \
embedding of {vocab} characters, two LSTM layers of {hidden} cells and a softmax, trained on \
{train_files} modules ({train_chars:,} characters) of the standard library of Python 3.11.2 \
without its tests (PSF licence); {bpc:.2f} bits per character on the held-out modules \
({held_out}). It reads each file from a zero state to its end in one pass (no windows, no \
restarts). The text is {files} ({n:,} characters), one document per file. Tracks, exact from \
Python's `tokenize` (brackets inside strings and comments do not count): `bracket_depth` (open \
brackets after the character, also as the categories `bracket` and `in_brackets`), `indent_depth` \
(tokenize's indentation level of the logical line, also as `indent`), `token_type` (string, \
comment, keyword, name, number, op, newline, space), the column in the line, and the model's \
top-5 next-character predictions and surprisal. **Try first:** source `{source}`, select \
positions {start}-{end} (`{range_text}` in bisect.py, an opening bracket and what follows) with \
threshold {threshold}, \
match, and align against `in_brackets` (Match page: Tracks tested `in_brackets`, Conditions \
`covers`); on the Cell page rank the cells of a source for \
`in_brackets` = inside or for an `indent` level. {finding}"""


def _cat(values: np.ndarray, labels: list[str]) -> list[str | None]:
    top = len(labels) - 1
    return [labels[min(int(v), top)] for v in values]


def python_tracks(text: str, documents: list[tuple[str, str, str]]) -> list[Track]:
    """The tokenize tracks of the concatenated files: ``documents`` holds (name, text read,
    whole file); each whole file is tokenized on its own and its arrays cut to the text read."""
    depth, indent, kinds = [], [], []
    for _name, src, whole in documents:
        s = python_structure(whole)
        depth.append(s.bracket_depth[:len(src)])
        indent.append(s.indent_depth[:len(src)])
        kinds.extend(s.token_type[:len(src)])
    d = np.concatenate(depth) if depth else np.zeros(0, np.int64)
    ind = np.concatenate(indent) if indent else np.zeros(0, np.int64)
    col = np.empty(len(text))
    start = 0
    for line in text.split("\n"):  # only newlines end lines (tokenize's readline; not form feeds)
        line += "\n"
        col[start:start + len(line)] = np.arange(1, len(line) + 1)[:len(text) - start]
        start += len(line)
    return [
        Track("bracket_depth", "scalar", "brackets open after the character (tokenize; not in strings or comments)",
              values=d.astype(float), min=0.0, max=float(max(4, int(d.max()) if len(d) else 0))),
        Track("bracket", "categorical", "bracket depth after the character (4+: four or more)",
              labels=_cat(d, BRACKET_LABELS), categories=BRACKET_LABELS),
        Track("in_brackets", "categorical", "inside a bracket pair (depth >= 1) or not",
              labels=["inside" if v > 0 else "outside" for v in d], categories=["inside", "outside"]),
        Track("indent_depth", "scalar", "tokenize's indentation level of the character's logical line",
              values=ind.astype(float), min=0.0, max=float(max(4, int(ind.max()) if len(ind) else 0))),
        Track("indent", "categorical", "indentation level of the logical line (5+: five or more)",
              labels=_cat(ind, INDENT_LABELS), categories=INDENT_LABELS),
        Track("token_type", "categorical", "the tokenize token the character belongs to",
              labels=kinds, categories=TOKEN_TYPES),
        Track("column", "scalar", "1-based column of the character in its line",
              values=col, min=1.0, max=float(col.max()) if len(text) else 1.0),
    ]


def full_files(root: Path, chars: int = FULL_CHARS) -> list[str]:
    """The full build's files: the demo's five modules first (held out from training), then the
    top-level modules of ``root`` in name order, whole, until ``chars`` characters."""
    top = [f for f in stdlib_files(root) if "/" not in f and f not in DEMO_FILES]
    chosen, total = [], 0
    for name in [*[f for f in DEMO_FILES if (root / f).is_file()], *top]:
        if total >= chars:
            break
        chosen.append(name)
        total += len(read_source(root / name))
    return chosen


def _tokenizes(src: str) -> bool:
    try:
        python_structure(src)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return False
    return True


def _inputs(size: str, data_dir: Path | None, report: common.Report) -> tuple[list[tuple[str, str]], str]:
    """The (name, text) files and a phrase naming where they come from (``{n}``: how many are read)."""
    if size == "full":
        root = stdlib_dir()
        report(f"reading the standard library of Python {python_version()} ({root})", 0.02)
        files = [(n, read_source(root / n)) for n in full_files(root)]
        kept = [(n, s) for n, s in files if _tokenizes(s)]
        where = ("{n}" f" modules of the standard library of the running Python {python_version()} "
                 f"({root}; the first five held out from training, the others training files)")
        return kept, where
    files = read_corpus_archive(common.verify_data_file(CORPUS, data_dir))
    if [n for n, _ in files] != list(DEMO_FILES):
        raise InputError(f"{CORPUS} does not hold {', '.join(DEMO_FILES)}; rebuild it with "
                         "`python scripts/extract_python_corpus.py`")
    return files, "{n}" f" modules of Python 3.11.2's standard library ({', '.join(DEMO_FILES)})"


def _cut(files: list[tuple[str, str]], limit: int | None) -> list[tuple[str, str, str]]:
    """(name, text read, whole file) of the files within the first ``limit`` characters (the
    last one cut at a line end; its tracks come from the whole file)."""
    if limit is None:
        return [(name, src, src) for name, src in files]
    out, total = [], 0
    for name, whole in files:
        if total >= limit:
            break
        if total + len(whole) > limit:
            cut = whole.rfind("\n", 0, limit - total) + 1
            out.append((name, whole[:cut] if cut > 0 else whole[:limit - total], whole))
            break
        out.append((name, whole, whole))
        total += len(whole)
    return out


def _hypothesis(text: str) -> dict[str, object]:
    """The suggested first hypothesis on its anchor (or, in a ``limit`` build without it, on the
    characters after the first opening bracket)."""
    hyp = dict(PYTHON_HYPOTHESIS)
    length = int(str(hyp["length"]))
    anchor = text.find(str(hyp["anchor"]))
    start = anchor + int(str(hyp["offset"])) if anchor >= 0 else max(text.find("(") + 1, 0)
    hyp.update(start=start, end=start + length - 1, range_text=text[start:start + length].replace("\n", "\\n"))
    return hyp


_STATE_NAMES = {"h": "hidden state h = o * tanh(c), in (-1, 1)", "c": "cell state c (unbounded)"}


def python_data(limit: int | None = None, data_dir: Path | None = None,
                progress: common.Report | None = None, size: str = "default") -> ProjectData:
    """Build the Python demo's :class:`ProjectData` (``limit``: first N characters only)."""
    from lstmvis_db.demos.nesting_findings import stated_python_finding
    from lstmvis_db.demos.nplstm import CharLstmModel
    from lstmvis_db.demos.npstream import run_whole_documents

    report = common.reporter(progress)
    weights = common.verify_data_file(WEIGHTS, data_dir)
    arrays = common.load_arrays(weights)
    if [str(c) for c in arrays["vocab"]] != VOCAB:
        raise InputError(f"{weights}: unexpected vocabulary; rebuild it with `python scripts/train_python_chars.py`")
    files, where = _inputs(size, data_dir, report)
    cut = _cut(files, limit)
    where = where.replace("{n}", str(len(cut)))
    text = "".join(src for _, src, _ in cut)
    docs_ids = [encode(src) for _, src, _ in cut]
    report("running the character LSTM (numpy)", 0.1)
    run = run_whole_documents(CharLstmModel(arrays), docs_ids, k=5,
                              progress=lambda d, t: report("running the character LSTM (numpy)", 0.1 + 0.7 * d / t))
    report("tokenizing", 0.8)
    shown = np.asarray(VOCAB, dtype=object)[run["topk_ids"]].astype(str)
    tracks = [
        *python_tracks(text, cut),
        *common.prediction_tracks(run, shown, ("next_char", "the model's top-5 next-character predictions"),
                                  "-log2 of the probability the model gave to the actual next character (bits)",
                                  20.0),
    ]
    hyp = _hypothesis(text)
    held = [str(x) for x in arrays["valid_names"]]
    bpc = float(arrays["valid_mean_loss"]) / math.log(2)
    extra = {
        "demo": "python", "size": size,
        "model": f"character LSTM 2 x {arrays['l1_w_hh'].shape[1]} (this project), trained on Python 3.11.2's "
                 "standard library",
        "corpus": where, "files": "; ".join(n for n, _, _ in cut) if len(cut) <= 20 else f"{len(cut)} files",
        "python": python_version() if size == "full" else "3.11.2",
        "held_out_bits_per_char": f"{bpc:.3f}",
        **common.suggestion_extra(hyp),
    }
    description = PYTHON_DESCRIPTION.format(
        **hyp, files=where, n=len(text), vocab=len(VOCAB), hidden=arrays["l1_w_hh"].shape[1],
        train_files=int(arrays["train_files"]), train_chars=int(arrays["train_chars"]), bpc=bpc,
        held_out=", ".join(held), finding=stated_python_finding(size))
    return common.project_data(
        "python", list(text), docs_ids, report,
        sources=common.layer_sources(run, 2, "python-char-lstm", _STATE_NAMES),
        description=description,
        origin="lstmvis_db.demos (character LSTM trained on Python 3.11.2's standard library; tracks from tokenize)",
        documents=common.documents_from([n for n, _, _ in cut], [len(s) for _, s, _ in cut]),
        tracks=tracks, extra=extra)
