"""Derive the ``knowledge/mmcv_cpu_kernels.toml`` entry of an mmcv release from its sources.

In ``mmcv/ops/csrc/pytorch`` each Python-visible function is bound in ``pybind.cpp``
(``m.def("name", &function, ...)``); it reaches one or more ``*_impl`` entry points through
``DISPATCH_DEVICE_IMPL``, and a kernel file registers an implementation per device with
``REGISTER_DEVICE_IMPL(impl, CPU, ...)``. A function runs on the CPU when an entry point it
dispatches to has a CPU registration (hard_voxelize has one for its deterministic mode only), or
when it dispatches nothing and its plain C++ code does not refuse the CPU ("... is not implemented
on CPU", as the sparse-conv index helpers do). The sources are read with mmbuild's C++ reader
(``mmbuild/subset/cxx.py``): comments blanked, bodies matched on code without literals.

    python scripts/tables/mmcv_cpu_kernels.py VERSION SOURCE_DIR    # an extracted sdist
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mmbuild.subset.cxx import matching_close, strip_comments, strip_comments_and_literals
from mmbuild.verify.cpu_coverage import Inventory

CSRC = Path("mmcv") / "ops" / "csrc" / "pytorch"

_BINDING = re.compile(r'm\.def\(\s*"(\w+)"\s*,\s*&\s*(\w+)')
_DISPATCH = re.compile(r"DISPATCH_DEVICE_IMPL\(\s*(\w+)")
_CPU_REGISTRATION = re.compile(r"REGISTER_DEVICE_IMPL\(\s*(\w+)\s*,\s*CPU\s*,")
_CALL = re.compile(r"\b(\w+)\s*\(")
_FUNCTION_HEAD = re.compile(r"\b(\w+)\s*\([^;{}]*\)\s*(?:const\s*)?\{")
_REFUSES_CPU = re.compile(r"not implemented (on|for) CPU", re.IGNORECASE)
_KEYWORDS = ("if", "for", "while", "switch", "catch", "return")


def _function_bodies(paths: list[Path]) -> dict[str, list[str]]:
    """Every function definition's body (comments blanked), by name; overloads and #ifdef variants kept."""
    bodies: dict[str, list[str]] = {}
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        readable, code = strip_comments(text), strip_comments_and_literals(text)
        for match in _FUNCTION_HEAD.finditer(code):
            if match.group(1) not in _KEYWORDS:
                brace = match.end() - 1
                bodies.setdefault(match.group(1), []).append(readable[brace:matching_close(code, brace) + 1])
    return bodies


def _reached(function: str, bodies: dict[str, list[str]]) -> tuple[set[str], bool]:
    """The registry entry points ``function`` reaches, following calls between files, and whether
    any code it reaches refuses the CPU."""
    found: set[str] = set()
    refuses_cpu = False
    seen: set[str] = set()
    pending = [function]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for body in bodies.get(name, []):
            found.update(_DISPATCH.findall(body))
            refuses_cpu = refuses_cpu or bool(_REFUSES_CPU.search(body))
            pending.extend(callee for callee in _CALL.findall(body) if callee in bodies)
    return found, refuses_cpu


def derive(source_dir: str | Path) -> Inventory:
    """The inventory of an extracted mmcv source tree."""
    root = Path(source_dir) / CSRC
    if not (root / "pybind.cpp").is_file():
        raise FileNotFoundError(f"{root / 'pybind.cpp'} not found: not an mmcv source tree with ops")
    registered_cpu = {impl for path in sorted(root.rglob("*.cpp"))
                      for impl in _CPU_REGISTRATION.findall(strip_comments(path.read_text(errors="replace")))}
    bindings = dict(_BINDING.findall(strip_comments((root / "pybind.cpp").read_text(encoding="utf-8"))))
    bodies = _function_bodies(sorted(root.glob("*.cpp")))
    inventory = Inventory()
    for name, function in sorted(bindings.items()):
        impls, refuses_cpu = _reached(function, bodies)
        runs_on_cpu = any(impl in registered_cpu for impl in impls) if impls else not refuses_cpu
        (inventory.cpu if runs_on_cpu else inventory.no_cpu_kernel).append(name)
    return inventory


def to_toml(version: str, inventory: Inventory) -> str:
    def names(values: list[str]) -> str:
        return "[\n" + "".join(f'  "{v}",\n' for v in values) + "]"
    return (f'["{version}"]\ncpu = {names(inventory.cpu)}\n'
            f"no_cpu_kernel = {names(inventory.no_cpu_kernel)}\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python scripts/tables/mmcv_cpu_kernels.py VERSION SOURCE_DIR", file=sys.stderr)
        return 2
    try:
        print(to_toml(args[0], derive(args[1])))
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
