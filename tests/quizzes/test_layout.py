"""The quizzes app's layout rules (issue 10): modules by job, not by prefix, and small
enough to read. Pure reads of the source (ast), no Django."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_CODE = ["quizzes", "spreadsheets"]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
LONG_MODULES_ALLOWED = {"quizzes/irt/calibration.py"}


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


def test_no_module_is_over_500_lines_except_models_and_the_calibration_engine():
    long = [
        (str(path.relative_to(ROOT)), lines)
        for path in modules(*APP_CODE)
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
        and "models" not in path.relative_to(ROOT).parts
        and str(path.relative_to(ROOT)) not in LONG_MODULES_ALLOWED
    ]
    assert long == []


def test_no_function_is_over_80_lines():
    long = []
    for path in modules(*APP_CODE):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append((str(path.relative_to(ROOT)), node.name, lines))
    assert long == []


def test_no_module_imports_a_private_name_of_another():
    private = []
    for path in modules("quizzes", "spreadsheets", "accounts", "frontend", "config"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                private += [
                    (str(path.relative_to(ROOT)), node.module, alias.name)
                    for alias in node.names
                    if alias.name.startswith("_") and alias.name != "__future__"
                ]
    assert private == []


def test_no_top_level_prefix_modules_are_left_in_quizzes():
    top = {path.stem for path in (ROOT / "quizzes").glob("*.py")}
    assert top <= {"__init__", "admin", "apps", "demo", "rich_text", "tasks"}


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


def test_spreadsheets_imports_nothing_from_the_apps():
    apps = ("accounts", "quizzes", "realtime", "competitions", "leaderboards", "frontend")
    for path in modules("spreadsheets"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            assert not [n for n in names if n.split(".")[0] in apps], path


def test_the_answer_rule_imports_no_django():
    tree = ast.parse((ROOT / "quizzes/bank/answers.py").read_text())
    imported = [
        alias.name if isinstance(node, ast.Import) else node.module
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.split(".")[0] == "django"]
