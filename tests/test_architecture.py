"""The architecture is checked by machine: `make lint` runs the import contracts in
pyproject.toml ([tool.importlinter]; docs/architecture.md draws them) and mypy on the pure
modules. These tests show that the contracts hold for the code as it is and that they
fail when an app imports upward, a pure engine imports a framework, or a room outside
the transport reaches for the server stack; each bad import is planted in a copy of the
code, never in the working tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = CONFIG["tool"]["importlinter"]["root_packages"]
CONTRACTS = [contract["name"] for contract in CONFIG["tool"]["importlinter"]["contracts"]]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory) -> Path:
    """A copy of the apps' Python code and the configuration, nothing else."""
    tree = tmp_path_factory.mktemp("tree")
    skip = shutil.ignore_patterns("__pycache__", "static", "templates", "locale", "*.po", "*.mo")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


@pytest.fixture
def tree(clean_tree, tmp_path) -> Path:
    copy = tmp_path / "tree"
    shutil.copytree(clean_tree, copy)
    return copy


def plant(tree: Path, module: str, source: str) -> None:
    path = tree.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(source, encoding="utf-8")


def broken(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The names of the broken contracts (the report wraps long names over lines)."""
    assert result.returncode != 0, result.stdout
    report = " ".join(result.stdout.split())
    return [name for name in CONTRACTS if f"{name} BROKEN" in report]


def test_the_code_as_it_is_keeps_every_contract(clean_tree):
    result = lint_imports(clean_tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


def test_an_app_importing_upward_breaks_the_layers(tree):
    plant(tree, "accounts.upward", "from realtime import models\n")
    assert broken(lint_imports(tree)) == ["Apps import downward only"]


def test_the_question_bank_importing_the_live_rounds_breaks_the_layers(tree):
    plant(tree, "quizzes.upward", "import realtime.models\n")
    assert broken(lint_imports(tree)) == ["Apps import downward only"]


def test_a_pure_engine_importing_django_breaks_its_purity(tree):
    plant(tree, "quizzes.irt.impure", "from django.db import transaction\n")
    assert broken(lint_imports(tree)) == [
        "Pure engines import no framework (no Django, Channels, Celery or server stack)"
    ]


def test_the_live_round_domain_reaching_for_the_wire_breaks_the_transport_rule(tree):
    plant(tree, "realtime.live.impure", "from realtime import wire\n")
    assert broken(lint_imports(tree)) == [
        "Only the transport knows daphne, autobahn and Twisted, and the wire, relay and consumers"
    ]


def test_make_lint_runs_the_contracts_and_mypy():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "lint-imports" in lint
    assert "mypy" in lint


# --- Size and privacy rules (docs/architecture.md, "House style") -------------------------

APPS = [p for p in PACKAGES if p != "config"] + ["config"]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
# Pure, cohesive modules that are long by nature, and the models (migrations want them whole).
LONG_MODULES = {"realtime/protocol.py", "quizzes/irt/calibration.py", "realtime/models.py"}
LONG_FUNCTIONS = {("realtime/engine.py", "apply")}  # the state machine's one transition table


def app_modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def is_models(path: Path) -> bool:
    return path.name == "models.py" or "models" in path.parent.name.split("/")


def test_no_room_holds_a_module_over_five_hundred_lines():
    long = {
        relative(path): len(path.read_text(encoding="utf-8").splitlines())
        for path in app_modules()
        if relative(path).split("/")[0] in ("realtime", "quizzes", "accounts")
        and relative(path) not in LONG_MODULES
        and not is_models(path)
    }
    assert {name: n for name, n in long.items() if n > MAX_MODULE_LINES} == {}


def test_no_function_runs_over_eighty_lines():
    import ast

    long = {}
    for path in app_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES and (relative(path), node.name) not in LONG_FUNCTIONS:
                    long[f"{relative(path)}::{node.name}"] = lines
    assert long == {}


def test_no_module_takes_another_modules_private_names():
    """`from x import _name`, or `x._name` on an imported module, reaches into another
    module's insides: a helper two modules need is public (and named for its job)."""
    import ast

    reached = []
    for path in app_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        ours = set()  # names bound to this project's modules (and their classes)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        reached.append(f"{relative(path)}: from {node.module} import {alias.name}")
                if node.level or (node.module or "").split(".")[0] in PACKAGES:
                    ours.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                ours.update(
                    (alias.asname or alias.name).split(".")[0]
                    for alias in node.names
                    if alias.name.split(".")[0] in PACKAGES
                )
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ours
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr != "_meta"  # Django's public Model._meta API
            ):
                reached.append(f"{relative(path)}: {node.value.id}.{node.attr}")
    assert reached == []
