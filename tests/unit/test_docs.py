"""The project's own documents (docs/): links and anchors resolve, every citation of the former
design documents in the code is mapped in docs/REFERENCES.tsv, and the package map in
docs/architecture.md names every package and top-level module of lstmvis_db."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT

DOCS = ROOT / "docs"
CODE_DIRS = ("lstmvis_db", "lstmvis_ui", "pages", "scripts", "tests")
# a citation of the documents that used to live outside the repository
_N = r"§[0-9](?:[0-9.\-]*[0-9])?"
CITATION = re.compile(
    rf"contract §[0-9](?:, §[0-9])?|spec {_N}|style {_N}|``(?:lstmvis|contract|performance|analysis)\.md`` {_N}"
    rf"|(?:lstmvis|performance|analysis|contract)\.md {_N}"
)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        m = None if in_code else re.match(r"^#{1,6} (.+)$", line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            seen[s] = n + 1
            found.add(s if n == 0 else f"{s}-{n}")
    return found


def test_slug_follows_github() -> None:
    assert slug("Phase 1: the selected cells' bits") == "phase-1-the-selected-cells-bits"
    assert slug("The core (`lstmvis_db/`, top level)") == "the-core-lstmvis_db-top-level"
    assert slug("Benjamini-Hochberg q-values") == "benjamini-hochberg-q-values"


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_links_and_anchors_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    broken = []
    for m in re.finditer(r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)", text):
        target, anchor = m.group(1), m.group(2)
        if target.startswith(("http://", "https://")):
            continue
        path = (page.parent / target) if target else page
        if not path.exists():
            broken.append(f"missing file {target}")
        elif anchor and anchor not in anchors(path):
            broken.append(f"missing anchor {target}#{anchor}")
    assert not broken, f"{page.name}: {broken}"


def _references() -> tuple[dict[str, str], list[str]]:
    """Section 1 of REFERENCES.tsv (citation -> anchor) and every docs anchor named anywhere in it."""
    lines = (DOCS / "REFERENCES.tsv").read_text(encoding="utf-8").splitlines()
    start = lines.index("## section 1: citation -> replacement") + 2
    end = lines.index("## section 2: every place")
    mapping = {row.split("\t")[0]: row.split("\t")[2] for row in lines[start:end]}
    targets = re.findall(r"docs/[\w\-]+\.md#[\w\-]+", "\n".join(lines))
    return mapping, targets


def test_reference_anchors_exist() -> None:
    _, targets = _references()
    assert targets
    missing = []
    for target in targets:
        page, anchor = target.split("#")
        if anchor not in anchors(ROOT / page):
            missing.append(target)
    assert not missing, missing


def _code_files() -> list[Path]:
    files = [ROOT / "streamlit_app.py", ROOT / "README.md"]
    for d in CODE_DIRS:
        files += [p for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".sql")]
    return [p for p in files if p.is_file() and p != Path(__file__)]


def test_every_citation_in_the_code_is_mapped() -> None:
    mapping, _ = _references()
    unmapped = []
    for path in _code_files():
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            unmapped += [f"{path.relative_to(ROOT)}:{i}: {c}" for c in CITATION.findall(line) if c not in mapping]
    assert not unmapped, "add these to docs/REFERENCES.tsv (or cite docs/ instead): " + "; ".join(unmapped)


def test_package_map_names_every_package_and_module() -> None:
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    core = ROOT / "lstmvis_db"
    packages = sorted(p.name for p in core.iterdir() if (p / "__init__.py").is_file())
    modules = sorted(p.name for p in core.glob("*.py") if p.name != "__main__.py") + ["schema.sql"]
    missing = [f"{name}/" for name in packages if f"`{name}/`" not in text]
    missing += [name for name in modules if f"`{name}`" not in text]
    ui = sorted(p.name for p in (ROOT / "lstmvis_ui").glob("*.py") if p.name != "__init__.py")
    missing += [f"lstmvis_ui/{name}" for name in ui if name not in text]
    assert not missing, f"docs/architecture.md does not list: {missing}"
