"""The package's import rules (docs/architecture: the core at the top imports no room above it).

1. The core (the top-level modules of ``lstmvis_db`` and ``matching/``) imports none of
   ``lstmvis_db.demos``, ``lstmvis_db.views``, ``lstmvis_db.bench``: checked by importing each
   core module in a fresh interpreter, and statically over the source (so an import inside a
   function, or a module named in a string for ``importlib``, is caught too).
2. ``python -m lstmvis_db info|select|match|search|sql`` loads none of the heavy modules: h5py,
   numba (except ``match``, which compiles its loops), torch, altair, streamlit, the benchmark.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lstmvis_db
from lstmvis_db import Document, ProjectData, Source
from lstmvis_db.cli import CORE_COMMANDS, build_parser
from tests.support import ROOT

PKG = ROOT / "lstmvis_db"
ROOMS = ("demos", "views", "bench")  # the rooms the core must not import
FORBIDDEN = re.compile(rf"^lstmvis_db\.({'|'.join(ROOMS)})(\.|:|$)")
# The only place the core may name those rooms: the CLI's registration list, whose modules are
# light (argparse only) and are imported by name only when a command outside CORE_COMMANDS runs.
ALLOWED = {("cli.py", "EXTENSIONS")}
# The core as the brief names it; the test also covers any top-level module added later.
CORE_NAMED = {"api", "cli", "errors", "types", "store", "queries", "sqlconsole", "import_lstmvis", "matching"}


def _core_files() -> list[Path]:
    core_packages = ("matching", "import_lstmvis", "sqlmatch")
    files = [*PKG.glob("*.py"), *(f for d in core_packages for f in (PKG / d).glob("*.py"))]
    return sorted(p for p in files if p.name != "__main__.py")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _env() -> dict[str, str]:
    return {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
            "NUMBA_CACHE_DIR": "/tmp/lstmvis-numba-cache"}


def test_core_covers_the_named_modules() -> None:
    names = {_module_name(p).split(".")[1] for p in _core_files() if _module_name(p) != "lstmvis_db"}
    assert CORE_NAMED <= names, f"core modules missing: {CORE_NAMED - names}"


# --------------------------------------------------------------------------- 1. static


def _imported_names(tree: ast.Module, module: str, is_package: bool) -> list[tuple[int, str, str | None]]:
    """(line, name, enclosing top-level assignment target) for every import and module-like string."""
    out: list[tuple[int, str, str | None]] = []
    for top in tree.body:
        target = None
        if isinstance(top, ast.Assign) and len(top.targets) == 1 and isinstance(top.targets[0], ast.Name):
            target = top.targets[0].id
        for node in ast.walk(top):
            if isinstance(node, ast.Import):
                out += [(node.lineno, a.name, target) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against this module's package
                    pkg = module.split(".") if is_package else module.split(".")[:-1]
                    pkg = pkg[: len(pkg) - node.level + 1]
                    base = ".".join([*pkg, base] if base else pkg)
                out += [(node.lineno, base, target)]
                out += [(node.lineno, f"{base}.{a.name}", target) for a in node.names]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append((node.lineno, node.value.strip(), target))  # importlib.import_module("...")
    return out


def test_core_source_names_no_room_above_it() -> None:
    bad = []
    for path in _core_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, name, target in _imported_names(tree, _module_name(path), path.name == "__init__.py"):
            if FORBIDDEN.match(name) and (path.name, target) not in ALLOWED:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert not bad, "the core imports demos/views/bench:\n" + "\n".join(bad)


def test_static_check_catches_a_lazy_import() -> None:
    src = "def f():\n    from lstmvis_db.views import charts\n    import importlib\n" \
          "    importlib.import_module('lstmvis_db.bench.runner')\n"
    names = [n for _, n, _ in _imported_names(ast.parse(src), "lstmvis_db.x", False)]
    assert "lstmvis_db.views.charts" in names and "lstmvis_db.bench.runner" in names
    rel = [n for _, n, _ in _imported_names(ast.parse("from .demos import registry"), "lstmvis_db.x", False)]
    assert "lstmvis_db.demos.registry" in rel


def test_allow_list_is_the_cli_registration_list() -> None:
    from lstmvis_db import cli

    assert any(FORBIDDEN.match(ref) for ref in cli.EXTENSIONS)  # the allow-list is needed, so not stale
    # the core commands are exactly those the parser defines without the extensions
    sub = next(a for a in build_parser(extensions=False)._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == CORE_COMMANDS


# --------------------------------------------------------------------------- 1. runtime

CORE_MODULES = sorted({_module_name(p) for p in _core_files()})


@pytest.mark.parametrize("module", CORE_MODULES)
def test_importing_a_core_module_loads_no_room(module: str) -> None:
    code = f"import importlib, json, sys; importlib.import_module({module!r}); print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env=_env(), timeout=120).stdout
    loaded = json.loads(out)
    assert module in loaded
    assert [m for m in loaded if FORBIDDEN.match(m)] == []


# --------------------------------------------------------------------------- 2. the CLI

HEAVY = ("h5py", "numba", "torch", "altair", "streamlit", "transformers", "lstmvis_db.bench")

RUN = """
import contextlib, io, json, runpy, sys
sys.argv = ["lstmvis_db", *json.loads(sys.argv[1])]
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    try:
        runpy.run_module("lstmvis_db", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        code = e.code
print(json.dumps({"code": code, "out": buf.getvalue(), "modules": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    rng = np.random.default_rng(3)
    vals = rng.uniform(-1, 1, size=(60, 6)).astype(np.float32)
    vals[10:13, [1, 4]] = 0.9
    vals[9, [1, 4]] = -0.9
    path = tmp_path_factory.mktemp("rules") / "tiny.duckdb"
    lstmvis_db.write_project(path, ProjectData(
        name="tiny", tokens=[("a", "b", "(", ")", "c")[i % 5] for i in range(60)],
        documents=[Document("one", 0, 29), Document("two", 30, 59)],
        sources=[Source("m::h", vals, layer=1, kind="output", transform="none")]))
    return path


COMMANDS = {
    "info": [],
    "select": ["--source", "m::h", "--start", "10", "--end", "12", "--threshold", "0.5"],
    "match": ["--source", "m::h", "--cells", "1,4", "--threshold", "0.5"],
    "search": ["--phrase", "a b"],
    "sql": ["SELECT count(*) AS n FROM tokens"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_command_loads_no_heavy_module(tiny: Path, command: str) -> None:
    argv = [command, "--db", str(tiny), "--json", *COMMANDS[command]]
    proc = subprocess.run([sys.executable, "-c", RUN, json.dumps(argv)], capture_output=True, text=True, cwd=ROOT,
                          env=_env(), timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.splitlines()[-1])
    assert res["code"] == 0 and json.loads(res["out"]) is not None  # the command really ran
    heavy = [h for h in HEAVY if not (command == "match" and h == "numba")]
    loaded = [m for m in res["modules"] if any(m == h or m.startswith(h + ".") for h in heavy)]
    assert loaded == [], f"`{command}` loaded {loaded}"
    assert [m for m in res["modules"] if m.startswith("lstmvis_db.") and FORBIDDEN.match(m)] == []
