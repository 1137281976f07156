"""Which patches the downstream packages' sources need to run on today's Python, setuptools and torch.

Pure policy: the table below names, per package and version range, the patch specs
(patches/<package>/) that fix a run-time breakage of its newest releases, and why. Each patch
keeps working where the breakage does not happen (older torch, setuptools < 82), so the choice
depends on the release alone. A package with no patch that helps would be pinned instead; every
release listed here has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


@dataclass(frozen=True)
class DownstreamPatch:
    """One patch for a range of releases of one package, and the breakage it fixes."""

    package: str
    versions: str
    patch_id: str
    why: str


DOWNSTREAM_PATCHES: tuple[DownstreamPatch, ...] = (
    DownstreamPatch("mmengine", ">=0.7.0,<0.11", "mmengine-checkpoint-safe-globals",
                    "torch >= 2.6 loads with weights_only=True and refuses the HistoryBuffer in every "
                    "checkpoint mmengine's Runner saves: resume and load_from fail "
                    "(open-mmlab/mmengine#1655)"),
    DownstreamPatch("mmengine", ">=0.7.0,<0.11", "mmengine-package-utils-pkg-resources",
                    "Config.fromfile with a base config from another package ('mmdet::...') imports "
                    "pkg_resources, which setuptools >= 82 no longer has"),
    DownstreamPatch("mmengine", ">=0.7.0,<0.11", "mmengine-setup-pkg-resources",
                    "its setup.py imports pkg_resources: the patched wheel cannot be built without it"),
    DownstreamPatch("mmengine", "==0.10.7", "mmengine-setup-requirements",
                    "its sdist lacks requirements/, so a wheel built from it would require nothing"),
    DownstreamPatch("mmsegmentation", ">=1.2.0,<1.3", "mmsegmentation-runtime-requirements",
                    "mmseg.utils imports ftfy and regex, which the release lists only as an extra: "
                    "register_all_modules and every model fail without them"),
    DownstreamPatch("mmaction2", "==1.2.0", "mmaction2-localizers-drn",
                    "the release imports mmaction.models.localizers.drn, which its wheel does not ship: "
                    "import mmaction.models fails"),
    DownstreamPatch("mmaction2", "==1.2.0", "mmaction2-setup-requirements",
                    "its sdist lacks requirements/, so a wheel built from it would require nothing "
                    "(einops, decord, ...): import mmaction.models fails on einops"),
)


@dataclass(frozen=True)
class DownstreamFix:
    """What the plan does to one downstream release beyond installing it: patches (with why)."""

    package: str
    version: str
    patches: tuple[DownstreamPatch, ...] = field(default_factory=tuple)

    @property
    def patch_ids(self) -> list[str]:
        return [p.patch_id for p in self.patches]

    def to_dict(self) -> dict:
        return {"package": self.package, "version": self.version, "action": "patch",
                "patches": [{"id": p.patch_id, "why": p.why} for p in self.patches]}


def _applies(entry: DownstreamPatch, name: str, version: str) -> bool:
    if canonicalize_name(entry.package) != canonicalize_name(name):
        return False
    try:
        return SpecifierSet(entry.versions).contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def downstream_fix(name: str, version: str) -> DownstreamFix | None:
    """The patches ``name==version`` gets, with why; None when it installs as released."""
    patches = tuple(p for p in DOWNSTREAM_PATCHES if _applies(p, name, version))
    return DownstreamFix(canonicalize_name(name), version, patches) if patches else None


def downstream_patches(name: str, version: str) -> list[str]:
    """The patch ids for the sources of ``name==version`` (empty: install the release as it is)."""
    fix = downstream_fix(name, version)
    return fix.patch_ids if fix else []
