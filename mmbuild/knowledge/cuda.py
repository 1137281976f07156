"""Lookups over cuda_arches.toml and drivers.toml: what an nvcc can target, what a driver runs."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from mmbuild.knowledge import load_table
from mmbuild.knowledge.arch import Arch
from mmbuild.knowledge.versions import last_at_or_below, optional_version, parse_version


@dataclass(frozen=True)
class ArchInfo:
    """One row of the arch table: a compute capability and the toolkits that can target it."""

    arch: str  # "8.6"
    first: Version | None
    last: Version | None
    variant_a_first: Version | None
    gpus: str

    @property
    def key(self) -> tuple[int, int]:
        return Arch.parse(self.arch).key


def arch_table() -> list[ArchInfo]:
    """Every known compute capability, oldest first."""
    rows = [
        ArchInfo(
            r["arch"], optional_version(r.get("first")), optional_version(r.get("last")),
            optional_version(r.get("variant_a_first")), r["gpus"]
        )
        for r in load_table("cuda_arches")["arch"]
    ]
    return sorted(rows, key=lambda r: r.key)


def arch_info(arch: str) -> ArchInfo | None:
    """The table row for ``"8.6"`` (a trailing ``a`` variant is looked up as its base arch)."""
    parsed = Arch.parse(arch)
    base = str(parsed.base) if parsed else arch
    return next((r for r in arch_table() if r.arch == base), None)


def toolkit_arches(cuda_version: str | None, listed: list[str] | None = None) -> list[str]:
    """Arches (``"X.Y"``, plain, oldest first) an nvcc can emit SASS for.

    ``listed`` is the toolkit's own ``nvcc --list-gpu-arch`` output (``sm_XY`` names); when present it
    is the truth. Otherwise the table decides from the toolkit's version.
    """
    if listed:
        arches = {a for a in (Arch.parse(s) for s in listed) if a and not a.variant}
        return [str(a) for a in sorted(arches)]
    version = parse_version(cuda_version)
    if version is None:
        return []
    return [
        r.arch
        for r in arch_table()
        if (r.first is None or r.first <= version) and (r.last is None or version <= _through(r.last))
    ]


def supports_variant_a(arch: str, cuda_version: str | None) -> bool:
    """Whether the toolkit accepts the architecture-specific ``a`` variant of ``arch``."""
    info = arch_info(arch)
    version = parse_version(cuda_version)
    return bool(info and info.variant_a_first and version and info.variant_a_first <= version)


def last_toolkit_for(arch: str) -> Version | None:
    """The last CUDA release that can target ``arch`` (None: current toolkits still do)."""
    info = arch_info(arch)
    return info.last if info else None


def first_toolkit_for(arch: str) -> Version | None:
    """The first CUDA release that can target ``arch``."""
    info = arch_info(arch)
    return info.first if info else None


def gpus_for(arch: str) -> str:
    info = arch_info(arch)
    return info.gpus if info else f"compute capability {arch}"


def min_driver(cuda_version: str | None) -> str | None:
    """The driver a toolkit release was published with (the nearest listed release not above it)."""
    version = parse_version(cuda_version)
    if version is None:
        return None
    row = last_at_or_below(load_table("drivers")["release"], "cuda", version)
    return row["driver"] if row else None


def minor_compat_floor(cuda_version: str | None) -> str | None:
    """The lowest driver that runs SASS from any toolkit of this CUDA major."""
    version = parse_version(cuda_version)
    if version is None:
        return None
    return load_table("drivers")["minor_compat_floor"].get(str(version.major))


def _through(last: Version) -> Version:
    """``12.9`` as an upper bound also admits ``12.9.1``."""
    return Version(f"{last.major}.{last.minor}.9999")
