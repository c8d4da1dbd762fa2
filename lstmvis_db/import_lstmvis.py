"""Import an ORIGINAL LSTMVis project folder (``lstm.yml`` + HDF5 files + dict files).

An original project is one directory holding ``lstm.yml`` and the files it names (see
``lstmvis.md`` §2.1-2.4 and ``contract.md`` §2):

* ``files``: ``{ref: filename}``; filenames ending ``.h5``/``.hdf5`` are HDF5 files,
  ``.dict``/``.txt`` are dictionaries, anything else is ignored.  Every other section names
  files by their *ref*, never by filename.
* ``word_sequence``: ``{file, path, dict_file}``: an int vector of length N (the whole corpus
  as one flat stream of word ids) and the dictionary that turns ids into tokens.
* ``states``: ``{file, types: [{type, layer, path, file, unsigned, transform}]}``: one N x D
  matrix per type; row t is the state after reading token t.
* ``meta`` (optional): annotation tracks (discrete + dict, scalar + range, ``wordvec`` top-k,
  each either per position or, with ``index: word_sequence``, per word id).
* ``word_embedding`` (optional) and ``etc.regex_search`` (optional) are only recorded.

Dictionary files have one ``token<space>id`` line per token.  A line that starts with a space
is the single-space token (``"  5"`` and ``" 5"`` both mean token ``" "`` with id 5).  Ids are
used exactly as written (the original tooling writes 1-based ids): a word id ``w`` in the
HDF5 word sequence is the token whose dictionary line carries ``w``.

Every problem with the input raises :class:`lstmvis_db.errors.InputError` with a one-line
message that names the file, the ``lstm.yml`` key and/or the offending value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import yaml

from lstmvis_db.errors import InputError
from lstmvis_db.store import write_project
from lstmvis_db.types import Document, ProjectData, Source, Track, Transform

__all__ = [
    "CONFIG_NAME",
    "Vocabulary",
    "import_lstmvis",
    "open_lstmvis_project",
    "parse_dictionary",
    "read_dictionary",
    "read_lstmvis_project",
]

CONFIG_NAME = "lstm.yml"
HDF5_SUFFIXES = (".h5", ".hdf5")
DICT_SUFFIXES = (".dict", ".txt")
TRANSFORMS: tuple[Transform, ...] = ("tanh", "none")

# libyaml's safe loader when available (same results, much faster), else the pure-Python one.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ID_RE = re.compile(r"[+-]?[0-9]+")

DocumentsArg = Sequence[Document] | Sequence[int] | np.ndarray | None


# ------------------------------------------------------------------------------------------
# Dictionaries
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """A parsed dictionary file.

    ``tokens`` and ``ids`` are parallel lists in file order (``tokens[i]`` has id ``ids[i]``);
    ``by_id`` maps an id to its token.  ``file`` is the path the dictionary came from (used in
    error messages).
    """

    file: str
    tokens: tuple[str, ...]
    ids: tuple[int, ...]
    by_id: Mapping[int, str]

    def lookup(self, ids: np.ndarray, what: str) -> np.ndarray:
        """Map an int array of ids to an object array of tokens (same shape).

        ``what`` names the data being looked up (file and key) for the error raised when an id
        is not in the dictionary.
        """
        flat = np.asarray(ids).ravel()
        out = np.empty(flat.shape[0], dtype=object)
        if flat.shape[0] == 0:
            return out.reshape(np.shape(ids))
        uniq, inverse = np.unique(flat, return_inverse=True)
        mapped = np.empty(uniq.shape[0], dtype=object)
        for i, value in enumerate(uniq.tolist()):
            token = self.by_id.get(int(value))
            if token is None:
                where = int(np.flatnonzero(flat == value)[0])
                pos = np.unravel_index(where, np.shape(ids))
                at = int(pos[0]) if len(pos) == 1 else tuple(int(p) for p in pos)
                raise InputError(f"{what}: id {int(value)} at position {at} is not in dictionary {self.file}")
            mapped[i] = token
        out[:] = mapped[np.asarray(inverse).ravel()]
        return out.reshape(np.shape(ids))


def parse_dictionary(text: str, file: str = "<dict>") -> Vocabulary:
    """Parse the text of an LSTMVis dictionary file (one ``token<space>id`` line per token).

    Rules: lines are split on ``\\n`` only (a trailing ``\\r`` is dropped), so tokens may hold
    any other character; empty lines are skipped; a line starting with a space is the single
    space token with the rest of the line as its id; otherwise the id is the text after the
    last space/tab and the token is the text before it (separator whitespace trimmed, unless
    the token is whitespace only, e.g. a tab token).  Ids must be integers and unique.
    """
    tokens: list[str] = []
    ids: list[int] = []
    by_id: dict[int, str] = {}
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if line == "":
            continue
        if line.startswith(" "):
            token, id_text = " ", line.strip()
        else:
            body = line.rstrip(" \t")
            cut = max(body.rfind(" "), body.rfind("\t"))
            if cut <= 0:
                raise InputError(f"{file}: line {lineno}: malformed dictionary line {line!r} (expected 'token id')")
            token, id_text = body[:cut], body[cut + 1 :]
            stripped = token.rstrip(" \t")
            if stripped:
                token = stripped
        if not _ID_RE.fullmatch(id_text):
            raise InputError(
                f"{file}: line {lineno}: malformed dictionary line {line!r} (id {id_text!r} is not an integer)"
            )
        ident = int(id_text)
        if ident in by_id:
            raise InputError(f"{file}: line {lineno}: duplicate id {ident} (tokens {by_id[ident]!r} and {token!r})")
        by_id[ident] = token
        tokens.append(token)
        ids.append(ident)
    if not tokens:
        raise InputError(f"{file}: dictionary is empty")
    return Vocabulary(file=file, tokens=tuple(tokens), ids=tuple(ids), by_id=by_id)


def read_dictionary(path: str | Path) -> Vocabulary:
    """Read and parse a dictionary file (UTF-8, optional BOM); see :func:`parse_dictionary`."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read dictionary ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: dictionary is not valid UTF-8 (byte offset {exc.start})") from None
    return parse_dictionary(text, str(path))


