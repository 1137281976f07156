"""Lookups over torch.toml: the C++ standard a torch needs, and TORCH_CUDA_ARCH_LIST's arch names."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.version import Version

from mmbuild.knowledge import load_table
from mmbuild.knowledge.versions import last_at_or_below, parse_version


@dataclass(frozen=True)
class CxxStdRule:
    std: str
    fallback: str | None = None
    fallback_fails_with: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class StdRequirement:
    nvcc: Version
    gcc: int
    clang: int
    msc_ver: int


def cxx_std_rule(torch_version: str | None) -> CxxStdRule:
    """The standard torch ``torch_version`` builds extensions with (newest rule for an unreadable one)."""
    rows = load_table("torch")["cxx_std"]
    version = parse_version(torch_version)
    row = last_at_or_below(rows, "torch", version) if version else None
    row = row or max(rows, key=lambda r: Version(r["torch"]))
    return CxxStdRule(row["std"], row.get("fallback"), tuple(row.get("fallback_fails_with", ())))


def std_requirement(std: str) -> StdRequirement:
    row = load_table("torch")["standard"][std]
    return StdRequirement(Version(row["nvcc"]), row["gcc"], row["clang"], row["msc_ver"])


def arch_names(torch_version: str | None) -> dict[str, str]:
    """Name -> ``;``-separated arch list, as the given torch's extension builder defines them."""
    table = load_table("torch")
    names = dict(table["arch_names"])
    version = parse_version(torch_version)
    for since, overrides in sorted(table.get("arch_names_since", {}).items(), key=lambda kv: Version(kv[0])):
        if version is None or version >= Version(since):
            names.update(overrides)
    return names


def reads_pytorch_nvcc(torch_version: str | None) -> bool:
    """Whether this torch's extension builder runs ``$PYTORCH_NVCC`` (an unreadable version: yes)."""
    version = parse_version(torch_version)
    return version is None or version >= Version(load_table("torch")["pytorch_nvcc"]["since"])


def cuda_headers_needed() -> list[str]:
    """The CUDA headers torch's CUDA headers include: every .cu unit of an extension needs them."""
    return list(load_table("torch")["cuda_headers"]["needed"])


def cuda_header_packages(headers: list[str], cuda_version: str | None) -> list[str]:
    """The NVIDIA wheels on the package index that provide ``headers`` for this CUDA major."""
    table = load_table("torch")["cuda_headers"]
    major = (cuda_version or "").split(".")[0]
    suffix = table["suffix"].get(major, table["suffix"][max(table["suffix"], key=int)])
    packages = [table["packages"][h].format(suffix=suffix) for h in headers if h in table["packages"]]
    return list(dict.fromkeys(packages))
