"""Narrow torch includes for mmcv's CUDA units: each ``.cu`` unit parses only the torch headers it uses.

A ``.cu`` unit of mmcv includes ``pytorch_cuda_helper.hpp``, which includes ``<ATen/ATen.h>``: every
operator's declaration, which nvcc's front end parses in each of its passes (no precompiled header
there). Most units call a handful of free functions (``at::empty``, ``at::zeros``) and Tensor
methods, which ``<ATen/core/Tensor.h>`` declares without the rest.

The transform, applied to the prepared tree (:func:`narrow_tree`):

- Every in-tree header that includes ``<ATen/ATen.h>`` or ``<torch/types.h>`` gets, in its place, a
  block that includes ``<ATen/core/Tensor.h>`` and ``<ATen/Dispatch.h>`` when the unit defines
  ``MMBUILD_NARROW_TORCH_INCLUDES`` and the full header otherwise, so units left as they are compile
  exactly as before.
- Each ``.cu`` unit that can be narrowed gets a header beside it, ``<unit>.narrow.h``, that defines
  that macro and ``TORCH_ASSERT_ONLY_METHOD_OPERATORS`` (torch's own check that no all-operator
  header comes in) and includes ``<ATen/ops/<op>.h>`` for each ``at::<op>`` the unit or its in-tree
  headers name. The unit itself is not changed. A unit that names ``torch::`` (whose factories live
  in the all-operator headers) gets none.
- The compile wrapper (:mod:`mmbuild.build.narrow_compile`) puts that header in front of the unit
  (``-include``); where that compile fails it compiles the unit without it, exactly as the original,
  so such a unit costs one failed front end.

The C++ units keep the precompiled header (``build/pch.py``), which needs the helper first and
measured faster (scripts/bench/README.md, "Narrow torch includes").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mmbuild.subset.cxx import INCLUDE_LINE, includes, strip_comments_and_literals

NARROW_DEFINE = "MMBUILD_NARROW_TORCH_INCLUDES"
HEADER_SUFFIX = ".narrow.h"
CSRC = Path("mmcv/ops/csrc")
UNITS = "pytorch"      # the torch units; tensorrt/, onnxruntime/ and parrots/ are built without torch
NARROW_SUFFIXES = (".cu",)
HEADER_SUFFIXES = (".h", ".hpp", ".cuh")
FULL_HEADERS = ("ATen/ATen.h", "torch/types.h")
NARROW_BASE = ("ATen/core/Tensor.h", "ATen/Dispatch.h")

_QUALIFIED = re.compile(r"\bat::(\w+)\s*\(")
_UNQUALIFIED = re.compile(r"(?<![\w:.>])(\w+)\s*\(")
_TORCH_NAMESPACE = re.compile(r"\btorch::")
_USING_AT = re.compile(r"\busing\s+namespace\s+at\s*;")


@dataclass
class NarrowReport:
    """What :func:`narrow_tree` did: units narrowed (with their op headers), units left and why."""

    narrowed: dict[str, list[str]] = field(default_factory=dict)
    left: dict[str, str] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"narrowed": dict(self.narrowed), "left": dict(self.left), "headers": list(self.headers)}

    def summary(self) -> str:
        return f"{len(self.narrowed)} narrowed, {len(self.left)} left as they are"


def op_headers(torch_include: Path) -> frozenset[str]:
    """The operators that have a per-operator header ``ATen/ops/<op>.h`` in this torch."""
    folder = torch_include / "ATen" / "ops"
    return frozenset(p.stem for p in folder.glob("*.h")) if folder.is_dir() else frozenset()


def guarded_full_include(header: str) -> str:
    """The block that replaces ``#include <header>``: narrow for units that ask, else as before."""
    narrow = "".join(f"#include <{name}>\n" for name in NARROW_BASE)
    return (f"#ifdef {NARROW_DEFINE}  // narrow torch includes (mmbuild)\n{narrow}"
            f"#else\n#include <{header}>\n#endif")


def guard_full_includes(text: str) -> str:
    """``text`` with each ``#include`` of a full torch header replaced by :func:`guarded_full_include`,
    followed by a ``#line`` that keeps the lines after it numbered as before; a text guarded already
    is returned as it is."""
    if NARROW_DEFINE in text:
        return text
    def replace(match: re.Match[str]) -> str:
        if match.group(1) == "<" and match.group(2) in FULL_HEADERS:
            line = text.count("\n", 0, match.start()) + 1
            return f"{guarded_full_include(match.group(2))}\n#line {line + 1}"
        return match.group(0)

    return INCLUDE_LINE.sub(replace, text)


