"""Index mmcv's op sources by symbol: what each unit defines, uses and registers.

A *unit* is what the subset keeps or drops as a whole: a source file, or one
top-level chunk of ``cuda/cudabind.cpp`` (that file wraps and registers the CUDA
kernels of every op, so it is cut to size chunk by chunk). ``pybind.cpp`` is not
a unit: it is regenerated from the selection (see :mod:`mmbuild.subset.bindings`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mmbuild.subset.cxx import Chunk, preprocess, split_top_level

CSRC = Path("mmcv/ops/csrc/pytorch")
PYBIND = "pybind.cpp"
CUDABIND = "cuda/cudabind.cpp"
INFO = "info.cpp"
NOT_OPS = frozenset({"pybind", "info"})

# What mmcv's setup.py compiles for each target (relative to CSRC).
TARGET_GLOBS = {
    "cpu": ("*.cpp", "cpu/*.cpp"),
    "cuda": ("*.cpp", "cpu/*.cpp", "cuda/*.cu", "cuda/*.cpp"),
}
# Macros mmcv's setup.py defines for each target (conditions on other MMCV_WITH_* are false).
TARGET_MACROS = {
    "cpu": frozenset(),
    "cuda": frozenset({"MMCV_WITH_CUDA"}),
}


@dataclass
class Unit:
    key: str                      # "nms.cpp", "cpu/nms.cpp", "cuda/cudabind.cpp#12"
    path: str                     # file relative to CSRC
    provides: frozenset[str]      # linkable functions and template specialisations it defines
    declares: frozenset[str]      # functions it declares without defining
    uses: frozenset[str]          # every identifier it mentions (macro bodies included)
    registrations: list[tuple[str, str, str]] = field(default_factory=list)  # (impl, device, fn)
    chunk: Chunk | None = None    # set for the chunks of cudabind.cpp

    @property
    def op(self) -> str | None:
        """The op this unit's file is the dispatcher of (``nms`` for ``nms.cpp``)."""
        if "/" in self.path or not self.path.endswith(".cpp"):
            return None
        stem = self.path[:-4]
        return None if stem in NOT_OPS else stem


@dataclass
class SourceIndex:
    target: str
    units: dict[str, Unit]
    pybind_text: str
    cudabind_text: str | None
    python_groups: list[list[str]] = field(default_factory=list)    # names each mmcv/ops/*.py loads
    providers: dict[str, list[str]] = field(default_factory=dict)   # symbol -> unit keys

    def __post_init__(self) -> None:
        for key, unit in self.units.items():
            for symbol in unit.provides:
                self.providers.setdefault(symbol, []).append(key)

    @property
    def ops(self) -> list[str]:
        return sorted(unit.op for unit in self.units.values() if unit.op)

    def op_providing(self, symbol: str) -> str | None:
        for key in self.providers.get(symbol, []):
            if self.units[key].op:
                return self.units[key].op
        return None

    def owner_op(self, function: str) -> str | None:
        """The op a bound function belongs to: the op file defining it, or else the op whose
        functions the same mmcv Python module loads alongside it."""
        op = self.op_providing(function)
        if op:
            return op
        for group in self.python_groups:
            if function in group:
                for other in group:
                    op = self.op_providing(other)
                    if op:
                        return op
        return None

    def companions(self, op: str) -> set[str]:
        """Units outside any op file that define functions the op's Python module loads
        (e.g. ``cpu/points_in_boxes.cpp`` defines ``points_in_boxes_cpu_forward``)."""
        found: set[str] = set()
        for group in self.python_groups:
            if not any(self.op_providing(name) == op for name in group):
                continue
            for name in group:
                found.update(key for key in self.providers.get(name, ())
                             if not self.units[key].op and key != INFO)
        return found


def _file_unit(rel: str, text: str, macros: frozenset[str]) -> Unit:
    clean = preprocess(text, macros)
    chunks = split_top_level(clean.code)
    provides = {c.provides for c in chunks if c.provides}
    declares = {c.name for c in chunks if c.kind == "declaration" and c.name} - provides
    uses: set[str] = set(clean.macro_tokens)
    registrations: list[tuple[str, str, str]] = []
    for chunk in chunks:
        uses |= chunk.tokens
        registrations.extend(chunk.registrations)
    return Unit(rel, rel, frozenset(provides), frozenset(declares), frozenset(uses), registrations)


def cudabind_chunks(text: str) -> list[Chunk]:
    """The top-level chunks of cudabind.cpp (offsets into ``text``)."""
    return split_top_level(preprocess(text, TARGET_MACROS["cuda"]).code)


def _chunk_units(text: str) -> list[Unit]:
    units = []
    for number, chunk in enumerate(cudabind_chunks(text)):
        provides = frozenset({chunk.provides} if chunk.provides else ())
        declares = frozenset({chunk.name} if chunk.kind == "declaration" and chunk.name else ())
        units.append(Unit(f"{CUDABIND}#{number}", CUDABIND, provides, declares, chunk.tokens,
                          list(chunk.registrations), chunk))
    return units


def csrc_dir(tree: Path) -> Path:
    return tree / CSRC


def candidate_files(tree: Path, target: str) -> list[str]:
    """The files mmcv's setup.py would compile for ``target``, relative to the csrc dir."""
    root = csrc_dir(tree)
    found: set[str] = set()
    for pattern in TARGET_GLOBS[target]:
        found.update(p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_file())
    return sorted(found)


def index_tree(tree: Path, target: str) -> SourceIndex:
    """Index the op sources of the mmcv source tree ``tree`` as compiled for ``target``."""
    root = csrc_dir(tree)
    macros = TARGET_MACROS[target]
    units: dict[str, Unit] = {}
    cudabind_text = None
    for rel in candidate_files(tree, target):
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
        if rel == PYBIND:
            continue
        if rel == CUDABIND:
            cudabind_text = text
            units.update((u.key, u) for u in _chunk_units(text))
            continue
        units[rel] = _file_unit(rel, text, macros)
    pybind_text = (root / PYBIND).read_text(encoding="utf-8", errors="replace")
    return SourceIndex(target, units, pybind_text, cudabind_text, python_loader_groups(tree))


_LOAD_EXT = re.compile(r"load_ext\(\s*['\"]_ext['\"]\s*,\s*[\[(](.*?)[\])]", re.S)
_QUOTED = re.compile(r"['\"](\w+)['\"]")


def python_loader_groups(tree: Path) -> list[list[str]]:
    """The name lists of ``ext_loader.load_ext('_ext', [...])`` calls in mmcv/ops/*.py."""
    groups = []
    for path in sorted((tree / "mmcv" / "ops").glob("*.py")):
        source = path.read_text(encoding="utf-8", errors="replace")
        groups.extend(_QUOTED.findall(names) for names in _LOAD_EXT.findall(source))
    return groups
