"""Public or local rules for the app (pure: no Streamlit; the glue is ``lstmvis_ui.public``).

A *public* deployment serves visitors who must not change what other visitors see and must not
look around the server: projects come only from the operator's data folder, a visitor's new
track goes to a per-session copy of the project (size-capped, removed with the session or by
age), model paths and factory files are never taken from a visitor, and messages carry neither
absolute paths nor process ids.  A *local* run (``streamlit run`` on one's own machine) keeps
typed paths, in-place tracks and model building.

How it is decided (:func:`decide`):

1. ``LSTMVIS_PUBLIC=1`` (or true/yes/on) forces the public rules, ``LSTMVIS_PUBLIC=0``
   (false/no/off) the local ones; any other non-empty value is treated as public (fail safe).
2. Otherwise the public rules hold on Streamlit Community Cloud, recognised by the app being run
   from under ``/mount/src/`` (where Community Cloud clones the repository: the working
   directory or the app's file), or by its container's ``HOSTNAME=streamlit`` / home
   ``/home/appuser``.
3. Otherwise local.

Imports only the standard library and ``lstmvis_db.errors``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lstmvis_db.errors import InputError

MB = 2**20
CLOUD_ROOT = "/mount/src/"
SESSION_PREFIX = "lstmvis-session-"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Deployment:
    """The rules in force.  Sizes in bytes, ages in seconds."""

    public: bool
    reason: str
    data_dir: Path
    session_root: Path
    upload_limit: int = 10 * MB
    copy_limit: int = 256 * MB
    copies_limit: int = 1024 * MB
    copy_max_age: float = 3600.0


def on_community_cloud(env: Mapping[str, str], cwd: str, app_file: str = "") -> bool:
    """True when the signals of Streamlit Community Cloud are present (see the module docstring)."""
    return (cwd.startswith(CLOUD_ROOT) or app_file.startswith(CLOUD_ROOT) or env.get("HOSTNAME") == "streamlit"
            or env.get("HOME") == "/home/appuser")


def _positive(env: Mapping[str, str], key: str, default: float, unit: str) -> float:
    raw = env.get(key, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{key} must be a number of {unit}, got {raw!r}") from None
    if not 0 < value < 2**30:  # also refuses nan and inf
        raise InputError(f"{key} must be a positive number of {unit}, got {raw!r}")
    return value


def decide(env: Mapping[str, str], cwd: str, app_file: str = "", default_data: str | Path = "data") -> Deployment:
    """The rules for this process (environment ``env``, working directory ``cwd``).

    Raises:
        InputError: a size or age setting that is not a positive number.
    """
    flag = env.get("LSTMVIS_PUBLIC", "").strip().lower()
    if flag in _TRUE:
        public, reason = True, "LSTMVIS_PUBLIC=1"
    elif flag in _FALSE:
        public, reason = False, "LSTMVIS_PUBLIC=0"
    elif flag:
        public, reason = True, f"LSTMVIS_PUBLIC={flag!r} is not 0 or 1: public rules"
    elif on_community_cloud(env, cwd, app_file):
        public, reason = True, "Streamlit Community Cloud"
    else:
        public, reason = False, "local run"
    data = Path(env.get("LSTMVIS_DATA_DIR") or default_data)
    root = Path(env.get("LSTMVIS_SESSION_DIR") or tempfile.gettempdir())
    return Deployment(public, reason, data, root,
                      upload_limit=int(_positive(env, "LSTMVIS_UPLOAD_MB", 10, "megabytes") * MB),
                      copy_limit=int(_positive(env, "LSTMVIS_COPY_MB", 256, "megabytes") * MB),
                      copies_limit=int(_positive(env, "LSTMVIS_COPIES_MB", 1024, "megabytes") * MB),
                      copy_max_age=_positive(env, "LSTMVIS_COPY_MAX_AGE_MIN", 60, "minutes") * 60)


# --------------------------------------------------------------------------- project paths


def within(path: str | Path, folders: list[Path]) -> bool:
    """True if ``path`` (symlinks resolved) is a file inside one of ``folders``."""
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    for folder in folders:
        with contextlib.suppress(OSError, RuntimeError):
            if real.is_relative_to(folder.resolve(strict=True)) and real.is_file():
                return True
    return False


def refused_project(requested: str) -> InputError:
    """The one message for a project a visitor may not open: the same whether or not a file of
    that name exists, and without any path."""
    shown = Path(str(requested)).name[:80] or "?"
    return InputError(f"there is no project {shown!r} on this server")


def public_message(message: str, folders: list[Path]) -> str:
    """``message`` with the given folders' absolute paths and writers' process ids taken out."""
    out = str(message)
    for folder in sorted({str(f) for f in folders} | {str(Path(f).resolve()) for f in folders}, key=len,
                         reverse=True):
        if folder not in ("", ".", "/"):
            out = out.replace(folder.rstrip("/") + "/", "").replace(folder, "<data>")
    out = re.sub(r"\.tmp-\d+", ".tmp", out)
    out = re.sub(r"(?<![\w.])/(?:[\w.-]+/)+", "", out)  # any other absolute folder
    return re.sub(r"\b(pid|PID|process)\s*\d+", r"\1 ?", out)


# --------------------------------------------------------------------------- session copies


def new_session_dir(root: Path) -> Path:
    """A fresh private folder for one session's copies."""
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=SESSION_PREFIX, dir=root))


