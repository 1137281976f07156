"""Lookups over torchvision.toml: which torchvision goes with a torch, and which release to install."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from mmbuild.knowledge import load_table
from mmbuild.knowledge.versions import parse_version, release


@dataclass(frozen=True)
class TorchvisionRelease:
    version: Version
    torch: SpecifierSet  # the torch its wheels require ("==2.13.0", ">=2.14.0")

    def admits(self, torch_version: str | None) -> bool:
        parsed = parse_version(torch_version)
        return parsed is not None and self.torch.contains(parsed, prereleases=True)


@dataclass(frozen=True)
class TorchvisionPair:
    """torch major.minor -> torchvision major.minor, with the known releases of that torchvision."""

    torch: tuple[int, int]
    torchvision: tuple[int, int]
    releases: tuple[TorchvisionRelease, ...]  # oldest first
    checked: bool  # False: an expected pairing, not confirmed on the package index
    basis: str

    @property
    def torch_label(self) -> str:
        return f"{self.torch[0]}.{self.torch[1]}"

    @property
    def torchvision_label(self) -> str:
        return f"{self.torchvision[0]}.{self.torchvision[1]}"

    def recommended(self, torch_version: str | None) -> TorchvisionRelease | None:
        """The newest release whose torch pin admits ``torch_version`` (pip then keeps that torch)."""
        return next((r for r in reversed(self.releases) if r.admits(torch_version)), None)


def imported_by() -> tuple[str, ...]:
    """The downstream packages that import torchvision without requiring it (see the table)."""
    return tuple(load_table("torchvision").get("imported_by", ()))


def pairs() -> list[TorchvisionPair]:
    """Every known pairing, oldest torch first."""
    rows = []
    for row in load_table("torchvision")["pair"]:
        releases = sorted(
            (TorchvisionRelease(Version(v), SpecifierSet(pin)) for v, pin in row.get("releases", {}).items()),
            key=lambda r: r.version,
        )
        rows.append(TorchvisionPair(release(row["torch"]), release(row["torchvision"]), tuple(releases),
                                    row["checked"], row["basis"]))
    return sorted(rows, key=lambda p: p.torch)


def pair_for_torch(torch_version: str | None) -> TorchvisionPair | None:
    """The pairing for this torch's major.minor (``2.13.0+cu130`` -> 0.28), None when not in the table."""
    wanted = release(torch_version)
    return next((p for p in pairs() if p.torch == wanted), None)


def pair_for_torchvision(torchvision_version: str | None) -> TorchvisionPair | None:
    """The pairing a torchvision release belongs to (``0.27.0`` -> torch 2.12), None when unknown."""
    wanted = release(torchvision_version)
    return next((p for p in pairs() if p.torchvision == wanted), None)


def newest_pair() -> TorchvisionPair:
    return pairs()[-1]


def oldest_pair() -> TorchvisionPair:
    return pairs()[0]
