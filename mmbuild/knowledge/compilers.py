"""Lookups over host_compilers.toml: which GCC/Clang/MSVC a CUDA toolkit accepts, and the FAQ rules."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from mmbuild.knowledge import load_table
from mmbuild.knowledge.versions import last_at_or_below, parse_version, release


@dataclass(frozen=True)
class MsvcRange:
    msc_min: int
    msc_max: int
    vs: str


@dataclass(frozen=True)
class HostLimit:
    """The newest GCC/Clang major an nvcc accepts; ``known`` is False past the table's last row."""

    major: int
    known: bool
    known_up_to: str  # the newest CUDA the table covers


def host_limit(kind: str, cuda_version: str | None) -> HostLimit | None:
    """The host-compiler limit of nvcc ``cuda_version`` for ``kind`` (None: unknown kind or version)."""
    table = {"gcc": "gcc_max", "clang": "clang_max"}.get(kind)
    version = parse_version(cuda_version)
    if table is None or version is None:
        return None
    rows = load_table("host_compilers")[table]
    row = last_at_or_below(rows, "cuda", version)
    if row is None:
        return None
    newest = max(rows, key=lambda r: Version(r["cuda"]))
    known_up_to = newest.get("known_up_to", newest["cuda"])
    known = row is not newest or release(cuda_version) <= release(known_up_to)
    return HostLimit(row["major"], known, known_up_to)


def max_host_major(kind: str, cuda_version: str | None) -> int | None:
    """Newest GCC or Clang major nvcc of ``cuda_version`` accepts (None: unknown kind or version)."""
    limit = host_limit(kind, cuda_version)
    return limit.major if limit else None


def msvc_range(cuda_version: str | None) -> MsvcRange | None:
    """The ``_MSC_VER`` range nvcc of ``cuda_version`` accepts."""
    version = parse_version(cuda_version)
    if version is None:
        return None
    row = last_at_or_below(load_table("host_compilers")["msvc"], "cuda", version)
    return MsvcRange(row["msc_min"], row["msc_max"], row["vs"]) if row else None


def vs_name(msc_ver: int) -> str:
    """``1929`` -> ``"VS 2019"`` (the Visual Studio release a compiler version belongs to)."""
    names = load_table("host_compilers")["vs_names"]
    best = max((int(k) for k in names if int(k) <= msc_ver), default=None)
    return names[str(best)] if best is not None else f"MSVC {msc_ver}"


def gcc_faq_problem(version: str | None) -> str | None:
    """Why mmcv's FAQ rejects this GCC (too old, or 5.5), or None when it is fine."""
    parsed = parse_version(version)
    if parsed is None:
        return None
    rules = load_table("host_compilers")["gcc_rules"]
    if parsed < Version(rules["min_version"]):
        return f"GCC {version} is older than {rules['min_version']}, the oldest that builds mmcv's ops"
    if f"{parsed.major}.{parsed.minor}" in rules["bad_majors_minors"]:
        return f"GCC {version} is known to produce builds that crash with 'Segmentation fault'"
    return None


def host_compiler_too_new(kind: str, version: str | None, cuda_version: str | None) -> int | None:
    """The accepted maximum major when ``kind`` ``version`` is known to be newer than nvcc allows."""
    parsed = parse_version(version)
    limit = host_limit(kind, cuda_version)
    if parsed is None or limit is None or not limit.known:
        return None
    return limit.major if parsed.major > limit.major else None


def host_compiler_untested(kind: str, version: str | None, cuda_version: str | None) -> HostLimit | None:
    """The table's last limit when ``version`` passes it but CUDA is newer than the table knows."""
    parsed = parse_version(version)
    limit = host_limit(kind, cuda_version)
    if parsed is None or limit is None or limit.known:
        return None
    return limit if parsed.major > limit.major else None
