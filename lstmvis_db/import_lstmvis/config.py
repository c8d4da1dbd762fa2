"""Reading ``lstm.yml`` and the files it names: typed key access with one-line errors.

:class:`ProjectConfig` opens one project folder: the parsed config, the ``files`` refs, the HDF5
files (opened read-only, closed by the caller's ``ExitStack``), the dictionaries, and checked
datasets.  Every problem raises an ``InputError`` naming the file, the ``lstm.yml`` key and/or
the value.

May import: h5py, yaml, numpy, ``lstmvis_db.errors``, ``import_lstmvis.dictionary``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import yaml

from lstmvis_db.errors import InputError
from lstmvis_db.import_lstmvis.dictionary import ID_RE, Vocabulary, read_dictionary
from lstmvis_db.types import Transform

CONFIG_NAME = "lstm.yml"
HDF5_SUFFIXES = (".h5", ".hdf5")
DICT_SUFFIXES = (".dict", ".txt")
TRANSFORMS: tuple[Transform, ...] = ("tanh", "none")

# libyaml's safe loader when available (same results, much faster), else the pure-Python one.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def show(value: Any) -> str:
    """A short, one-line rendering of a config value for error messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ProjectConfig:
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
            raise self.fail(key, f"must be a mapping, got {show(value)}")
        return value

    def text_value(self, parent: Mapping[str, Any], name: str, key: str) -> str:
        """A required scalar value, as a non-empty string."""
        value = parent.get(name)
        if value is None or value == "":
            raise self.fail(key, "missing required key")
        if isinstance(value, (dict, list)):
            raise self.fail(key, f"must be a single value, got {show(value)}")
        return str(value)

    def int_value(self, parent: Mapping[str, Any], name: str, key: str) -> int:
        """A required integer value (ints or integer strings)."""
        value = parent.get(name)
        if value is None or value == "":
            raise self.fail(key, "missing required key")
        if isinstance(value, bool):
            raise self.fail(key, f"must be an integer, got {show(value)}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and ID_RE.fullmatch(value.strip()):
            return int(value)
        raise self.fail(key, f"must be an integer, got {show(value)}")

    def bool_value(self, parent: Mapping[str, Any], name: str, key: str, default: bool) -> bool:
        """An optional boolean (YAML true/false/yes/no)."""
        value = parent.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {show(value)}")
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
                raise self.fail(key, f"must be a file name, got {show(name)}")
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


def int_ids(values: np.ndarray, file: str, key: str) -> np.ndarray:
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
