"""Unity units for mmcv's C++ units: several units' sources compiled as one translation unit.

With the precompiled header (build/pch.py) a C++ unit of mmcv 2.2.0 still costs about 1.9 s
before its own code: GCC's deferred processing of torch's headers, paid once per translation
unit. Most units' own code takes 0.3-1 s more, so that floor was most of the C++ build
(scripts/bench/README.md, "Unity units"). A unity unit includes several units' sources one after
the other and pays it once.

The transform (:func:`unity_tree`), on the prepared tree:

- The C++ units of ``pytorch/`` and ``pytorch/cpu/`` (the folders mmcv's setup.py globs for them)
  are renamed ``<unit>.cpp.inc``, out of the globs; they stay in their folders, so their quoted
  includes (``spconv_utils.h`` beside the ``pytorch/`` units) resolve as before. The unit that
  defines the Python module (``PYBIND11_MODULE``: ``pybind.cpp``) stays as it is, alone: it is the
  largest unit (30 of the 76 CPU-seconds left), and it starts first, because setuptools sorts an
  extension's sources, ninja starts them in that order, and ``pytorch/pybind.cpp`` sorts before
  ``pytorch/unity_<n>.cpp``.
- Units that define a type or function of the same name at file scope never share a group (mmcv's
  ``cpu/roi_align.cpp`` and ``cpu/bezier_align.cpp`` both define ``PreCalc``); a group holds at
  most :data:`GROUP_SIZE` units and :data:`GROUP_BYTES` of source, so a changed header recompiles
  a few small groups, not all of them, and no group of large kernels becomes the build's long
  pole.
- Units are grouped only with units that include the same headers beyond mmcv's two helpers:
  - more of torch (``<torch/...>`` headers the helpers do not include): those headers are their
    cost (``<torch/script.h>`` makes each of the three ``cpu/sparse_*`` units 5.7-6.5 user-s where
    the others take 2.0-3.4), they share it, and a light unit's change does not recompile them;
  - mmcv's own, by quoted name, where the tree holds them (the four rotated-box units of ``cpu/``
    read ``box_iou_rotated_utils.hpp``): a change to such a header recompiles one small group.
    One define appended to it, mmcv 2.2.0: one group of those four recompiles (g++ 4.4 s), where
    two groups of eight did before (mmcv 2.2.0 is now 15 unity units, 11 before).
- Each group becomes ``pytorch/unity_<n>.cpp``: mmcv's two helpers first (so the
  precompiled header applies), then each unit by ``#include``, its macros saved before and put back
  after it (``push_macro``/``pop_macro``), so no unit sees another's ``#define``.
- A unity unit that does not compile as one is compiled unit by unit by the compile wrapper, and
  the objects are joined into the one object the build expects (build/unity_compile.py).
- mmcv's wheel carries its C++ sources (MANIFEST.in); a line for ``*.cpp.inc`` keeps the renamed
  units in it beside the unity units, so the wheel still holds every source it was built from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mmbuild.build.narrow_includes import TreeFiles
from mmbuild.build.pch import COMMON, HEADERS
from mmbuild.subset.cxx import includes, preprocess, quoted_includes, split_top_level

PYTORCH = Path("mmcv/ops/csrc/pytorch")
FOLDERS = (PYTORCH, PYTORCH / "cpu")          # setup.py globs ``<folder>/*.cpp`` for the C++ units
MEMBER_SUFFIX = ".inc"                      # a grouped unit's source: <unit>.cpp.inc
UNITY_FOLDER = PYTORCH
UNITY_NAME = re.compile(r"unity_\d+\.cpp")
MEMBER_MARK = "// mmbuild unity member"
MANIFEST_LINE = f"recursive-include mmcv/ops/csrc *.cpp{MEMBER_SUFFIX}"
GROUP_SIZE = 8
GROUP_BYTES = 32_000
_MODULE = re.compile(r"\bPYBIND11_MODULE\s*\(")
_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)", re.M)
_MEMBER_LINE = re.compile(r'^#include "([^"]+)"  ' + re.escape(MEMBER_MARK) + "$", re.M)


@dataclass(frozen=True)
class UnitSource:
    """What grouping needs to know of one C++ unit."""

    path: str                        # relative to the tree
    names: frozenset[str]            # types and functions it defines at file scope
    macros: tuple[str, ...]          # the macros it #defines
    extra: frozenset[str] = frozenset()   # torch headers it includes beyond mmcv's helpers'
    size: int = 0                    # bytes of source
    headers: frozenset[str] = frozenset()  # mmcv's headers it includes, the helpers left out


@dataclass
class UnityReport:
    groups: dict[str, list[str]] = field(default_factory=dict)   # unity unit -> its units
    alone: list[str] = field(default_factory=list)               # C++ units compiled as they are

    def summary(self) -> str:
        grouped = sum(len(units) for units in self.groups.values())
        if not grouped:
            return "no C++ units to group"
        return (f"{grouped} C++ units in {len(self.groups)} unity units"
                + (f", {len(self.alone)} alone ({', '.join(Path(p).name for p in self.alone)})"
                   if self.alone else ""))

    def to_dict(self) -> dict:
        return {"groups": self.groups, "alone": self.alone}


def defined_names(text: str) -> frozenset[str]:
    """The types and functions ``text`` defines at file scope (namespaces looked through)."""
    chunks = split_top_level(preprocess(text).code)
    return frozenset(c.name for c in chunks if c.kind in ("function", "type") and c.name)


def defined_macros(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_DEFINE.findall(text)))


def torch_includes(text: str) -> frozenset[str]:
    """The ``<torch/...>`` headers ``text`` includes."""
    return frozenset(name for kind, name in includes(text) if kind == "<" and name.startswith("torch/"))


def local_includes(text: str, present: Container[str] | None = None) -> frozenset[str]:
    """The headers ``text`` includes by quoted name, mmcv's two helpers left out; with ``present``
    (the tree's file names, :class:`TreeFiles`), only those the tree holds (mmcv's
    ``csrc_dipu/...`` includes are for another build)."""
    names = frozenset(quoted_includes(text)) - set(HEADERS)
    return names if present is None else frozenset(n for n in names if Path(n).name in present)


def _kind(unit: UnitSource) -> tuple[list[str], list[str]]:
    """What a unit includes beyond mmcv's helpers: units of one kind only share a group."""
    return sorted(unit.extra), sorted(unit.headers)


