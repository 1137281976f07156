"""The downstream stack: what each OpenMMLab package declares, and the one set chosen to install.

Plain data (``to_dict()`` for the JSON report). Versions are strings; specs are PEP 440 specifier
strings over the mmcv (or mmengine) version, "" when the package states none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.model.findings import Finding, has_errors
from mmbuild.model.serde import to_dict


@dataclass(frozen=True)
class DownstreamBounds:
    """What one release of a downstream package accepts, and where each bound was read."""

    name: str
    version: str
    mmcv: str                     # PEP 440 spec over the mmcv version, "" if none
    mmcv_package: str             # "mmcv" | "mmcv-full" | "onedl-mmcv"; "" when it does not use mmcv
    mmengine: str                 # spec over the mmengine version, or ""
    requires: list[str] = field(default_factory=list)   # its Requires-Dist (runtime and the mim extra)
    sources: list[str] = field(default_factory=list)    # "metadata", "__init__.py", "table"
    mmengine_package: str = ""    # "mmengine" | "onedl-mmengine"; "" when it names none

    @property
    def uses_mmcv(self) -> bool:
        return bool(self.mmcv_package)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def to_dict(self) -> dict:
        return to_dict(self)


@dataclass(frozen=True)
class DownstreamPin:
    """One downstream package at the version chosen for it."""

    name: str
    version: str
    bounds: DownstreamBounds
    patches: list[str] = field(default_factory=list)

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    def to_dict(self) -> dict:
        return to_dict(self)


@dataclass(frozen=True)
class StackResolution:
    """The consistent set: downstream versions, mmengine and the mmcv release to build."""

    requested: list[str]
    downstream: list[DownstreamPin]
    mmcv: str                     # "mmcv==2.1.0"
    mmengine: str | None          # "mmengine==0.10.7", or None where nothing needs it
    others: list[str]             # requirements that do not use mmcv, passed to the installer as given
    findings: list[Finding] = field(default_factory=list)
    mmcv_reason: str = ""         # why this mmcv (the planner's sentence)
    # mmcv-full 1.x imports torchvision: the one that fits torch, where it is missing (else None),
    # and the index it comes from (None: the configured one; recorded, not passed to the installer).
    # Installed by the stack step, before verify.
    torchvision: str | None = None
    torchvision_index: str | None = None
    # What the plan does to a release beyond installing it (plan/downstream_patches.py): each
    # {"package", "version", "action": "patch", "patches": [{"id", "why"}]}.
    fixes: list[dict] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return has_errors(self.findings)

    def install_requirements(self) -> list[str]:
        """The downstream pins, then mmengine, then the others, as the installer takes them."""
        pins = [p.requirement for p in self.downstream]
        return pins + ([self.mmengine] if self.mmengine else []) + list(self.others)

    def to_dict(self) -> dict:
        return to_dict(self)
