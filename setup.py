"""Packaging hook: ship the checkout's ``data/`` folder as the package ``lstmvis_db.demo_data``.

Everything else lives in ``pyproject.toml``.  This file exists only because the package list
cannot both be discovered (``find``) and gain a package mapped from another folder there:
``package_dir`` maps ``lstmvis_db.demo_data`` onto ``data/``, so the committed demo inputs stay
where the scripts and the app expect them in a checkout and land inside the wheel under
``lstmvis_db/demo_data/`` (found by ``lstmvis_db.demos.paths``).  Generated ``*.duckdb`` files
in ``data/`` are not matched by the patterns below and never ship.
"""

from setuptools import find_packages, setup

DATA_PATTERNS = ["README.md", "*/*.npz", "*/*.gz", "*/*.json", "*/*.md", "*/*.safetensors"]

setup(
    packages=[*find_packages(include=["lstmvis_db", "lstmvis_db.*"]), "lstmvis_db.demo_data"],
    package_dir={"lstmvis_db.demo_data": "data"},
    package_data={"lstmvis_db": ["schema.sql"], "lstmvis_db.demo_data": DATA_PATTERNS},
)
