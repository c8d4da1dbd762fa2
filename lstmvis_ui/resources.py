"""Projects: discovery in the data folder, first-start demo builds and the cached resources
(one read-only :class:`lstmvis_db.Project` per file, model adapters for the New project page)."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import streamlit as st

import lstmvis_db
from lstmvis_db import deploy
from lstmvis_db.projectfile import file_stamp

from . import public
from .constants import EXTRA_PATHS, ROOT


def data_dir() -> Path:
    return Path(os.environ.get("LSTMVIS_DATA_DIR") or ROOT / "data")


def _demo_module():
    try:
        from lstmvis_db.demos import registry as demo
    except ImportError:
        return None
    return demo if hasattr(demo, "build_demo") and hasattr(demo, "DEMOS") else None


def _warm_up_kernels() -> None:
    from lstmvis_db.analysis import warmup  # imports numba: kept off the page's own thread
    from lstmvis_db.matching import kernels

    kernels.warm_up()
    with contextlib.suppress(Exception):  # a failed warm-up only leaves the loading to the first user
        warmup.warm_up()


@st.cache_resource(show_spinner=False)
def warm_up_kernels() -> threading.Thread:
    """Once per server process, load the compiled loops in the background: the match's (about
    1 s), then the cell statistics' and align's (:func:`lstmvis_db.analysis.warmup.warm_up`), so
    that the first match, ranking or profile does not wait for numba."""
    thread = threading.Thread(target=_warm_up_kernels, name="lstmvis-warm-up", daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner=False)
def _demo_attempts() -> tuple[threading.Lock, dict[str, str]]:
    """A lock for building (one session builds, the others wait) and the demos already tried
    in this server process (name -> error message or '')."""
    return threading.Lock(), {}


def ensure_demos() -> None:
    """Build the missing demo projects into ``data/`` on first start (with a progress bar).

    Only for the default data folder (a folder or file given by LSTMVIS_DATA_DIR / LSTMVIS_DB is
    used as is) unless LSTMVIS_BUILD_DEMOS=1; LSTMVIS_BUILD_DEMOS=0 never builds.
    """
    flag = os.environ.get("LSTMVIS_BUILD_DEMOS", "")
    if flag == "0" or (flag != "1" and (os.environ.get("LSTMVIS_DATA_DIR") or os.environ.get("LSTMVIS_DB"))):
        return
    demo = _demo_module()
    if demo is None:
        return
    lock, tried = _demo_attempts()
    missing = []
    for n in demo.DEMOS:
        if n in tried:
            continue
        if _usable(data_dir() / f"{n}.duckdb"):
            tried[n] = ""
        else:
            missing.append(n)
    if missing:
        with lock:
            _build_demos(demo, missing, tried)
    for name, err in tried.items():
        if err:
            st.sidebar.warning(f"Demo '{name}' could not be built: {public.message(err)}")


def _usable(path: Path) -> bool:
    """True if ``path`` is a project file this version reads (else a demo is (re)built)."""
    if not path.is_file():
        return False
    try:
        lstmvis_db.open(path).close()
    except lstmvis_db.LstmvisError:
        return False
    return True


def _build_demos(demo, names: list[str], tried: dict[str, str]) -> None:
    data_dir().mkdir(parents=True, exist_ok=True)
    for name in names:
        if name in tried or _usable(data_dir() / f"{name}.duckdb"):
            continue
        bar = st.progress(0.0, text=f"Building the demo project '{name}' (first start only)…")

        def progress(*args, _bar=bar, _name=name):
            frac = next((float(a) for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)), None)
            label = next((str(a) for a in args if isinstance(a, str)), "")
            if frac is not None:
                with contextlib.suppress(Exception):  # called from a worker thread: no bar update
                    _bar.progress(min(max(frac, 0.0), 1.0), text=f"Building demo '{_name}': {label}")

        try:
            demo.build_demo(name, data_dir(), progress=progress)
            tried[name] = ""
        except Exception as e:  # noqa: BLE001 (a failed demo must not stop the app)
            tried[name] = f"{type(e).__name__}: {e}"
        bar.empty()


def projects() -> dict[str, str]:
    """Project name -> file path: LSTMVIS_DB, every ``*.duckdb`` in the data folder, then (local
    rules) the paths typed in this session, or (public rules) this session's private copies in
    place of the shared files they copy."""
    found: dict[str, str] = {}
    one = os.environ.get("LSTMVIS_DB")
    if one:
        found[Path(one).stem] = str(Path(one))
    folder = data_dir()
    if folder.is_dir():
        for p in sorted(folder.glob("*.duckdb")):
            found.setdefault(p.stem, str(p))
    if public.is_public():
        found.update(public.session_copies())
    else:
        for p in st.session_state.get(EXTRA_PATHS, []):
            found.setdefault(p, p)
    demo = _demo_module()
    if demo is not None:  # the default demo first
        first = getattr(demo, "DEFAULT_DEMO", None) or (list(demo.DEMOS) or [None])[0]
        if first in found:
            found = {first: found[first], **{k: v for k, v in found.items() if k != first}}
    notice_replaced(list(found.values()))
    return found


def add_project_path(path: str) -> str:
    """Register a typed path (validated by opening it); returns its key.  Refused under the
    public rules, with the same message whether or not such a file exists."""
    if public.is_public():
        raise deploy.refused_project(path)
    p = str(Path(path).expanduser())
    if Path(p).suffix != ".duckdb":
        raise lstmvis_db.LstmvisError(f"not a .duckdb project file: {p!r}")
    if not Path(p).is_file():
        raise lstmvis_db.LstmvisError(f"no such project file: {p!r}")
    open_project(p)
    extra = st.session_state.setdefault(EXTRA_PATHS, [])
    if p not in extra:
        extra.append(p)
    return p


def open_project(path: str) -> lstmvis_db.Project:
    """The shared read-only Project for the file's current content: a file replaced on disk
    (another inode, mtime or size) gets a new handle; the old one stays open for the queries
    still using it and is dropped with its last user (never closed under another session)."""
    try:
        stamp = file_stamp(path)
    except OSError:
        raise lstmvis_db.LstmvisError(f"project file {path!r} does not exist") from None
    return _open_project(path, stamp)


@st.cache_resource(max_entries=16, show_spinner=False)
def _open_project(path: str, stamp: tuple[int, int, int, int]) -> lstmvis_db.Project:
    return lstmvis_db.open(path)


@st.cache_resource(show_spinner=False)
def _stamps() -> tuple[threading.Lock, dict[str, tuple[int, int, int, int]]]:
    return threading.Lock(), {}


def notice_replaced(paths: list[str]) -> None:
    """Drop the cached answers when one of ``paths`` changed on disk since last seen."""
    lock, seen = _stamps()
    changed = False
    with lock:
        for p in paths:
            try:
                stamp = file_stamp(p)
            except OSError:
                continue
            changed |= seen.get(p, stamp) != stamp
            seen[p] = stamp
    if changed:
        st.cache_data.clear()


def forget_project(path: str) -> None:
    """After this session replaced ``path``: drop the cached answers (the next ``open_project``
    sees the new file by its stamp; other sessions' handles are left alone)."""
    notice_replaced([path])
    st.cache_data.clear()


@st.cache_resource(max_entries=2, show_spinner=False)
def load_adapter(spec: str, vocab: str, stamp: float):
    """A model adapter for the New project page (``stamp`` changes when the files change).  Never
    under the public rules: a model path or factory file from a visitor would run their choice."""
    if public.is_public():
        raise lstmvis_db.LstmvisError("loading models is turned off on this public deployment")
    from lstmvis_db.views import new_project as app_support

    return app_support.load_adapter(spec, vocab or None)
