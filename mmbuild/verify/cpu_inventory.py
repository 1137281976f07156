"""Which ``mmcv._ext`` functions have a CPU kernel.

mmcv's device registry cannot be listed from Python, so the answer is derived from the sources
and kept as data (``mmbuild/knowledge/mmcv_cpu_kernels.toml``). In ``mmcv/ops/csrc/pytorch``
each Python-visible function is bound in ``pybind.cpp`` (``m.def("name", &function, ...)``); it
reaches one or more ``*_impl`` entry points through ``DISPATCH_DEVICE_IMPL``, and a kernel file
registers an implementation per device with ``REGISTER_DEVICE_IMPL(impl, CPU, ...)``. A function
runs on the CPU when an entry point it dispatches to has a CPU registration (hard_voxelize has
one for its deterministic mode only), or when it dispatches nothing and its plain C++ code does
not refuse the CPU ("... is not implemented on CPU", as the sparse-conv index helpers do).

Regenerate the table for a new mmcv release with
``python -m mmbuild.verify.cpu_inventory VERSION SOURCE_DIR`` (an extracted sdist).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

CSRC = Path("mmcv") / "ops" / "csrc" / "pytorch"
TABLE = "mmcv_cpu_kernels"

_BINDING = re.compile(r'm\.def\(\s*"(\w+)"\s*,\s*&\s*(\w+)')
_DISPATCH = re.compile(r"DISPATCH_DEVICE_IMPL\(\s*(\w+)")
_CPU_REGISTRATION = re.compile(r"REGISTER_DEVICE_IMPL\(\s*(\w+)\s*,\s*CPU\s*,")
_CALL = re.compile(r"\b(\w+)\s*\(")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_REFUSES_CPU = re.compile(r"not implemented (on|for) CPU", re.IGNORECASE)


@dataclass
class Inventory:
    """The functions of one mmcv's ``_ext``: with a CPU kernel, and without one."""

    cpu: list[str] = field(default_factory=list)
    no_cpu_kernel: list[str] = field(default_factory=list)


def _function_bodies(sources: list[str]) -> dict[str, list[str]]:
    """Every function definition's body, by name (overloads and #ifdef variants all kept)."""
    bodies: dict[str, list[str]] = {}
    for text in sources:
        for match in re.finditer(r"\b(\w+)\s*\([^;{}]*\)\s*(?:const\s*)?\{", text):
            name = match.group(1)
            if name in ("if", "for", "while", "switch", "catch", "return"):
                continue
            depth, start = 0, match.end() - 1
            for end in range(start, len(text)):
                if text[end] == "{":
                    depth += 1
                elif text[end] == "}":
                    depth -= 1
                    if depth == 0:
                        bodies.setdefault(name, []).append(text[start:end + 1])
                        break
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


def _source(path: Path) -> str:
    """A C++ file without its comments (commented-out code registers nothing)."""
    return _COMMENT.sub("", path.read_text(encoding="utf-8", errors="replace"))


def derive(source_dir: str | Path) -> Inventory:
    """The inventory of an extracted mmcv source tree."""
    root = Path(source_dir) / CSRC
    if not (root / "pybind.cpp").is_file():
        raise FileNotFoundError(f"{root / 'pybind.cpp'} not found: not an mmcv source tree with ops")
    top = [_source(p) for p in sorted(root.glob("*.cpp"))]
    everything = [_source(p) for p in sorted(root.rglob("*.cpp"))]
    registered_cpu = {impl for text in everything for impl in _CPU_REGISTRATION.findall(text)}
    bindings = dict(_BINDING.findall(_source(root / "pybind.cpp")))
    bodies = _function_bodies(top)
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
        print("usage: python -m mmbuild.verify.cpu_inventory VERSION SOURCE_DIR", file=sys.stderr)
        return 2
    try:
        print(to_toml(args[0], derive(args[1])))
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())


def known_inventory(version: str | None) -> tuple[str, Inventory] | None:
    """The table's entry for ``version``, else the nearest older release of the same major."""
    from packaging.version import InvalidVersion, Version

    from mmbuild.knowledge import load_table

    table = load_table(TABLE)
    if not version:
        return None
    try:
        wanted = Version(version)
    except InvalidVersion:
        return None
    candidates = []
    for key, entry in table.items():
        known = Version(key)
        if known.major == wanted.major and known <= wanted:
            candidates.append((known, key, entry))
    if not candidates:
        return None
    _, key, entry = max(candidates)
    return key, Inventory(list(entry.get("cpu", [])), list(entry.get("no_cpu_kernel", [])))


@dataclass
class CpuCoverage:
    """The installed ``_ext``'s functions without a CPU kernel, and where that answer came from."""

    no_cpu_kernel: list[str]
    unknown: list[str]
    source: str


def cpu_coverage(ext_functions: list[str], version: str | None,
                 seen_missing: list[str] | None = None) -> CpuCoverage:
    """Classify every function of the real ``_ext``; ``seen_missing`` are functions a check saw
    answer "implementation for device cpu not found" in this run."""
    found = known_inventory(version)
    missing = set(seen_missing or [])
    if found is None:
        return CpuCoverage(sorted(missing & set(ext_functions)), sorted(set(ext_functions) - missing),
                           f"no table for mmcv {version or '?'}: only the ops checked in this run")
    key, inventory = found
    no_cpu, cpu = set(inventory.no_cpu_kernel), set(inventory.cpu)
    listed = [f for f in ext_functions if f in no_cpu or f in missing]
    unknown = [f for f in ext_functions if f not in no_cpu and f not in cpu and f not in missing]
    source = f"mmcv {key} sources" + ("" if key == version else f" (nearest to {version})")
    return CpuCoverage(sorted(listed), sorted(unknown), source)
