"""Where the committed demo inputs are: ``data/`` in a checkout, package data in an installed wheel.

A checkout keeps them in ``<root>/data`` (the scripts that rebuild them write there, and the
app builds its demo projects beside them).  An installed wheel carries the same files as the
package ``lstmvis_db.demo_data`` (``setup.py`` maps ``data/`` onto it); there the default
output folder of ``lstmvis-db demo`` is ``./data`` in the current directory, never the
installed package.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


def _in_checkout() -> bool:
    return (_ROOT / "pyproject.toml").is_file() and (_ROOT / "data" / "README.md").is_file()


def data_dir() -> Path:
    """The folder holding the committed demo inputs (``parens/weights.npz``, ...)."""
    if _in_checkout():
        return _ROOT / "data"
    return Path(str(resources.files("lstmvis_db") / "demo_data"))


def default_out_dir() -> Path:
    """Where ``lstmvis-db demo`` writes the projects unless ``--out`` says otherwise."""
    return _ROOT / "data" if _in_checkout() else Path.cwd() / "data"


DATA_DIR = data_dir()
