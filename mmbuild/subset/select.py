"""Choose the units a set of ops needs: a closure over symbols and device registrations.

Starting from the ops' dispatcher files (``pytorch/<op>.cpp``), ``info.cpp``, and the
units defining functions that the op's Python module loads next to the op's own
(``SourceIndex.companions``):

1. a kept unit that mentions a symbol another unit defines pulls that unit in
   (declarations name what a file needs; macro bodies count too, which catches
   explicit template instantiations spelled through macros);
2. a unit registering a kernel (``REGISTER_DEVICE_IMPL(impl, DEVICE, fn)``) for a
   kept ``impl`` is pulled in, which brings the device kernels for the kept ops;
3. repeat until nothing changes.

Nothing is chosen by file name: an op whose dispatcher calls another op's
functions brings that op along, and it is reported as built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.subset.index import CUDABIND, INFO, SourceIndex, Unit


@dataclass
class Selection:
    kept: set[str]                          # unit keys
    available: set[str]                     # symbols defined by kept units
    built_ops: list[str]
    devices: dict[str, list[str]] = field(default_factory=dict)   # op -> devices with a kernel


def _needs(unit: Unit, index: SourceIndex) -> set[str]:
    wanted: set[str] = set()
    for symbol in unit.uses - unit.provides:
        wanted.update(index.providers.get(symbol, ()))
    return wanted


def select_units(index: SourceIndex, ops: list[str]) -> Selection:
    """The closure of units for ``ops`` (names already validated against ``index.ops``)."""
    queue = [f"{op}.cpp" for op in ops] + ([INFO] if INFO in index.units else [])
    for op in ops:
        queue.extend(index.companions(op))
    kept: set[str] = set()
    available: set[str] = set()
    while queue:
        while queue:
            key = queue.pop()
            if key in kept:
                continue
            kept.add(key)
            unit = index.units[key]
            available |= unit.provides
            queue.extend(_needs(unit, index) - kept)
        for key, unit in index.units.items():
            if key not in kept and any(impl in available for impl, _, _ in unit.registrations):
                queue.append(key)
    built = sorted({index.units[key].op for key in kept if index.units[key].op})
    return Selection(kept, available, built, _devices(index, kept, built))


def _devices(index: SourceIndex, kept: set[str], built: list[str]) -> dict[str, list[str]]:
    registered: dict[str, set[str]] = {}
    for key in kept:
        for impl, device, _ in index.units[key].registrations:
            registered.setdefault(impl, set()).add(device)
    devices = {}
    for op in built:
        found: set[str] = set()
        for impl in index.units[f"{op}.cpp"].provides:
            found |= registered.get(impl, set())
        devices[op] = sorted(found)
    return devices


def kept_cudabind_chunks(index: SourceIndex, selection: Selection) -> list[int]:
    """Numbers of the cudabind.cpp chunks to keep.

    Chunks in the closure stay; a chunk that defines and registers nothing (a
    declaration, a typedef) stays when every known symbol it mentions is available.
    """
    known = set(index.providers)
    chunk_units = [u for u in index.units.values() if u.path == CUDABIND]
    for unit in chunk_units:
        known |= unit.declares
    keep = []
    for unit in chunk_units:
        in_closure = unit.key in selection.kept
        declaration_of_available = (not unit.provides and not unit.registrations
                                    and unit.uses & known <= selection.available)
        if in_closure or declaration_of_available:
            keep.append(int(unit.key.rsplit("#", 1)[1]))
    return sorted(keep)