def group_units(units: Sequence[UnitSource], size: int = GROUP_SIZE,
                budget: int = GROUP_BYTES) -> list[list[UnitSource]]:
    """Units by kind (:func:`_kind`) then path, each in the first group of its kind with room
    (``size`` units, ``budget`` bytes of source) and no name it shares."""
    groups: list[list[UnitSource]] = []
    names: list[set[str]] = []
    for unit in sorted(units, key=lambda u: (_kind(u), u.path)):
        for members, taken in zip(groups, names):
            if (len(members) < size and sum(m.size for m in members) + unit.size <= budget
                    and _kind(members[0]) == _kind(unit) and not unit.names & taken):
                members.append(unit)
                taken.update(unit.names)
                break
        else:
            groups.append([unit])
            names.append(set(unit.names))
    return groups


def unity_source(unity: Path, members: Sequence[tuple[Path, tuple[str, ...]]]) -> str:
    """The text of the unity unit at ``unity`` that includes ``members`` (path, macros it defines)."""
    lines = ["// Written by mmbuild: these C++ units of mmcv compiled as one translation unit.",
             *(f'#include "{name}"' for name in HEADERS)]
    for path, macros in members:
        relative = Path(os.path.relpath(path, unity.parent)).as_posix()
        lines += [f'#pragma push_macro("{m}")' for m in macros]
        lines.append(f'#include "{relative}"  {MEMBER_MARK}')
        lines += [f'#pragma pop_macro("{m}")' for m in reversed(macros)]
    return "\n".join(lines) + "\n"


def unity_members(unity_text: str, unity: Path) -> list[Path]:
    """The units a unity unit includes, as paths (read back by the compile wrapper)."""
    return [(unity.parent / name).resolve() for name in _MEMBER_LINE.findall(unity_text)]


def is_unity_unit(source: Path) -> bool:
    return UNITY_NAME.fullmatch(source.name) is not None and source.parent.name == UNITY_FOLDER.name


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def unity_tree(tree: Path, size: int = GROUP_SIZE) -> UnityReport:
    """Group the tree's C++ units into unity units (module docstring); what was done."""
    report = UnityReport()
    helpers = frozenset().union(*(torch_includes(_read(tree / COMMON / name))
                                  for name in HEADERS if (tree / COMMON / name).is_file()))
    present = TreeFiles(tree / PYTORCH.parent).by_name
    units: list[UnitSource] = []
    for folder in FOLDERS:
        for path in sorted((tree / folder).glob("*.cpp")):
            text = _read(path)
            relative = path.relative_to(tree).as_posix()
            if _MODULE.search(text):
                report.alone.append(relative)
                continue
            units.append(UnitSource(relative, defined_names(text), defined_macros(text),
                                    torch_includes(text) - helpers, len(text.encode()),
                                    local_includes(text, present)))
    groups = group_units(units, size) if len(units) > 1 else []
    for number, group in enumerate(groups, start=1):
        unity = tree / UNITY_FOLDER / f"unity_{number:02d}.cpp"
        unity.parent.mkdir(parents=True, exist_ok=True)
        members = []
        for unit in group:
            moved = tree / (unit.path + MEMBER_SUFFIX)
            os.replace(tree / unit.path, moved)
            members.append((moved, unit.macros))
        unity.write_text(unity_source(unity, members), encoding="utf-8")
        report.groups[unity.relative_to(tree).as_posix()] = [u.path for u in group]
    report.alone += [u.path for u in units if not groups]
    manifest = tree / "MANIFEST.in"
    if groups and manifest.is_file():
        text = _read(manifest).rstrip("\n")
        manifest.write_text(f"{text}\n{MANIFEST_LINE}\n", encoding="utf-8")
    return report
