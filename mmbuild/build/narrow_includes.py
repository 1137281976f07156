"""Narrow torch includes for mmcv's CUDA units: each ``.cu`` unit parses only the torch headers it uses.

A ``.cu`` unit of mmcv includes ``pytorch_cuda_helper.hpp``, which includes ``<ATen/ATen.h>``: every
operator's declaration, which nvcc's front end parses in each of its passes (no precompiled header
there). Most units call a handful of free functions (``at::empty``, ``at::zeros``) and Tensor
methods, which ``<ATen/core/Tensor.h>`` declares without the rest.

The transform, applied to the prepared tree (:func:`narrow_tree`):

- Every in-tree header that includes a full torch header (``<ATen/ATen.h>``, ``<torch/types.h>``,
  ``<torch/script.h>``, ``<torch/serialize/tensor.h>``) gets, in its place, a block that includes
  ``<ATen/core/Tensor.h>`` and ``<ATen/Dispatch.h>`` when the unit defines
  ``MMBUILD_NARROW_TORCH_INCLUDES`` and the full header otherwise, so units left as they are compile
  exactly as before. A narrowed unit's own includes of them get the same block.
- Each ``.cu`` unit that can be narrowed gets a header beside it, ``<unit>.narrow.h``, that defines
  that macro and ``TORCH_ASSERT_ONLY_METHOD_OPERATORS`` (torch's own check that no all-operator
  header comes in) and includes ``<ATen/ops/<op>.h>`` for each ``at::<op>`` or ``torch::<op>`` the
  unit or its in-tree headers name (``<op>_out`` is declared in ``<op>.h``).
- That header also defines ``AT_PER_OPERATOR_HEADERS``, so the torch headers that offer the choice
  read the per-operator headers they need instead of all of them, and it includes what a unit names
  beyond the operators: ``<ATen/TensorIndexing.h>`` for ``at::indexing`` (``Slice``), and for
  ``torch::`` torch's own ``torch/types.h`` less its ``#include <ATen/ATen.h>``: the ``torch``
  namespace (``torch::Tensor``, ``torch::kInt32``) and the autograd factories (``torch::zeros``).
- The compile wrapper (:mod:`mmbuild.build.narrow_compile`) puts that header in front of the unit
  (``-include``); where that compile fails it compiles the unit without it, exactly as the original,
  so such a unit costs one failed front end.

The C++ units keep the precompiled header (``build/pch.py``), which needs the helper first and
measured faster (scripts/bench/README.md, "Narrow torch includes").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mmbuild.subset.cxx import INCLUDE_LINE, includes, quoted_includes, strip_comments_and_literals

NARROW_DEFINE = "MMBUILD_NARROW_TORCH_INCLUDES"
HEADER_SUFFIX = ".narrow.h"
CSRC = Path("mmcv/ops/csrc")
UNITS = "pytorch"      # the torch units; tensorrt/, onnxruntime/ and parrots/ are built without torch
NARROW_SUFFIXES = (".cu",)
HEADER_SUFFIXES = (".h", ".hpp", ".cuh")
ALL_OPERATORS = "ATen/ATen.h"
FULL_HEADERS = (ALL_OPERATORS, "torch/types.h", "torch/script.h", "torch/serialize/tensor.h")
NARROW_BASE = ("ATen/core/Tensor.h", "ATen/Dispatch.h")
TORCH_TYPES = Path("torch/csrc/api/include/torch/types.h")   # under torch's include folder

_QUALIFIED = re.compile(r"\b(?:at|torch)::(\w+)\s*\(")
_OUT_VARIANT = re.compile(r"_outf?$")
_UNQUALIFIED = re.compile(r"(?<![\w:.>])(\w+)\s*\(")
_TORCH_NAMESPACE = re.compile(r"\btorch::|\busing\s+namespace\s+torch\s*;")
_USING_AT = re.compile(r"\busing\s+namespace\s+at\s*;")
# what a unit's code names -> the header that declares it, besides the operators
_NAMED_HEADERS = ((re.compile(r"\b(?:at|torch)::indexing\b"), "ATen/TensorIndexing.h"),)
_PRAGMA_ONCE = re.compile(r"^[ \t]*#[ \t]*pragma[ \t]+once[^\n]*$", re.M)


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


def ops_named(text: str, ops: frozenset[str], *, unqualified: bool) -> set[str]:
    """The operators ``text`` calls as ``at::<op>(...)`` or ``torch::<op>(...)``, and as ``<op>(...)``
    when ``unqualified`` (a unit under ``using namespace at``); ``<op>_out`` counts as ``<op>``, whose
    header declares it."""
    code = strip_comments_and_literals(text)
    names = set(_QUALIFIED.findall(code))
    if unqualified:
        names |= set(_UNQUALIFIED.findall(code))
    return {name if name in ops else _OUT_VARIANT.sub("", name) for name in names} & ops


def torch_namespace(torch_include: Path) -> str | None:
    """torch's ``torch/types.h`` less its ``#include <ATen/ATen.h>`` (and ``#pragma once``): the
    ``torch`` namespace for a narrowed unit that names ``torch::``; None where this torch has no such
    header or it does not include the all-operator header."""
    path = torch_include / TORCH_TYPES
    if not path.is_file():
        return None
    text = _read(path)
    if not any(kind == "<" and name == ALL_OPERATORS for kind, name in includes(text)):
        return None

    def drop(match: re.Match[str]) -> str:
        return "" if match.group(1) == "<" and match.group(2) == ALL_OPERATORS else match.group(0)

    return _PRAGMA_ONCE.sub("", INCLUDE_LINE.sub(drop, text))


def narrow_header_of(unit: Path) -> Path:
    """The header the compile wrapper puts in front of ``unit`` (absent: the unit is not narrowed)."""
    return unit.with_name(unit.name + HEADER_SUFFIX)


def narrow_header(op_names: Sequence[str], extra_headers: Sequence[str] = (),
                  torch_names: str | None = None) -> str:
    """The header put in front of a narrowed unit: the operators' headers, ``extra_headers`` and, for a
    unit that names ``torch::``, ``torch_names`` (:func:`torch_namespace`)."""
    includes = "".join(f"#include <{name}>\n" for name in [*(f"ATen/ops/{op}.h" for op in op_names),
                                                           *extra_headers])
    text = (f"// narrow torch includes (mmbuild), put in front of the unit with -include\n"
            f"#define {NARROW_DEFINE}\n#define TORCH_ASSERT_ONLY_METHOD_OPERATORS\n"
            f"#define AT_PER_OPERATOR_HEADERS\n{includes}")
    if torch_names is None:
        return text
    return f"{text}// torch/types.h without <{ALL_OPERATORS}> (the unit names torch::)\n{torch_names}\n"


def named_headers(texts: list[str]) -> list[str]:
    """The headers besides the operators' that a unit's code names things from (``at::indexing``)."""
    code = [strip_comments_and_literals(t) for t in texts]
    return [header for pattern, header in _NAMED_HEADERS if any(pattern.search(c) for c in code)]


def names_torch(texts: list[str]) -> bool:
    """Whether a unit whose own and in-tree headers' texts are ``texts`` names ``torch::`` in code (or
    uses its namespace)."""
    return any(_TORCH_NAMESPACE.search(strip_comments_and_literals(t)) for t in texts)


def why_not_narrow(texts: list[str], torch_names: str | None = None) -> str | None:
    """Why a unit whose own and in-tree headers' texts are ``texts`` keeps the full includes, or None;
    ``torch_names``: :func:`torch_namespace` of this torch."""
    if torch_names is None and names_torch(texts):
        return "names torch:: (this torch's torch/types.h has no narrow form)"
    if not any(kind == "<" and name in FULL_HEADERS for t in texts for kind, name in includes(t)):
        return "includes no full torch header"
    return None


def unit_ops(texts: list[str], ops: frozenset[str]) -> list[str]:
    """The operators a unit calls, from its own text and its in-tree headers' texts."""
    unqualified = any(_USING_AT.search(strip_comments_and_literals(t)) for t in texts)
    return sorted(set().union(*(ops_named(t, ops, unqualified=unqualified) for t in texts)))


class TreeFiles:
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
    files = TreeFiles(csrc)
    torch_names = torch_namespace(torch_include)
    units = sorted(p for p in (csrc / UNITS).rglob("*") if p.suffix in suffixes)
    for unit in units:
        name = unit.relative_to(csrc).as_posix()
        own = _read(unit)
        texts = [own, *(_read(h) for h in files.reached(unit))]
        why = why_not_narrow(texts, torch_names)
        if why:
            report.left[name] = why
            continue
        names = unit_ops(texts, ops)
        header = narrow_header(names, named_headers(texts), torch_names if names_torch(texts) else None)
        narrow_header_of(unit).write_text(header, encoding="utf-8")
        guarded = guard_full_includes(own)
        if guarded != own:
            unit.write_text(guarded, encoding="utf-8")
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
