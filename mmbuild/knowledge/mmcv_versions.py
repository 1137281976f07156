"""Lookups over mmcv_versions.toml and downstream.toml: which mmcv builds, and which one fits."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from mmbuild.knowledge import load_table
from mmbuild.knowledge.bounds import Bounds, Judgement, optional_version
from mmbuild.knowledge.versions import parse_version


@dataclass(frozen=True)
class MmcvRelease:
    package: str  # "mmcv" (2.x) or "mmcv-full" (1.x)
    version: Version
    torch: Bounds
    basis: str

    @property
    def label(self) -> str:
        return f"{self.package} {self.version}"

    def judge_torch(self, torch_version: str | None) -> Judgement:
        """Tested, untested (newer than tested) or known to fail against ``torch_version``."""
        return self.torch.judge(torch_version)


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
    rows = [_release(r) for r in load_table("mmcv_versions")["release"]]
    return sorted(rows, key=lambda r: (r.package == "mmcv", r.version), reverse=True)


def _release(row: dict) -> MmcvRelease:
    label = f"{row['package']} {row['version']}"
    bounds = Bounds(
        subject="torch",
        owner=label,
        fails_below=optional_version(row.get("torch_fails_below")),
        fails_below_because="upstream's oldest supported torch",
        tested_up_to=optional_version(row.get("torch_tested_up_to")),
        fails_from=optional_version(row.get("torch_fails_from")),
        fails_from_because=row.get("fails_because", ""),
    )
    return MmcvRelease(row["package"], Version(row["version"]), bounds, row["basis"])


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
