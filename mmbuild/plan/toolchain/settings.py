"""What a host toolchain adds to a build beyond its compiler: variables, nvcc arguments, patches."""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.model.build_plan import Decision
from mmbuild.model.findings import Finding


@dataclass
class PlatformSettings:
    """The build variables, nvcc arguments, torch-header patches and their decisions and findings."""

    build_env: dict[str, str] = field(default_factory=dict)
    cuda_args: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    patches: list[str] = field(default_factory=list)