# ------------------------------------------------------------------------------------------
# Config reading helpers
# ------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A short, one-line rendering of a config value for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Project:
    """Reads one project directory; opened HDF5 files are registered on ``stack``."""

    def __init__(self, project_dir: str | Path, stack: ExitStack) -> None:
        self.dir = Path(project_dir)
        self.stack = stack
        self.yml = self.dir / CONFIG_NAME
        self._h5: dict[str, h5py.File] = {}
        self._dicts: dict[str, Vocabulary] = {}
        if not self.dir.is_dir():
            raise InputError(f"{self.dir}: project directory not found")
        if not self.yml.is_file():
            raise InputError(f"{self.yml}: {CONFIG_NAME} not found in project directory")
        try:
            self.text = self.yml.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise InputError(f"{self.yml}: cannot read ({exc.strerror or exc})") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{self.yml}: not valid UTF-8 (byte offset {exc.start})") from None
        try:
            config = yaml.load(self.text, Loader=_YAML_LOADER)
        except yaml.YAMLError as exc:
            raise InputError(f"{self.yml}: YAML syntax error{_yaml_where(exc)}") from None
        if not isinstance(config, dict):
            raise InputError(f"{self.yml}: top level must be a mapping of keys, got {type(config).__name__}")
        self.config: dict[str, Any] = config
        self.files = self._read_files()

    # -- generic key access ------------------------------------------------------------

    def fail(self, key: str, problem: str) -> InputError:
        """An InputError about key ``key`` of lstm.yml."""
        return InputError(f"{self.yml}: {key}: {problem}")

    def section(self, parent: Mapping[str, Any], name: str, key: str, required: bool) -> Any:
        """``parent[name]`` as a mapping (``None`` if optional and absent)."""
        value = parent.get(name)
        if value is None:
            if required:
                raise self.fail(key, "missing required key")
            return None
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping, got {_show(value)}")
        return value

    def text_value(self, parent: Mapping[str, Any], name: str, key: str) -> str:
        """A required scalar value, as a non-empty string."""
        value = parent.get(name)
        if value is None or value == "":
            raise self.fail(key, "missing required key")
        if isinstance(value, (dict, list)):
            raise self.fail(key, f"must be a single value, got {_show(value)}")
        return str(value)

    def int_value(self, parent: Mapping[str, Any], name: str, key: str) -> int:
        """A required integer value (ints or integer strings)."""
        value = parent.get(name)
        if value is None or value == "":
            raise self.fail(key, "missing required key")
        if isinstance(value, bool):
            raise self.fail(key, f"must be an integer, got {_show(value)}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _ID_RE.fullmatch(value.strip()):
            return int(value)
        raise self.fail(key, f"must be an integer, got {_show(value)}")

    def bool_value(self, parent: Mapping[str, Any], name: str, key: str, default: bool) -> bool:
        """An optional boolean (YAML true/false/yes/no)."""
        value = parent.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {_show(value)}")
        return value

    # -- files -----------------------------------------------------------------------------

    def _read_files(self) -> dict[str, Path]:
        files = self.section(self.config, "files", "files", required=True)
        if not files:
            raise self.fail("files", "missing required key")
        out: dict[str, Path] = {}
        for ref, name in files.items():
            key = f"files.{ref}"
            if not isinstance(name, str) or not name.strip():
                raise self.fail(key, f"must be a file name, got {_show(name)}")
            path = self.dir / name
            if path.suffix.lower() in HDF5_SUFFIXES + DICT_SUFFIXES and not path.is_file():
                raise self.fail(key, f"file {name!r} not found ({path})")
            out[str(ref)] = path
        return out

    def ref_path(self, ref: str, key: str, suffixes: tuple[str, ...], kind: str) -> Path:
        """The file a ref names, checking it is listed in ``files`` and of the right kind."""
        path = self.files.get(ref)
        if path is None:
            raise self.fail(key, f"ref {ref!r} is not listed in files")
        if path.suffix.lower() not in suffixes:
            raise self.fail(key, f"ref {ref!r} names {path.name!r}, which is not {kind} ({'/'.join(suffixes)})")
        return path

    def h5(self, ref: str, key: str) -> h5py.File:
        """The opened (read-only) HDF5 file for ``ref``."""
        handle = self._h5.get(ref)
        if handle is None:
            path = self.ref_path(ref, key, HDF5_SUFFIXES, "an HDF5 file")
            try:
                handle = h5py.File(path, "r")
            except OSError as exc:
                raise InputError(f"{path}: cannot open as HDF5 ({_one_line(exc)})") from None
            self.stack.callback(handle.close)
            self._h5[ref] = handle
        return handle

    def dictionary(self, ref: str, key: str) -> Vocabulary:
        """The parsed dictionary for ``ref``."""
        vocab = self._dicts.get(ref)
        if vocab is None:
            path = self.ref_path(ref, key, DICT_SUFFIXES, "a dictionary")
            vocab = read_dictionary(path)
            self._dicts[ref] = vocab
        return vocab

    def dataset(self, ref: str, path: str, key_file: str, key_path: str, ndim: int, what: str) -> h5py.Dataset:
        """Dataset ``path`` of HDF5 ref ``ref``: must exist, be numeric and have rank ``ndim``.

        ``key_file``/``key_path`` are the lstm.yml keys that named the ref and the dataset;
        ``what`` says what the data is (for messages).
        """
        handle = self.h5(ref, key_file)
        try:
            obj = handle.get(path)
        except (KeyError, ValueError, OSError) as exc:
            raise InputError(f"{handle.filename}: cannot read {path!r} ({key_path}): {_one_line(exc)}") from None
        if obj is None:
            raise InputError(f"{handle.filename}: dataset {path!r} not found ({key_path})")
        if not isinstance(obj, h5py.Dataset):
            raise InputError(f"{handle.filename}: {path!r} is a group, not a dataset ({key_path})")
        if obj.ndim != ndim:
            shape = "x".join(str(s) for s in obj.shape) or "scalar"
            raise InputError(
                f"{handle.filename}: dataset {path!r} ({key_path}) must be {ndim}-D ({what}), got shape {shape}"
            )
        if obj.dtype.kind not in "fiu":
            raise InputError(
                f"{handle.filename}: dataset {path!r} ({key_path}) must be numeric ({what}), got dtype {obj.dtype}"
            )
        return obj


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return where + (f": {' '.join(str(problem).split())}" if problem else "")


def _int_ids(values: np.ndarray, file: str, key: str) -> np.ndarray:
    """Integer ids as int64; float data is accepted when every value is a whole number."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
            raise InputError(f"{file}: {key}: id {int(arr.max())} is too large")
        return arr.astype(np.int64, copy=False)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
    if bad.any():
        where = int(np.flatnonzero(bad.ravel())[0])
        raise InputError(f"{file}: {key}: ids must be whole numbers, got {arr.ravel()[where]!r} at flat index {where}")
    return arr.astype(np.int64)


# ------------------------------------------------------------------------------------------
# Sections
# ------------------------------------------------------------------------------------------


def _word_sequence(p: _Project) -> tuple[np.ndarray, list[str], Vocabulary, str]:
    """Word ids (int64, length N), tokens, the word dictionary and the HDF5 file name."""
    ws = p.section(p.config, "word_sequence", "word_sequence", required=True)
    ref = p.text_value(ws, "file", "word_sequence.file")
    path = p.text_value(ws, "path", "word_sequence.path")
    dict_ref = p.text_value(ws, "dict_file", "word_sequence.dict_file")
    ds = p.dataset(ref, path, "word_sequence.file", "word_sequence.path", 1, "word ids")
    if ds.shape[0] == 0:
        raise InputError(f"{ds.file.filename}: dataset {path!r} (word_sequence.path) is empty")
    ids = _int_ids(ds[()], ds.file.filename, f"dataset {path!r} (word_sequence.path)")
    vocab = p.dictionary(dict_ref, "word_sequence.dict_file")
    tokens = vocab.lookup(ids, f"{ds.file.filename}: dataset {path!r} (word_sequence.path)")
    return ids, tokens.tolist(), vocab, ds.file.filename


def _sources(p: _Project, name: str, n: int) -> list[Source]:
    """One Source per ``states.types`` entry, values left in HDF5 (sliced lazily)."""
    states = p.section(p.config, "states", "states", required=True)
    default_ref = states.get("file")
    types = states.get("types")
    if types is None or types == []:
        raise p.fail("states.types", "missing required key")
    if not isinstance(types, list):
        raise p.fail("states.types", f"must be a list, got {_show(types)}")
    sources: list[Source] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(types):
        key = f"states.types[{i}]"
        if not isinstance(entry, dict):
            raise p.fail(key, f"must be a mapping, got {_show(entry)}")
        path = p.text_value(entry, "path", f"{key}.path")
        layer = p.int_value(entry, "layer", f"{key}.layer")
        if entry.get("file") is not None:
            ref, ref_key = p.text_value(entry, "file", f"{key}.file"), f"{key}.file"
        elif default_ref is not None and default_ref != "":
            ref, ref_key = p.text_value(states, "file", "states.file"), "states.file"
        else:
            raise p.fail(f"{key}.file", "missing required key (and no states.file default)")
        kind = entry.get("type")
        if kind is None or kind == "":
            kind = "state"
        elif not isinstance(kind, str):
            raise p.fail(f"{key}.type", f"must be a name such as state or output, got {_show(kind)}")
        transform = entry.get("transform")
        if transform is None:
            transform = "tanh"
        if transform not in TRANSFORMS:
            raise p.fail(f"{key}.transform", f"must be tanh or none, got {_show(transform)}")
        unsigned = p.bool_value(entry, "unsigned", f"{key}.unsigned", False)
        ds = p.dataset(ref, path, ref_key, f"{key}.path", 2, "N x D states")
        if ds.shape[0] != n:
            raise InputError(
                f"{ds.file.filename}: dataset {path!r} ({key}.path) has {ds.shape[0]} rows "
                f"but the word sequence has {n} words"
            )
        if ds.shape[1] == 0:
            raise InputError(f"{ds.file.filename}: dataset {path!r} ({key}.path) has 0 cells")
        source_id = f"{ref}::{path}"
        if source_id in seen:
            raise p.fail(key, f"source {source_id!r} is already defined by {seen[source_id]}")
        seen[source_id] = key
        sources.append(
            Source(
                source=source_id,
                values=ds,
                model=name,
                layer=layer,
                kind=kind,
                transform=transform,
                unsigned=unsigned,
                description=f"{kind} of layer {layer} ({Path(ds.file.filename).name}:{path})",
            )
        )
    return sources


def _meta_range(p: _Project, vis: Mapping[str, Any], key: str) -> tuple[float | None, float | None]:
    """``vis.range`` of a scalar meta: ``[min, max]`` or ``"min...max"``; absent = no range."""
    rng = vis.get("range")
    if rng is None:
        return None, None
    if isinstance(rng, str) and "..." in rng:
        parts: list[Any] = rng.split("...", 1)
    elif isinstance(rng, (list, tuple)):
        parts = list(rng)
    else:
        raise p.fail(key, f"must be [min, max], got {_show(rng)}")
    try:
        if len(parts) != 2 or any(isinstance(v, bool) for v in parts):
            raise ValueError
        lo, hi = float(parts[0]), float(parts[1])
    except (TypeError, ValueError):
        raise p.fail(key, f"must be [min, max] with two numbers, got {_show(rng)}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise p.fail(key, f"must be [min, max] with finite min <= max, got {_show(rng)}")
    return lo, hi


def _meta_rows(
    p: _Project,
    ref: str,
    path: str,
    key: str,
    key_path: str,
    ndim: int,
    what: str,
    index: str,
    word_ids: np.ndarray,
) -> tuple[np.ndarray, str]:
    """The N rows of one meta dataset, following ``index`` (self or word_sequence)."""
    ds = p.dataset(ref, path, f"{key}.file", key_path, ndim, what)
    filename = ds.file.filename
    n = word_ids.shape[0]
    if index == "self":
        if ds.shape[0] != n:
            raise InputError(
                f"{filename}: dataset {path!r} ({key_path}) has {ds.shape[0]} rows but the word sequence has {n} words"
            )
        return np.asarray(ds[()]), filename
    table = np.asarray(ds[()])
    lo, hi = int(word_ids.min()), int(word_ids.max())
    if lo < 0 or hi >= table.shape[0]:
        bad = lo if lo < 0 else hi
        raise InputError(
            f"{filename}: dataset {path!r} ({key_path}, index: word_sequence) has "
            f"{table.shape[0]} rows, so it has no row for word id {bad}"
        )
    return table[word_ids], filename


def _tracks(p: _Project, word_ids: np.ndarray) -> list[Track]:
    """One Track per ``meta`` entry."""
    meta = p.section(p.config, "meta", "meta", required=False)
    if not meta:
        return []
    tracks: list[Track] = []
    for meta_name, entry in meta.items():
        name = str(meta_name)
        key = f"meta.{name}"
        if not isinstance(entry, dict):
            raise p.fail(key, f"must be a mapping, got {_show(entry)}")
        vis = p.section(entry, "vis", f"{key}.vis", required=False) or {}
        ref = p.text_value(entry, "file", f"{key}.file")
        path = p.text_value(entry, "path", f"{key}.path")
        index = entry.get("index") or "self"
        if index not in ("self", "word_sequence"):
            raise p.fail(f"{key}.index", f"must be self or word_sequence, got {_show(index)}")
        meta_type = entry.get("type") or "general"
        vis_type = vis.get("type")
        if meta_type == "wordvec" or vis_type == "wordvec":
            kind = "topk"
        elif vis_type == "discrete":
            kind = "categorical"
        elif vis_type == "scalar":
            kind = "scalar"
        elif vis_type is None:
            kind = "categorical" if entry.get("dict") is not None else "scalar"
        else:
            raise p.fail(
                f"{key}.vis.type",
                f"must be discrete, scalar or wordvec, got {_show(vis_type)}",
            )
        via = " via word id" if index == "word_sequence" else ""
        if kind == "categorical":
            if entry.get("dict") is None:
                raise p.fail(f"{key}.dict", "missing required key (a discrete meta needs a dict)")
            vocab = p.dictionary(p.text_value(entry, "dict", f"{key}.dict"), f"{key}.dict")
            rows, filename = _meta_rows(p, ref, path, key, f"{key}.path", 1, "label ids", index, word_ids)
            ids = _int_ids(rows, filename, f"dataset {path!r} ({key}.path)")
            labels = vocab.lookup(ids, f"{filename}: dataset {path!r} ({key}.path)")
            tracks.append(
                Track(
                    track=name,
                    kind="categorical",
                    description=f"{ref}::{path}{via}",
                    labels=labels.tolist(),
                    categories=list(dict.fromkeys(vocab.tokens)),
                )
            )
        elif kind == "scalar":
            lo, hi = _meta_range(p, vis, f"{key}.vis.range")
            rows, _ = _meta_rows(p, ref, path, key, f"{key}.path", 1, "one value per word", index, word_ids)
            tracks.append(
                Track(
                    track=name,
                    kind="scalar",
                    description=f"{ref}::{path}{via}",
                    values=rows.astype(np.float64),
                    min=lo,
                    max=hi,
                )
            )
        else:
            weights_path = p.text_value(entry, "weights_path", f"{key}.weights_path")
            dict_ref = p.text_value(entry, "dict", f"{key}.dict")
            vocab = p.dictionary(dict_ref, f"{key}.dict")
            rows, filename = _meta_rows(p, ref, path, key, f"{key}.path", 2, "N x k word ids", index, word_ids)
            scores, _ = _meta_rows(
                p,
                ref,
                weights_path,
                key,
                f"{key}.weights_path",
                2,
                "N x k scores",
                index,
                word_ids,
            )
            if scores.shape != rows.shape:
                raise InputError(
                    f"{filename}: {key}: weights_path {weights_path!r} has shape "
                    f"{'x'.join(map(str, scores.shape))} but path {path!r} has shape "
                    f"{'x'.join(map(str, rows.shape))}"
                )
            ids = _int_ids(rows, filename, f"dataset {path!r} ({key}.path)")
            topk_tokens = vocab.lookup(ids, f"{filename}: dataset {path!r} ({key}.path)")
            tracks.append(
                Track(
                    track=name,
                    kind="topk",
                    description=f"{ref}::{path} (scores {weights_path}){via}",
                    topk_tokens=topk_tokens,
                    topk_scores=scores.astype(np.float64),
                )
            )
    return tracks


def _extra(p: _Project, vocab: Vocabulary) -> dict[str, str]:
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


def _documents(documents: DocumentsArg, n: int) -> list[Document]:
    """Validate/build the document split of the N positions (see read_lstmvis_project)."""
    if documents is None:
        return [Document(name="doc0", first_pos=0, last_pos=n - 1)]
    items = list(documents)
    if not items:
        raise InputError("documents: empty list (give document starts or Document objects)")
    if all(isinstance(d, Document) for d in items):
        docs: list[Document] = items  # type: ignore[assignment]
    elif all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in items):
        starts = [int(d) for d in items]
        if starts[0] != 0:
            starts.insert(0, 0)
        for i in range(1, len(starts)):
            if starts[i] <= starts[i - 1]:
                raise InputError(
                    f"documents: starts must be strictly increasing, got {starts[i]} after {starts[i - 1]}"
                )
        if starts[-1] >= n:
            raise InputError(f"documents: start {starts[-1]} is outside 0..{n - 1}")
        ends = [s - 1 for s in starts[1:]] + [n - 1]
        docs = [Document(f"doc{i}", s, e) for i, (s, e) in enumerate(zip(starts, ends))]
    else:
        raise InputError("documents: must be a list of Document objects or a list of integer start positions")
    expected = 0
    for i, d in enumerate(docs):
        if d.first_pos != expected:
            raise InputError(
                f"documents[{i}] ({d.name!r}): first_pos {d.first_pos} should be {expected} "
                "(documents must cover every position in order)"
            )
        if d.last_pos < d.first_pos:
            raise InputError(f"documents[{i}] ({d.name!r}): last_pos {d.last_pos} < first_pos {d.first_pos}")
        expected = d.last_pos + 1
    if expected != n:
        raise InputError(
            f"documents[{len(docs) - 1}] ({docs[-1].name!r}): last_pos {expected - 1} "
            f"should be {n - 1} (the last position)"
        )
    return docs


def _read(project_dir: str | Path, documents: DocumentsArg, stack: ExitStack) -> ProjectData:
    p = _Project(project_dir, stack)
    name = p.text_value(p.config, "name", "name")
    description = p.config.get("description")
    if description is None or str(description).strip() == "":
        description = name
    word_ids, tokens, vocab, _ = _word_sequence(p)
    n = len(tokens)
    sources = _sources(p, name, n)
    tracks = _tracks(p, word_ids)
    extra = _extra(p, vocab)
    return ProjectData(
        name=name,
        tokens=tokens,
        sources=sources,
        description=str(description),
        origin=f"LSTMVis project {p.dir.resolve()}",
        token_ids=word_ids,
        documents=_documents(documents, n),
        tracks=tracks,
        extra=extra,
    )


# ------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------


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
) -> None:
    """Convert an original LSTMVis project folder into a project DuckDB file at ``db_path``.

    Reads with :func:`open_lstmvis_project` and writes with ``store.write_project`` (atomic:
    a failed import leaves no file and never damages an existing one).
    """
    with open_lstmvis_project(project_dir, documents) as data:
        write_project(db_path, data, progress=progress)
