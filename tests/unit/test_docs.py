"""The docs cannot rot: every file, function and link they name exists.

A reference is a backticked ``path/to/file.py`` (with a directory: a bare ``contract.py`` is
prose), optionally ``::name`` or ``::Class.method``
(defined in that file), or a backticked ``directory/``; a link is a relative Markdown link.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from compliance.domain import alert_id
from ops.demo import demo_id

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").rglob("*.md"))
PATTERN_PAGES = sorted(p for p in (ROOT / "docs" / "patterns").glob("[0-9]-*.md"))

FILE_REFERENCE = re.compile(r"`([\w.-]+/[\w./-]+\.py)(?:::([\w.]+))?`")
DIRECTORY_REFERENCE = re.compile(r"`([a-z_]+(?:/[\w.-]+)*/)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
# Made at run time, not kept in the repository: a fresh clone has none of them.
RUNTIME_DIRECTORIES = ("var/", ".venv/")


def defines(source: str, dotted: str) -> bool:
    """Whether ``source`` defines ``dotted`` (a function, class, or name; ``Class.member``)."""
    body: list[ast.stmt] = ast.parse(source).body
    for part in dotted.split("."):
        found: ast.stmt | None = None
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if node.name == part:
                    found = node
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == part for t in targets):
                    found = node
        if found is None:
            return False
        body = found.body if isinstance(found, ast.ClassDef) else []
    return True


def broken_references(page: Path) -> list[str]:
    """What ``page`` names that does not exist, each as a readable line."""
    text = page.read_text()
    broken = []
    for path, name in FILE_REFERENCE.findall(text):
        file = ROOT / path
        if not file.is_file():
            broken.append(f"{path}: no such file")
        elif name and not defines(file.read_text(), name):
            broken.append(f"{path}::{name}: not defined there")
    for directory in DIRECTORY_REFERENCE.findall(text):
        if directory.startswith(RUNTIME_DIRECTORIES):
            continue
        if not (ROOT / directory).is_dir():
            broken.append(f"{directory}: no such directory")
    for target in LINK.findall(text):
        if "://" not in target and not (page.parent / target).exists():
            broken.append(f"link {target}: no such file")
    return broken


@pytest.mark.parametrize(
    "page", [*DOCS, ROOT / "README.md"], ids=lambda p: str(p.relative_to(ROOT))
)
def test_every_file_function_and_link_named_exists(page: Path) -> None:
    assert broken_references(page) == []


def test_the_checker_catches_what_rots(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "`sagas/engine.py::SagaRunner.run` `sagas/engine.py::SagaRunner.fly` "
        "`sagas/gone.py` `ledger/domain.py::Account` `nowhere/` [a](missing.md)"
    )
    assert broken_references(page) == [
        "sagas/engine.py::SagaRunner.fly: not defined there",
        "sagas/gone.py: no such file",
        "nowhere/: no such directory",
        "link missing.md: no such file",
    ]


def test_there_is_a_page_for_each_pattern_with_every_part() -> None:
    assert [p.name[0] for p in PATTERN_PAGES] == ["1", "2", "3", "4", "5", "6", "7"]
    for page in PATTERN_PAGES:
        text = page.read_text()
        for part in ("```mermaid\nsequenceDiagram", "## Where it lives", "## Watch it"):
            assert part in text, f"{page.name} lacks {part!r}"
        proof = text.split("## The proof", 1)[-1]
        assert FILE_REFERENCE.search(proof), f"{page.name} names no test that proves it"


def test_the_demo_ids_the_pages_use_are_the_demo_s() -> None:
    patterns = ROOT / "docs" / "patterns"
    text = (patterns / "README.md").read_text()
    for name in ("alice-current", "alice-savings", "bob-current"):
        variable = name.replace("-", "_")
        assert f"{variable}={demo_id(f'account:{name}')}\n" in text, variable
    large = alert_id(demo_id("transfer:house"), "large_transfer")
    assert f"/alerts/{large}/resolve/" in (patterns / "3-compliance-notification.md").read_text()
    teapot = demo_id("order:bob-teapot")
    assert f"/orders/{teapot}/history/" in (patterns / "4-hybrid-read-model.md").read_text()
