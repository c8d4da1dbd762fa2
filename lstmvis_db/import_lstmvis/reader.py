"""Reading a whole original project into ``ProjectData``, and importing it into a project file.

May import: h5py, ``lstmvis_db.errors``, ``lstmvis_db.store``, ``lstmvis_db.types``, the other
``import_lstmvis`` modules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import h5py

from lstmvis_db.errors import InputError
from lstmvis_db.import_lstmvis.config import ProjectConfig
from lstmvis_db.import_lstmvis.dictionary import Vocabulary
from lstmvis_db.import_lstmvis.documents import DocumentsArg, build_documents
from lstmvis_db.import_lstmvis.sources import read_sources, read_word_sequence
from lstmvis_db.import_lstmvis.tracks import read_tracks
from lstmvis_db.store import write_project
from lstmvis_db.types import ProjectData


def read_extra(p: ProjectConfig, vocab: Vocabulary) -> dict[str, str]:
    """Project facts kept as text: raw lstm.yml, embedding size, search flags."""
    extra: dict[str, str] = {
        "lstm_yml": p.text,
        "project_id": p.dir.resolve().name,
        "dict_size": str(len(vocab.tokens)),
    }
    emb = p.section(p.config, "word_embedding", "word_embedding", required=False)
    if emb:
        ref = p.text_value(emb, "file", "word_embedding.file")
        path = p.text_value(emb, "path", "word_embedding.path")
        handle = p.h5(ref, "word_embedding.file")
        obj = handle.get(path)
        if not isinstance(obj, h5py.Dataset):
            raise InputError(f"{handle.filename}: dataset {path!r} not found (word_embedding.path)")
        extra["word_embedding_size"] = json.dumps(list(obj.shape))
        extra["word_embedding"] = f"{ref}::{path}"
    etc = p.section(p.config, "etc", "etc", required=False) or {}
    extra["regex_search"] = json.dumps(p.bool_value(etc, "regex_search", "etc.regex_search", False))
    extra["search_index"] = json.dumps((p.dir / "indexdir").is_dir())
    return extra


def _read(project_dir: str | Path, documents: DocumentsArg, stack: ExitStack) -> ProjectData:
    p = ProjectConfig(project_dir, stack)
    name = p.text_value(p.config, "name", "name")
    description = p.config.get("description")
    if description is None or str(description).strip() == "":
        description = name
    word_ids, tokens, vocab, _ = read_word_sequence(p)
    n = len(tokens)
    sources = read_sources(p, name, n)
    tracks = read_tracks(p, word_ids)
    extra = read_extra(p, vocab)
    return ProjectData(
        name=name,
        tokens=tokens,
        sources=sources,
        description=str(description),
        origin=f"LSTMVis project {p.dir.resolve()}",
        token_ids=word_ids,
        documents=build_documents(documents, n),
        tracks=tracks,
        extra=extra,
    )


@contextmanager
def open_lstmvis_project(project_dir: str | Path, documents: DocumentsArg = None) -> Iterator[ProjectData]:
    """Read an original LSTMVis project; its HDF5 files are closed when the block ends.

    Yields the same :class:`ProjectData` as :func:`read_lstmvis_project`.  Use this form when
    the data is consumed inside the block (e.g. written to a DuckDB file), so file handles are
    released deterministically.
    """
    with ExitStack() as stack:
        yield _read(project_dir, documents, stack)


def read_lstmvis_project(project_dir: str | Path, documents: DocumentsArg = None) -> ProjectData:
    """Read an original LSTMVis project folder into :class:`ProjectData`.

    What the result holds:

    * ``name`` / ``description`` from lstm.yml (description defaults to the name);
      ``origin`` = ``"LSTMVis project <absolute dir>"``.
    * ``tokens``: one token per position (the word sequence mapped through ``dict_file``);
      ``token_ids``: the ids exactly as stored in the HDF5 word sequence (1-based in the
      original tooling), int64.
    * ``sources``: one per ``states.types`` entry, id ``"{file ref}::{path}"``;
      ``values`` is the open ``h5py.Dataset`` (N x D, raw values; the store applies
      ``transform``), ``model`` = project name, ``layer``, ``kind`` = the type's ``type``
      (default ``state``), ``transform`` (default ``tanh``), ``unsigned`` (default false).
      Sources may have different widths D, but all have N rows.
    * ``tracks``: one per ``meta`` entry, named by its key.  ``vis.type: discrete`` (needs
      ``dict``) -> categorical with labels from the dict and categories in dict-file order;
      ``vis.type: scalar`` -> scalar with ``min``/``max`` from ``vis.range`` (``[min, max]``
      or ``"min...max"``; absent = no range); ``type: wordvec`` (or ``vis.type: wordvec``)
      -> topk with ``path`` (N x k ids through ``dict``) and ``weights_path`` (N x k scores).
      Without ``vis.type`` a meta with a dict is categorical, otherwise scalar.  With
      ``index: word_sequence`` the dataset is a table indexed by word id: row ``w`` holds the
      value for every position whose word id is ``w`` (ids index rows directly, so a 1-based
      vocabulary of V words needs V + 1 rows).
    * ``documents``: ``None`` -> one document ``doc0`` covering everything.  Otherwise either a
      list of :class:`Document` (must cover positions 0..N-1 in order, without gaps or
      overlaps) or a list of integer start positions (strictly increasing, 0 implied; the
      documents are named ``doc0``, ``doc1``, ...).
    * ``extra``: ``lstm_yml`` (raw config text), ``project_id`` (directory name, the original's
      project id), ``dict_size``, ``regex_search`` and ``search_index`` (``true``/``false``),
      and, when configured, ``word_embedding`` (``ref::path``) and ``word_embedding_size``
      (JSON list, e.g. ``[21689, 50]``).

    The HDF5 files stay open as long as the returned datasets are referenced (they close when
    the ProjectData is garbage-collected); prefer :func:`open_lstmvis_project` to close them
    deterministically.  Raises :class:`InputError` for any problem with the input.
    """
    with ExitStack() as stack:
        data = _read(project_dir, documents, stack)
        stack.pop_all()
    return data


def import_lstmvis(
    project_dir: str | Path,
    db_path: str | Path,
    documents: DocumentsArg = None,
    progress: bool = False,
    value_dtype: str = "float32",
) -> None:
    """Convert an original LSTMVis project folder into a project DuckDB file at ``db_path``.

    Reads with :func:`open_lstmvis_project` and writes with ``store.write_project`` (atomic:
    a failed import leaves no file and never damages an existing one).
    """
    with open_lstmvis_project(project_dir, documents) as data:
        write_project(db_path, data, progress=progress, value_dtype=value_dtype)