def quoted_includes(text: str) -> list[str]:
    return [name for kind, name in includes(text) if kind == '"']


def ops_named(text: str, ops: frozenset[str], *, unqualified: bool) -> set[str]:
    """The operators ``text`` calls as ``at::<op>(...)``, and as ``<op>(...)`` when ``unqualified``
    (a unit under ``using namespace at``)."""
    code = strip_comments_and_literals(text)
    names = set(_QUALIFIED.findall(code))
    if unqualified:
        names |= set(_UNQUALIFIED.findall(code))
    return names & ops


def narrow_header_of(unit: Path) -> Path:
    """The header the compile wrapper puts in front of ``unit`` (absent: the unit is not narrowed)."""
    return unit.with_name(unit.name + HEADER_SUFFIX)


def narrow_header(op_names: list[str]) -> str:
    includes = "".join(f"#include <ATen/ops/{name}.h>\n" for name in op_names)
    return (f"// narrow torch includes (mmbuild), put in front of the unit with -include\n"
            f"#define {NARROW_DEFINE}\n#define TORCH_ASSERT_ONLY_METHOD_OPERATORS\n{includes}")


def why_not_narrow(texts: list[str]) -> str | None:
    """Why a unit whose own and in-tree headers' texts are ``texts`` keeps the full includes, or None."""
    code = [strip_comments_and_literals(t) for t in texts]
    if any(_TORCH_NAMESPACE.search(c) for c in code):
        return "names torch:: (its factories need the all-operator headers)"
    if not any(kind == "<" and name in FULL_HEADERS for t in texts for kind, name in includes(t)):
        return "includes no full torch header"
    return None


def unit_ops(texts: list[str], ops: frozenset[str]) -> list[str]:
    """The operators a unit calls, from its own text and its in-tree headers' texts."""
    unqualified = any(_USING_AT.search(strip_comments_and_literals(t)) for t in texts)
    return sorted(set().union(*(ops_named(t, ops, unqualified=unqualified) for t in texts)))


class _TreeFiles:
    """The csrc tree's sources by name, and the in-tree headers each one reaches."""

    def __init__(self, csrc: Path):
        self.by_name: dict[str, list[Path]] = {}
        for path in sorted(csrc.rglob("*")):
            if path.is_file():
                self.by_name.setdefault(path.name, []).append(path)

    def reached(self, source: Path) -> list[Path]:
        """The in-tree headers ``source`` includes, transitively (by name: mmcv's include dirs are flat)."""
        seen: dict[Path, None] = {}
        todo = [source]
        while todo:
            current = todo.pop()
            for name in quoted_includes(_read(current)):
                for found in self.by_name.get(Path(name).name, []):
                    if found not in seen and found != source:
                        seen[found] = None
                        todo.append(found)
        return list(seen)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def narrow_tree(tree: Path, torch_include: Path, suffixes: tuple[str, ...] = NARROW_SUFFIXES) -> NarrowReport:
    """Narrow the torch includes of the tree's ``.cu`` units in place (see the module docstring);
    ``suffixes`` names other units to narrow (the bench measures the C++ units so)."""
    report = NarrowReport()
    csrc = tree / CSRC
    ops = op_headers(torch_include)
    if not csrc.is_dir() or not ops:
        return report
    files = _TreeFiles(csrc)
    units = sorted(p for p in (csrc / UNITS).rglob("*") if p.suffix in suffixes)
    for unit in units:
        name = unit.relative_to(csrc).as_posix()
        texts = [_read(unit), *(_read(h) for h in files.reached(unit))]
        why = why_not_narrow(texts)
        if why:
            report.left[name] = why
            continue
        names = unit_ops(texts, ops)
        narrow_header_of(unit).write_text(narrow_header(names), encoding="utf-8")
        report.narrowed[name] = names
    headers = sorted(p for p in csrc.rglob("*") if p.suffix in HEADER_SUFFIXES and "parrots" not in p.parts
                     and not p.name.endswith(HEADER_SUFFIX))
    for header in headers:
        text = _read(header)
        guarded = guard_full_includes(text)
        if guarded != text:
            header.write_text(guarded, encoding="utf-8")
            report.headers.append(header.relative_to(csrc).as_posix())
    return report
