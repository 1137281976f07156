"""Lookups over mmcv_versions.toml and downstream.toml: which mmcv builds, and which one fits."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from mmbuild.knowledge import load_table
from mmbuild.knowledge.versions import parse_version


@dataclass(frozen=True)
class MmcvRelease:
    package: str  # "mmcv" (2.x) or "mmcv-full" (1.x)
    version: Version
    torch: SpecifierSet
    basis: str

    def builds_with(self, torch_version: str | None) -> bool:
        parsed = parse_version(torch_version)
        return parsed is not None and self.torch.contains(parsed, prereleases=True)


@dataclass(frozen=True)
class MmcvRequirement:
    """What one installed downstream package accepts."""

    downstream: str  # "mmdet 3.3.0"
    package: str  # "mmcv" or "mmcv-full"
    spec: SpecifierSet

    def admits(self, release: MmcvRelease) -> bool:
        return release.package == self.package and self.spec.contains(release.version, prereleases=True)

    def __str__(self) -> str:
        return f"{self.downstream} requires {self.package}{self.spec}"


def mmcv_releases() -> list[MmcvRelease]:
    """Known releases, most preferred first (newest 2.x, then newest 1.x)."""
    rows = [
        MmcvRelease(r["package"], Version(r["version"]), SpecifierSet(r["torch"]), r["basis"])
        for r in load_table("mmcv_versions")["release"]
    ]
    return sorted(rows, key=lambda r: (r.package == "mmcv", r.version), reverse=True)


def find_release(package: str, version: str) -> MmcvRelease | None:
    wanted = parse_version(version)
    return next((r for r in mmcv_releases() if r.package == package and r.version == wanted), None)


def package_for_version(version: Version) -> str:
    """mmcv 2.x is published as "mmcv"; 1.x with ops as "mmcv-full"."""
    return "mmcv" if version.major >= 2 else "mmcv-full"


def downstream_requirement(downstream: str, version: str | None) -> MmcvRequirement | None:
    """The mmcv range that ``downstream`` ``version`` accepts, from the tables (None if unknown)."""
    parsed = parse_version(version)
    if parsed is None:
        return None
    for row in load_table("downstream")["row"]:
        if row["downstream"] == downstream and Version(row["from"]) <= parsed < Version(row["below"]):
            return MmcvRequirement(f"{downstream} {version}", row["mmcv"], SpecifierSet(row["spec"]))
    return None


def known_downstreams() -> list[str]:
    return sorted({row["downstream"] for row in load_table("downstream")["row"]})