def session_dirs(root: Path) -> list[Path]:
    try:
        return [p for p in root.iterdir() if p.name.startswith(SESSION_PREFIX) and p.is_dir() and not p.is_symlink()]
    except OSError:
        return []


def folder_bytes(folder: Path) -> int:
    total = 0
    for p in folder.rglob("*"):
        with contextlib.suppress(OSError):
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
    return total


def sweep_session_dirs(root: Path, max_age: float, now: float | None = None, keep: Path | None = None) -> list[Path]:
    """Remove session folders not touched for ``max_age`` seconds (except ``keep``)."""
    now = time.time() if now is None else now
    removed = []
    for d in session_dirs(root):
        if keep is not None and d == keep:
            continue
        with contextlib.suppress(OSError):
            if now - d.stat().st_mtime > max_age:
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
    return removed


def check_copy(project_bytes: int, upload_bytes: int, used_bytes: int, dep: Deployment) -> None:
    """Refuse a session copy (or an upload into one) that would pass the limits.

    Raises:
        InputError: the upload, the copy or all visitors' copies together would be too large.
    """
    if upload_bytes > dep.upload_limit:
        raise InputError(f"the upload is {upload_bytes / MB:.1f} MB; this deployment takes at most "
                         f"{dep.upload_limit / MB:.3g} MB")
    if project_bytes + 2 * upload_bytes > dep.copy_limit:
        need = project_bytes + 2 * upload_bytes
        raise InputError(f"a private copy of this project would need about {need / MB:.0f}"
                         f" MB; this deployment allows {dep.copy_limit / MB:.0f} MB per visitor")
    if used_bytes + project_bytes + 2 * upload_bytes > dep.copies_limit:
        raise InputError("too many visitors' private copies right now; try again later")


def escape_markdown(text: object) -> str:
    """``text`` shown literally by a Markdown renderer: every ASCII punctuation character
    backslash-escaped (no links, autolinks, emphasis, HTML, colour or icon directives, LaTeX), a
    :data:`JOINER` where a literal autolink would start, and line breaks made spaces."""
    return _escape_chars(" ".join(str(text).split()))


#: an invisible WORD JOINER (U+2060) put where GitHub-flavoured Markdown's literal autolinks
#: start: after a scheme's ":" before "//", after "www" before ".", after an "@".  Streamlit's
#: renderer finds ``https://...``, ``www.x`` and ``a@b.c`` in text *after* escapes are decoded
#: (seen in Chromium: escaped URLs were still links), so escaping alone does not stop them.
JOINER = "\u2060"
_AUTOLINK = re.compile(r"(:)(?=//)|(www)(?=\.)|(@)", re.IGNORECASE)


def _escape_chars(s: str) -> str:
    s = _AUTOLINK.sub(lambda m: m.group(0) + JOINER, s)
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", s)


_EMPHASIS = re.compile(r"(`[^`]+`|\*\*[^*]+\*\*)")


def emphasis_markdown(text: object) -> str:
    """``text`` as :func:`escape_markdown`, except that ``**bold**`` and ```code``` spans stay
    formatting: a project description can stress a phrase or name a command, and still carries
    no link, HTML, colour or LaTeX (code spans show their content literally)."""
    s = " ".join(str(text).split())
    out = []
    for i, part in enumerate(_EMPHASIS.split(s)):
        if i % 2 == 0:
            out.append(_escape_chars(part))
        elif part.startswith("`"):
            out.append(part)
        else:
            out.append("**" + _escape_chars(part[2:-2]) + "**")
    return "".join(out)


def safe_stem(name: str) -> str:
    """A file stem for a copy of project ``name``: letters, digits, ``.-_`` only."""
    return re.sub(r"[^\w.-]", "_", str(name)).strip(".")[:64] or "project"
