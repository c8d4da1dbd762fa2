"""The New project page's steps: texts, model and sources, output and build, opening the result,
adding an annotation track, and (without torch) a bundled numpy LSTM on one's own text or an
original LSTMVis project imported from a zip file.  The logic behind them is in ``lstmvis_db.extract.app_support``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from lstmvis_db.extract import DOCUMENT_MODES
from lstmvis_db.views import new_project as sup
from lstmvis_db.views import own_text

from . import public
from .cached import info
from .constants import PAGES
from .resources import data_dir, forget_project, load_adapter, projects
from .view_state import open_view, state
from .widgets import run_safely

TYPED = "__typed__"
DOC_HELP = {"by-file": "one document per file or scene", "by-line": "one document per non-blank line",
            "by-separator": "documents split at a separator (default: a blank line)"}


@dataclass(frozen=True)
class TextsChoice:
    """Step 1: the texts as (name, text) pairs (None until there are some) and how to split them."""

    texts: list[tuple[str, str]] | None
    corpus_name: str
    mode: str
    separator: str


@dataclass(frozen=True)
class ModelChoice:
    """Step 2: the model spec, its adapter once loaded (else None), and the sources chosen from it."""

    spec: str
    adapter: object | None
    layers: list[int]
    kinds: list[str]
    n_src: int
    topk: int


def texts_picker() -> TextsChoice:
    """Uploaded text files or scenes of the bundled corpus, and the document mode."""
    where = st.radio("Texts", ["Upload text files", "Bundled corpus"], key="np_where", horizontal=True,
                     label_visibility="collapsed")
    texts, corpus_name = None, "upload"
    if where == "Upload text files":
        files = st.file_uploader("Text files (UTF-8)", type=list(sup.TEXT_TYPES), accept_multiple_files=True,
                                 key="np_files", max_upload_size=public.upload_mb())
        if files:
            texts = run_safely(sup.uploaded_texts, [(f.name, f.getvalue()) for f in files])
            corpus_name = Path(files[0].name).stem
    else:
        corpus = run_safely(sup.shakespeare_corpus)
        if corpus is not None:
            sizes = {n: len(t) for n, t in corpus.documents}
            picked = st.pills(f"{corpus.label} · {corpus.source}", list(sizes), selection_mode="multi",
                              wrap=True, default=sup.default_documents(corpus), key="np_scenes",
                              format_func=lambda n: f"{n} · {sizes[n]:,} chars") or []
            texts, corpus_name = [d for d in corpus.documents if d[0] in picked] or None, corpus.name
    mode = st.radio("Documents", DOCUMENT_MODES, key="np_docs", horizontal=True,
                    help=" · ".join(f"**{m}**: {h}" for m, h in DOC_HELP.items()))
    separator = st.text_input("Separator", value=r"\n\n", key="np_sep", help=r"\n, \t escapes") \
        if mode == "by-separator" else r"\n\n"
    if texts:
        st.caption(f"{len(texts)} text(s), {sum(len(t) for _, t in texts):,} characters")
    return TextsChoice(texts, corpus_name, mode, separator)


def model_picker() -> ModelChoice:
    """An offline model or a typed path; once loaded, its sources, the layers and kinds to keep."""
    choices = {c.spec: c for c in sup.offline_models()}
    typed = [] if public.is_public() else [TYPED]
    pick = st.selectbox("Model available offline", [*choices, *typed], key="np_model",
                        format_func=lambda k: choices[k].label if k in choices else "A path I type…")
    vocab = ""
    if pick == TYPED:
        spec = st.text_input("Model path", key="np_path", placeholder="a transformers folder, a .gguf file, "
                             "a Keras .h5 file or my_model.py:function")
        if spec.strip().lower().endswith(sup.KERAS_SUFFIXES):
            vocab = st.text_input("Vocabulary of the Keras model", key="np_vocab",
                                  placeholder="vocab.json (token -> id) or one token a line")
    else:
        spec = pick
        st.caption(choices[pick].note)
    if st.button("Load the model and list its sources", key="np_load", disabled=not spec.strip()):
        st.session_state["np_loaded"] = (spec, vocab)
    adapter, want_layers, want_kinds, n_src, topk = None, [], [], 0, 0
    if st.session_state.get("np_loaded") == (spec, vocab):
        with st.spinner(f"Loading {spec}…"):
            adapter = run_safely(load_adapter, spec, vocab, sup.spec_stamp(spec, vocab))
        if adapter is None:
            st.session_state.pop("np_loaded")
    if adapter is not None:
        rows = sup.source_rows(adapter)
        st.dataframe(rows, hide_index=True, height=min(212, 38 + 35 * len(rows)), width="stretch")
        layers, kinds = sup.layers_and_kinds(adapter)
        c1, c2 = st.columns(2)
        want_layers = c1.multiselect("Layers", layers, default=sup.default_layers(adapter),
                                     key=f"np_layers_{spec}")
        want_kinds = c2.multiselect("Kinds", kinds, default=kinds, key=f"np_kinds_{spec}")
        n_src, width = sup.chosen_width(adapter, want_layers, want_kinds)
        if adapter.can_predict:
            topk = st.number_input("Next-token predictions to keep (top k)", 0, 20, 5, key="np_topk")
        st.caption(f"{n_src} source(s), {width:,} cells per token")
    return ModelChoice(spec, adapter, want_layers, want_kinds, n_src, topk)


def build_output(t: TextsChoice, m: ModelChoice) -> None:
    """Project name and file, replace or not, and the Build button (the result goes to ``np_built``)."""
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    default = sup.default_name(m.spec or "model", t.corpus_name)
    name = c1.text_input("Project name", key="np_name", placeholder=default).strip() or default
    path = run_safely(sup.output_path, data_dir(), name)
    replace = False
    if path is not None and path.exists():
        replace = c2.checkbox(f"Replace the existing project '{path.stem}'", key="np_replace")
    elif path is not None:
        c2.caption(f"Saved as `{path}`")
    ready = bool(t.texts) and m.adapter is not None and path is not None and m.n_src > 0
    if st.button("Build the project", type="primary", key="np_build", disabled=not ready):
        st.session_state.pop("np_built", None)
        bar = st.progress(0.0, text="Tokenizing…")
        sep = run_safely(sup.separator_text, t.separator)
        done = sep and run_safely(sup.build_project, m.adapter, t.texts, path, replace=replace, n_sources=m.n_src,
                                  show=lambda f, text: bar.progress(f, text=text), layers=m.layers,
                                  kinds=m.kinds, documents=t.mode, separator=sep, topk=int(m.topk))
        if done:
            forget_project(str(path))
        bar.empty()
        if done:
            st.session_state["np_built"] = done


def built_result() -> None:
    """What the last build wrote, and a button that opens it in the Select view."""
    built = st.session_state.get("np_built")
    if built and Path(built["db"]).exists():
        with st.container(border=True):
            st.success(f"Wrote `{built['db']}`: {built['tokens']:,} tokens, {built['documents']} documents, "
                       f"{len(built['sources'])} sources, {len(built['tracks'])} tracks in "
                       f"{built['seconds']:.1f} s.", icon=":material/check_circle:")
            c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
            src = c1.selectbox("Source", [s["source"] for s in built["sources"]], key="np_open_source")
            if c2.button("Open in Select →", type="primary", key="np_open", width="stretch"):
                inf = run_safely(info, built["db"])
                if inf is not None:
                    open_view(Path(built["db"]).stem, src, inf)
                    try:
                        st.switch_page(PAGES["select"])
                    except StreamlitAPIException:  # the page run on its own (tests)
                        st.markdown("[Open the Select view](./Select)")


def add_track_form() -> None:
    """Add a categorical or scalar track from an uploaded CSV/TSV/Parquet file to a project."""
    found = projects()
    if not found:
        st.info(f"No project yet: build one first, or put a `.duckdb` project into `{data_dir()}`.")
        return
    names = list(found)
    built = st.session_state.get("np_built")
    start = Path(built["db"]).stem if built else state().project
    proj = st.selectbox("Project", names, index=names.index(start) if start in names else 0, key="nt_project")
    inf = run_safely(info, found[proj])
    if inf is not None:
        st.caption(f"{inf['tokens']:,} tokens (positions 0 to {inf['tokens'] - 1:,}); tracks now: "
                   + (", ".join(f"{public.plain(t['track'])} ({t['kind']})" for t in inf["tracks"]) or "none"))
    up = st.file_uploader("A CSV, TSV or Parquet file with a `pos` column (0-based token position) and a "
                          "`label` column (categorical track) or a `value` column (scalar track)",
                          type=list(sup.TRACK_TYPES), key="nt_file", max_upload_size=public.upload_mb())
    c1, c2 = st.columns(2)
    stem = sup.default_name("", Path(up.name).stem) if up else "my_track"
    track = c1.text_input("Track name", key="nt_name", placeholder=stem).strip() or stem
    kind = c2.radio("Kind", [None, "categorical", "scalar"], key="nt_kind", horizontal=True,
                    format_func=lambda k: k or "from the columns")
    description = st.text_input("Description (optional)", key="nt_description")
    replace_track = st.checkbox("Replace a track of the same name", key="nt_replace")
    if public.is_public():
        st.caption("On this public deployment a new track goes to your own copy of the project: only you "
                   "see it, and the copy is removed when your session ends (or after an hour unused). "
                   f"Uploads up to {public.deployment().upload_limit / 2**20:.0f} MB.")
    if st.button("Add the track", type="primary", key="nt_add", disabled=up is None) and up is not None:
        data = up.getvalue()
        target = run_safely(public.private_copy, proj, found[proj], len(data)) if public.is_public() \
            else found[proj]
        r = target and run_safely(sup.add_uploaded_track, target, up.name, data, track, kind, description,
                                  replace_track)
        if r and public.is_public() and not run_safely(public.check_copy_size, target):
            r = None
        if r:
            forget_project(target)
            where = "your own copy of " if public.is_public() else ""
            st.session_state["nt_added"] = (f"Added the {r['kind']} track '{public.plain(r['track'])}' to {where}"
                                            f"{public.plain(proj)}: {r['annotated']:,} annotated positions. "
                                            "Show it in the Select view's sidebar (Annotation tracks).")
            st.rerun()
    if st.session_state.get("nt_added"):
        st.success(st.session_state.pop("nt_added"), icon=":material/check_circle:")


# --------------------------------------------------------------------------- without torch

MAX_TOKENS = {True: 20_000, False: 500_000}  # bundled-model tokens per build: public, local


def _target(name: str, replace_key: str) -> tuple[Path | None, bool]:
    """Where a new project goes (public: this session's private folder) and whether to replace it."""
    path = run_safely(sup.output_path, public.session_folder() if public.is_public() else data_dir(), name)
    replace = False
    if path is not None and path.exists():
        replace = st.checkbox(f"Replace the existing project '{path.stem}'", key=replace_key)
    return path, replace


def _register(db: str) -> bool:
    """A new project on the list (public: as this session's own, if within the size limit)."""
    if public.is_public():
        public.check_copy_size(db)
        public.session_copies()[Path(db).stem] = db
    forget_project(db)
    return True


def _where_note() -> None:
    if public.is_public():
        dep = public.deployment()
        st.caption(f"On this public deployment the project is yours only: it lives in this session and is removed "
                   f"when the session ends (or after an hour unused). At most {MAX_TOKENS[True]:,} tokens of text, "
                   f"uploads up to {dep.upload_limit / 2**20:.0f} MB.")


def bundled_form() -> None:
    """Run one of the bundled numpy LSTMs (no torch) on uploaded or pasted text."""
    models = own_text.BUNDLED
    pick = st.selectbox("Bundled model (numpy, no torch needed)", list(models), key="bt_model",
                        format_func=lambda k: models[k].label)
    st.caption(f"It {models[pick].note}.")
    files = st.file_uploader("Text files (UTF-8)", type=list(sup.TEXT_TYPES), accept_multiple_files=True,
                             key="bt_files", max_upload_size=public.upload_mb())
    pasted = st.text_area("…or paste text", key="bt_text", height=140, placeholder="To be, or not to be…")
    split = st.toggle("A document per block between blank lines", key="bt_split", value=False)
    name = st.text_input("Project name", key="bt_name", placeholder=f"my-{pick}").strip() or f"my-{pick}"
    path, replace = _target(name, "bt_replace")
    _where_note()
    if st.button("Run the model and build the project", type="primary", key="bt_build",
                 disabled=path is None or not (files or pasted.strip())):
        texts: list[tuple[str, str]] = []
        if files:
            texts = run_safely(sup.uploaded_texts, [(f.name, f.getvalue()) for f in files]) or []
        if pasted.strip():
            texts.append(("pasted text", pasted))
        bar = st.progress(0.0, text="Reading the text…")
        limit = MAX_TOKENS[public.is_public()]
        done = texts and run_safely(own_text.build_from_text, pick, texts, path, max_tokens=limit, by_blank_line=split,
                                    replace=replace, report=lambda text, f: bar.progress(min(max(f, 0.0), 1.0), text))
        bar.empty()
        if done and run_safely(_register, done["db"]):
            st.session_state["np_built"] = done


def import_form() -> None:
    """Import an original LSTMVis project folder (lstm.yml, HDF5 and dict files) uploaded as a zip file."""
    up = st.file_uploader("The LSTMVis project folder as a .zip file (lstm.yml with the HDF5 and dict files "
                          "it names)", type=["zip"], key="li_file", max_upload_size=public.upload_mb())
    stem = sup.default_name("", Path(up.name).stem) if up else "lstmvis-project"
    name = st.text_input("Project name", key="li_name", placeholder=stem).strip() or stem
    path, replace = _target(name, "li_replace")
    _where_note()
    if st.button("Import the project", type="primary", key="li_import", disabled=up is None or path is None) and up:
        data = up.getvalue()
        dep = public.deployment()
        if public.is_public() and len(data) > dep.upload_limit:
            st.error(f"The upload is {len(data) / 2**20:.1f} MB; this deployment takes at most "
                     f"{dep.upload_limit / 2**20:.3g} MB.")
            return
        with st.spinner("Importing…"):
            done = run_safely(own_text.import_zip, data, path, max_bytes=dep.copy_limit, replace=replace)
        if done and run_safely(_register, done["db"]):
            inf = run_safely(info, done["db"])
            if inf is not None:
                st.session_state["np_built"] = {"db": done["db"], "tokens": inf["tokens"], "documents": 0,
                                                "seconds": done["seconds"], "tracks": inf["tracks"],
                                                "sources": inf["sources"]}


def cache_form() -> None:
    """Import an activation cache uploaded as one Parquet file (SAELens' layout), with an optional tokenizer.json."""
    up = st.file_uploader("An activation cache as one .parquet file: a `token_ids` column and one column per hook "
                          "(e.g. `blocks.15.hook_resid_pre`) holding a tokens x d_in array per row; every row "
                          "becomes a document, every hook column a source", type=["parquet"], key="ci_file",
                          max_upload_size=public.upload_mb())
    tok = st.file_uploader("Optional: the tokenizer.json that made the token ids (otherwise tokens show as <id>)",
                           type=["json"], key="ci_tokenizer", max_upload_size=public.upload_mb())
    stem = sup.default_name("", Path(up.name).stem) if up else "activation-cache"
    name = st.text_input("Project name", key="ci_name", placeholder=stem).strip() or stem
    path, replace = _target(name, "ci_replace")
    _where_note()
    if st.button("Import the cache", type="primary", key="ci_import", disabled=up is None or path is None) and up:
        data = up.getvalue()
        tok_data = tok.getvalue() if tok is not None else None
        dep = public.deployment()
        size = len(data) + len(tok_data or b"")
        if public.is_public() and size > dep.upload_limit:
            st.error(f"The upload is {size / 2**20:.1f} MB; this deployment takes at most "
                     f"{dep.upload_limit / 2**20:.0f} MB.")
            return
        with st.spinner("Checking and importing the cache…"):
            done = run_safely(own_text.import_parquet_cache, data, path, tokenizer=tok_data, replace=replace)
        if done and run_safely(_register, done["db"]):
            inf = run_safely(info, done["db"])
            if inf is not None:
                st.session_state["np_built"] = {"db": done["db"], "tokens": inf["tokens"],
                                                "documents": done["documents"], "seconds": done["seconds"],
                                                "tracks": inf["tracks"], "sources": inf["sources"]}
