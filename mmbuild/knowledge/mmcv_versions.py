"""Lookups over mmcv_versions.toml and downstream.toml: which mmcv builds, and which one fits.

Three distributions install the ``mmcv`` import package with ops: mmcv (2.x), mmcv-full (1.x) and
onedl-mmcv, the maintained fork of 2.x. They are different distributions: a requirement on one is
never met by another, so an installed onedl-* downstream package (its rows in downstream.toml name
onedl-mmcv) admits only onedl-mmcv.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from mmbuild.knowledge import load_table
from mmbuild.knowledge.bounds import Bounds, Judgement
from mmbuild.knowledge.versions import optional_version, parse_version


@dataclass(frozen=True)
class MmcvRelease:
    package: str  # "mmcv" (2.x), "mmcv-full" (1.x) or "onedl-mmcv"
    version: Version
    torch: Bounds
    basis: str
    python_min: Version | None = None
    build_requires: tuple[str, ...] = ()  # PEP 508, needed in the environment the build runs in

    @property
    def label(self) -> str:
        return f"{self.package} {self.version}"

    def judge_torch(self, torch_version: str | None) -> Judgement:
        """Tested, untested (newer than tested) or known to fail against ``torch_version``."""
        return self.torch.judge(torch_version)

    def python_blocks(self, python_version: str | None) -> str | None:
        """Why ``python_version`` cannot install this release (None: it can, or it is unknown)."""
        python = parse_version(python_version)
        if self.python_min is None or python is None or python >= self.python_min:
            return None
        return f"{self.label} requires Python >= {self.python_min} (Requires-Python); this is Python {python}"


@dataclass(frozen=True)
class MmcvRequirement:
    """What one installed downstream package accepts."""

    downstream: str  # "mmdet 3.3.0"
    package: str  # "mmcv", "mmcv-full" or "onedl-mmcv"
    spec: SpecifierSet

    def admits(self, release: MmcvRelease) -> bool:
        return release.package == self.package and self.spec.contains(release.version, prereleases=True)

    def __str__(self) -> str:
        return f"{self.downstream} requires {self.package}{self.spec}"


FORK = "onedl-mmcv"
_PREFERENCE = ("mmcv", FORK, "mmcv-full")


def mmcv_releases() -> list[MmcvRelease]:
    """Known releases, most preferred first: newest mmcv 2.x, newest onedl-mmcv, newest mmcv-full."""
    rows = sorted((_release(r) for r in load_table("mmcv_versions")["release"]),
                  key=lambda r: r.version, reverse=True)
    return sorted(rows, key=lambda r: _PREFERENCE.index(r.package))


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
    return MmcvRelease(row["package"], Version(row["version"]), bounds, row["basis"],
                       optional_version(row.get("python_min")), tuple(row.get("build_requires", ())))


def find_release(package: str, version: str) -> MmcvRelease | None:
    wanted = parse_version(version)
    return next((r for r in mmcv_releases() if r.package == package and r.version == wanted), None)


def newest_release(package: str) -> MmcvRelease | None:
    return next((r for r in mmcv_releases() if r.package == package), None)


def needs_of(package: str, version: str) -> MmcvRelease | None:
    """The row of ``package`` ``version``, for its Python and build requirements; a release missing
    from the table is assumed to need what the newest known release of its package needs."""
    found = find_release(package, version)
    if found is not None:
        return found
    newest = newest_release(package)
    return replace(newest, version=Version(version)) if newest else None


def package_for_version(version: Version) -> str:
    """mmcv 2.x is published as "mmcv"; 1.x with ops as "mmcv-full"."""
    return "mmcv" if version.major >= 2 else "mmcv-full"


def fork_downstreams() -> frozenset[str]:
    """Downstream packages built on onedl-mmcv (their rows in downstream.toml name it)."""
    return frozenset(r["downstream"] for r in load_table("downstream")["row"] if r["mmcv"] == FORK)


def required_package(downstream: str, bound: str | None) -> str:
    """The mmcv distribution ``downstream`` needs: onedl-mmcv for the forks, else by the bound's major."""
    if downstream in fork_downstreams():
        return FORK
    return package_for_version(Version(bound)) if bound else "mmcv"


def downstream_requirement(downstream: str, version: str | None) -> MmcvRequirement | None:
    """The mmcv range that ``downstream`` ``version`` accepts, from the tables (None if unknown).

    A fork downstream outside its rows still requires onedl-mmcv (any version).
    """
    parsed = parse_version(version)
    if parsed is None:
        return None
    for row in load_table("downstream")["row"]:
        if row["downstream"] == downstream and Version(row["from"]) <= parsed < Version(row["below"]):
            return MmcvRequirement(f"{downstream} {version}", row["mmcv"], SpecifierSet(row["spec"]))
    if downstream in fork_downstreams():
        return MmcvRequirement(f"{downstream} {version}", FORK, SpecifierSet())
    return None


def known_downstreams() -> list[str]:
    return sorted({row["downstream"] for row in load_table("downstream")["row"]})
