"""The package's layout: grouped by stage, no import cycle between its packages, long modules explained."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mmbuild"
TOP_LEVEL_MODULES = {"__init__.py", "__main__.py", "cli.py", "errors.py"}
LONG = 400
# The bottom layers and all they may import: the knowledge tables (the problem catalogue among them)
# under the data types, the log matcher beside them; no stage's package below a data type.
LOWER_LAYERS = {
    "errors": set(),
    "knowledge": {"errors"},
    "util": {"errors"},
    "model": {"errors", "knowledge"},
    "diagnose": {"errors", "knowledge"},
}
# Packages whose functions are each short enough to read at once.
SHORT_FUNCTIONS = ["plan", "pipeline"]
LONGEST_FUNCTION = 60


def _modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "_resources" not in p.parts]


def _group(path: Path) -> str:
    """The package a module belongs to (``plan``, ``build``, ...), or the module's name at the top."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_groups(path: Path) -> set[str]:
    groups = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mmbuild"):
            names = ([node.module] if node.module != "mmbuild"
                     else [f"mmbuild.{alias.name}" for alias in node.names])
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("mmbuild")]
        else:
            continue
        groups |= {name.split(".")[1] for name in names if "." in name}
    return groups - {"__init__"}


def test_only_the_entry_points_sit_at_the_top_of_the_package() -> None:
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top == TOP_LEVEL_MODULES, "put new modules in the package of their stage"


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for path in _modules():
        group = _group(path)
        graph.setdefault(group, set()).update(_imported_groups(path) - {group})
    order = list(graphlib.TopologicalSorter(graph).static_order())  # CycleError names the cycle
    assert "model" in order and "plan" in order


@pytest.mark.parametrize("package", sorted(LOWER_LAYERS))
def test_a_lower_layer_imports_only_the_layers_under_it(package: str) -> None:
    imported = {}
    for path in _modules():
        if _group(path) == package:
            for group in _imported_groups(path) - {package} - LOWER_LAYERS[package]:
                imported.setdefault(group, []).append(str(path.relative_to(PACKAGE)))
    assert imported == {}


def test_a_module_over_400_lines_says_why_in_its_docstring() -> None:
    long = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG:
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if "longer than the others" not in docstring and "longest" not in docstring:
                long.append(f"{path.relative_to(PACKAGE)} ({text.count(chr(10))} lines)")
    assert long == []


def long_functions(source: str) -> list[str]:
    """``name (N lines)`` for each function or method of ``source`` over LONGEST_FUNCTION lines."""
    return [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > LONGEST_FUNCTION]


@pytest.mark.parametrize("package", SHORT_FUNCTIONS)
def test_no_function_over_60_lines(package: str) -> None:
    long = [f"{path.relative_to(PACKAGE)}: {name}"
            for path in sorted((PACKAGE / package).rglob("*.py"))
            for name in long_functions(path.read_text(encoding="utf-8"))]
    assert long == []


def test_the_length_check_counts_a_function_from_its_def_to_its_last_line() -> None:
    body = [f"x{i} = {i}" for i in range(LONGEST_FUNCTION - 1)]
    fits = "\n".join(["def fits():", *(f"    {line}" for line in body)])
    over = "\n".join(["class C:", "    def over(self):", *(f"        {line}" for line in [*body, "y = 0"])])
    assert long_functions(fits) == []
    assert long_functions(over) == [f"over ({LONGEST_FUNCTION + 1} lines)"]
