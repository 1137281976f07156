"""Which ``mmcv._ext`` functions have a CPU kernel, from the table the sources give.

mmcv's device registry cannot be listed from Python, so the answer is derived from mmcv's sources
by ``scripts/tables/mmcv_cpu_kernels.py`` and kept as data (``knowledge/mmcv_cpu_kernels.toml``);
this module applies it to the functions of a real ``_ext``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TABLE = "mmcv_cpu_kernels"


@dataclass
class Inventory:
    """The functions of one mmcv's ``_ext``: with a CPU kernel, and without one."""

    cpu: list[str] = field(default_factory=list)
    no_cpu_kernel: list[str] = field(default_factory=list)


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
