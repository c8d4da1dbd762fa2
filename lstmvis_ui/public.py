"""Public or local rules in the app (the decision itself is ``lstmvis_db.deploy``): the rules in
force, each session's private folder and copies of projects, messages without server paths, and
stored strings shown as plain text."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import weakref
from pathlib import Path

import streamlit as st

from lstmvis_db import deploy
from lstmvis_db.errors import InputError

from .constants import ROOT

COPIES = "lv_session_copies"  # project name -> this session's private copy
FOLDER = "lv_session_folder"


def deployment() -> deploy.Deployment:
    """The rules for this server (read each run: cheap, and tests change the environment).  A bad
    size setting is shown and the public rules with default limits hold."""
    try:
        return deploy.decide(os.environ, os.getcwd(), str(ROOT / "streamlit_app.py"), default_data=ROOT / "data")
    except InputError as e:
        if not st.session_state.get("lv_bad_setting_shown"):  # once per session, not on every call
            st.session_state["lv_bad_setting_shown"] = True
            st.error(f"Deployment setting ignored: {e}")
        data = Path(os.environ.get("LSTMVIS_DATA_DIR") or ROOT / "data")
        return deploy.Deployment(True, "a bad setting: public rules", data, Path(os.environ.get("TMPDIR", "/tmp")))


def is_public() -> bool:
    return deployment().public


def upload_mb() -> int | None:
    """What a file uploader offers (``max_upload_size``, whole megabytes): under the public rules the
    deployment's upload limit, so that the widget's "Limit … per file" is the limit we enforce and a
    larger file is refused in the browser before it is sent; locally None (Streamlit's own limit,
    ``server.maxUploadSize``, which is then the true one)."""
    dep = deployment()
    return max(1, math.ceil(dep.upload_limit / deploy.MB)) if dep.public else None


def hide_error_details() -> None:
    """Under the public rules, an unexpected exception shows no traceback (it would name server
    paths); Streamlit's own setting, process-wide like the rules themselves."""
    if is_public() and st.get_option("client.showErrorDetails") != "none":
        st.set_option("client.showErrorDetails", "none")


def plain(text: object) -> str:
    """A stored string (project, source, track name, description, text) for st.markdown and
    friends: shown literally, never as a link, HTML or formatting."""
    return deploy.escape_markdown(text)


def project_title(stored: object, key: str) -> str:
    """A project as page titles name it, for st.markdown: its stored name, and the name it has in
    the sidebar's list where that differs (``parens (parens-full)``: a full build keeps its demo's name)."""
    name = str(stored or "") or key
    return plain(name) if name == key else f"{plain(name)} ({plain(key)})"


def described(text: object) -> str:
    """A project's description for st.markdown: literal but for bold and code spans."""
    return deploy.emphasis_markdown(text)


def message(error: BaseException | str) -> str:
    """An error's text for the page: in public mode without server folders or process ids."""
    text = str(error)
    if not is_public():
        return text
    dep = deployment()
    folders = [dep.data_dir, dep.session_root, ROOT]
    return deploy.public_message(text, folders)


class _Folder:
    """A session's private folder; removed when the session's state is dropped (and by age)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        weakref.finalize(self, shutil.rmtree, str(path), True)


def session_folder() -> Path:
    """This session's private folder (made on first use; touched on every use)."""
    f = st.session_state.get(FOLDER)
    if f is None or not f.path.is_dir():
        dep = deployment()
        deploy.sweep_session_dirs(dep.session_root, dep.copy_max_age)
        f = _Folder(deploy.new_session_dir(dep.session_root))
        st.session_state[FOLDER] = f
    with contextlib.suppress(OSError):
        os.utime(f.path)
    return f.path


def session_copies() -> dict[str, str]:
    """Project name -> this session's copy, for the copies that still exist (the folder touched,
    so that an active session's copies are not swept)."""
    copies: dict[str, str] = st.session_state.setdefault(COPIES, {})
    for name in [n for n, p in copies.items() if not Path(p).is_file()]:
        copies.pop(name)
    if copies and st.session_state.get(FOLDER) is not None:
        with contextlib.suppress(OSError):
            os.utime(st.session_state[FOLDER].path)
    return copies


def allowed_folders() -> list[Path]:
    """Where a project may be opened from in public mode: the data folder and this session's."""
    dep = deployment()
    out = [dep.data_dir]
    if st.session_state.get(FOLDER) is not None:
        out.append(st.session_state[FOLDER].path)
    return out


def private_copy(name: str, path: str, upload_bytes: int) -> str:
    """This session's own copy of project ``name`` (made now from ``path`` if there is none).

    Raises:
        InputError: the upload or the copy would pass the deployment's limits.
    """
    dep = deployment()
    copies = session_copies()
    used = sum(deploy.folder_bytes(d) for d in deploy.session_dirs(dep.session_root))
    if name in copies:
        size = Path(copies[name]).stat().st_size
        deploy.check_copy(size, upload_bytes, used - size, dep)
        return copies[name]
    deploy.check_copy(Path(path).stat().st_size, upload_bytes, used, dep)
    target = session_folder() / f"{deploy.safe_stem(name)}.duckdb"
    shutil.copyfile(path, target)
    copies[name] = str(target)
    return str(target)


def check_copy_size(copy: str) -> bool:
    """After a write to a private copy: True if it is within the per-visitor limit, else it is
    removed and an InputError raised."""
    dep = deployment()
    if Path(copy).stat().st_size > dep.copy_limit:
        for name, p in list(session_copies().items()):
            if p == copy:
                session_copies().pop(name)
        Path(copy).unlink(missing_ok=True)
        raise InputError(f"your copy of the project grew past {dep.copy_limit / deploy.MB:.0f} MB and was removed")
    return True
