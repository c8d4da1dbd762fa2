"""Packaging: pins written once, the version in one place, and a wheel that works outside the checkout."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

import lstmvis_db
from lstmvis_db import store
from tests.support import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(name: str) -> tuple[list[str], list[str]]:
    """(requirement lines, option lines such as ``-r x`` / ``-e .``) of a requirements file."""
    reqs, opts = [], []
    for raw in (ROOT / name).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            (opts if line.startswith("-") else reqs).append(line)
    return reqs, opts


def test_requirement_files_repeat_the_pyproject_pins() -> None:
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    assert set(extras) == {"app", "models", "spark", "dev", "demos"}
    req, opts = _pins("requirements.txt")
    assert sorted(req) == sorted(project["dependencies"] + extras["app"]) and opts == ["-e ."]
    dev, opts = _pins("requirements-dev.txt")
    assert sorted(dev) == sorted(extras["dev"]) and opts == ["-r requirements.txt"]
    models, opts = _pins("requirements-models.txt")
    assert sorted(models) == sorted(extras["models"]) and opts == []
    spark, opts = _pins("requirements-spark.txt")
    assert sorted(spark) == sorted(extras["spark"]) and opts == []
    demos, opts = _pins("requirements-demos.txt")
    assert sorted(demos) == sorted(extras["demos"]) and opts == []
    every = project["dependencies"] + [r for e in extras.values() for r in e]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][\w.]*", r) for r in every), "every pin is exact"
    assert len({r.split("==")[0].lower() for r in every}) == len(every), "a package pinned twice"


def test_version_written_once() -> None:
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "lstmvis_db.__version__"}
    assert store.VERSION == lstmvis_db.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", lstmvis_db.__version__)
    literal = re.compile(re.escape(f'"{lstmvis_db.__version__}"'))
    hits = [p for p in ROOT.joinpath("lstmvis_db").rglob("*.py") if literal.search(p.read_text())]
    assert hits == [ROOT / "lstmvis_db" / "__init__.py"]


# --------------------------------------------------------------------------- the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # the in-tree build reuses build/lib: a module moved away since an earlier build would ship
    shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                    "-w", str(out)], check=True, cwd=ROOT, capture_output=True, timeout=300)
    (path,) = out.glob("lstmvis_db-*.whl")
    return path


@pytest.mark.slow
def test_wheel_carries_the_demo_data_and_the_schema(wheel: Path) -> None:
    from lstmvis_db.demos.common import DATA_FILES

    names = set(zipfile.ZipFile(wheel).namelist())
    data = {n.removeprefix("lstmvis_db/demo_data/") for n in names if n.startswith("lstmvis_db/demo_data/")}
    assert data == {*DATA_FILES, "README.md"}  # the committed inputs, no generated .duckdb
    assert "lstmvis_db/schema.sql" in names and "lstmvis_db/cli.py" in names
    assert not [n for n in names if n.startswith(("tests/", "data/", "scripts/", "lstmvis_ui/"))]


@pytest.mark.slow
def test_wheel_works_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    """Installed with --no-deps into a fresh venv that sees this interpreter's site-packages as a
    plain path (a ``.pth`` line: so the dependencies import, but the editable install's finder of
    the checkout is not run), from a cwd outside the checkout and without PYTHONPATH."""
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    # no PYTHONPATH: pip would take the checkout's egg-info (left by the build) for an installed copy
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300, env=env, cwd=tmp_path)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "_ci_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*args: str) -> str:
        proc = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    where = json.loads(run(str(py), "-c", "import json, lstmvis_db, lstmvis_db.demos.common as r; "
                                          "print(json.dumps([lstmvis_db.__file__, str(r.DATA_DIR)]))"))
    assert all(Path(p).is_relative_to(site) for p in where), where
    assert not any(Path(p).is_relative_to(ROOT) for p in where)
    built = run(str(venv / "bin" / "lstmvis-db"), "demo", "--only", "parens", "--out", str(work)).strip()
    assert Path(built) == work / "parens.duckdb"
    info = json.loads(run(str(venv / "bin" / "lstmvis-db"), "info", "--db", built, "--json"))
    assert info["name"] == "parens" and info["tokens"] > 1000 and len(info["sources"]) == 4
