"""Every exit code is named in mmbuild/errors.py: no other module returns, sets or exits with a number."""

from __future__ import annotations

import ast
import signal
from pathlib import Path

import pytest

from mmbuild import errors

PACKAGE = Path(__file__).resolve().parents[2] / "mmbuild"
EXIT_CALLS = {"exit", "_exit", "SystemExit"}


def _has_int_literal(node: ast.AST | None) -> bool:
    return node is not None and any(
        isinstance(n, ast.Constant) and type(n.value) is int for n in ast.walk(node))


def _returns_exit_code(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """An entry point: ``main``, a command's ``run`` or a ``run_*`` helper, returning an int."""
    named = function.name in ("main", "run") or function.name.startswith("run_")
    return named and isinstance(function.returns, ast.Name) and function.returns.id == "int"


def literal_exit_codes(tree: ast.AST) -> list[int]:
    """Lines of ``tree`` that produce an exit code from a number rather than a name of errors.py."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _returns_exit_code(node):
            returns = [r for r in ast.walk(node) if isinstance(r, ast.Return)]
            lines += [r.lineno for r in returns if _has_int_literal(r.value)]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id if isinstance(t, ast.Name) else getattr(t, "attr", None) for t in targets}
            if "exit_code" in names and _has_int_literal(node.value):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and node.args and _has_int_literal(node.args[0]):
            func = node.func
            if (func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)) in EXIT_CALLS:
                lines.append(node.lineno)
    return sorted(lines)


def test_no_module_outside_errors_produces_a_literal_exit_code() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        lines = literal_exit_codes(ast.parse(path.read_text(encoding="utf-8")))
        found += [f"{path.relative_to(PACKAGE)}:{line}" for line in lines]
    assert found == []


@pytest.mark.parametrize("source", [
    "def main() -> int:\n    return 130\n",
    "def run(args) -> int:\n    return int(go(args) or 0)\n",
    "class E(Exception):\n    exit_code = 1\n",
    "def stop(self, n):\n    self.exit_code = 128 + n\n",
    "import sys\nsys.exit(2)\n",
    "raise SystemExit(3)\n",
])
def test_the_check_sees_each_way_of_producing_one(source: str) -> None:
    assert literal_exit_codes(ast.parse(source)) != []


@pytest.mark.parametrize("source", [
    "def main() -> int:\n    return EXIT_OK\n",
    "def size(path) -> int:\n    return 0\n",
    "import sys\nsys.exit(main())\n",
])
def test_the_check_passes_named_codes_and_other_numbers(source: str) -> None:
    assert literal_exit_codes(ast.parse(source)) == []


def test_a_signal_stops_a_run_with_the_shells_code() -> None:
    assert errors.EXIT_INTERRUPTED == errors.exit_code_for_signal(signal.SIGINT) == 130
    assert errors.exit_code_for_signal(signal.SIGTERM) == 143
