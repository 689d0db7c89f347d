"""The quizzes app's layout: modules by job inside subpackages, not by prefix, and no
import circle between them. Pure reads of the source (ast), no Django. The sizes, the
private names and the layers are tests/test_architecture.py's."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_CODE = ["quizzes", "spreadsheets"]


def modules(*roots: str) -> list[Path]:
    return sorted(
        path
        for root in roots
        for path in (ROOT / root).rglob("*.py")
        if "migrations" not in path.parts
    )


def name_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def top_level_imports(path: Path) -> set[str]:
    """Modules of the app imported when this module is imported (not lazily inside a
    function); `from package import module` counts as the module."""
    known = {name_of(p) for p in modules(*APP_CODE)}
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in known}


def test_no_top_level_prefix_modules_are_left_in_quizzes():
    top = {path.stem for path in (ROOT / "quizzes").glob("*.py")}
    # personal_data is a per-app hook like admin: what the app registers with
    # accounts.personal_data (export and deletion), one module in every app that has it.
    assert top <= {"__init__", "admin", "apps", "demo", "personal_data", "rich_text", "tasks"}


def test_quizzes_modules_import_each_other_without_a_circle():
    graph = {name_of(path): top_level_imports(path) for path in modules(*APP_CODE)}
    cycles = []

    def visit(node: str, stack: list[str], done: set[str]) -> None:
        if node in stack:
            cycles.append([*stack[stack.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*stack, node], done)
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        visit(start, [], done)
    # A package's __init__ importing its own modules is not a circle.
    cycles = [c for c in cycles if not all(c[0].startswith(n) or n.startswith(c[0]) for n in c)]
    assert cycles == []
