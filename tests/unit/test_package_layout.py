"""The package's layout: grouped by stage, no import cycle between its packages, long modules explained."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mmbuild"
TOP_LEVEL_MODULES = {"__init__.py", "__main__.py", "cli.py", "errors.py"}
LONG = 400


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


def test_a_module_over_400_lines_says_why_in_its_docstring() -> None:
    long = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG:
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if "longer than the others" not in docstring and "longest" not in docstring:
                long.append(f"{path.relative_to(PACKAGE)} ({text.count(chr(10))} lines)")
    assert long == []
