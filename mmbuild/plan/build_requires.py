"""Whether the environment the build runs in has what the chosen release's build needs.

mmbuild builds with ``--no-build-isolation`` (the build must import the installed torch), so pip
does not install the sdist's [build-system] requirements: the target environment must have them.
``build_requires`` in mmcv_versions.toml lists those an older environment may lack (onedl-mmcv:
setuptools >= 77 for its PEP 639 license expression). A package the saved report does not track is
unknown, not missing.
"""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mmbuild.knowledge import mmcv_versions as facts
from mmbuild.knowledge.versions import parse_version
from mmbuild.model.build_plan import MmcvChoice
from mmbuild.model.environment import Environment
from mmbuild.model.findings import Finding, finding


def check_build_requires(env: Environment, mmcv: MmcvChoice) -> list[Finding]:
    """A ``build-requirement-missing`` error for each requirement the environment does not meet."""
    release = facts.needs_of(mmcv.package, mmcv.version)
    findings: list[Finding] = []
    for text in release.build_requires if release else ():
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name not in env.packages:
            continue
        installed = env.packages[name]
        version = parse_version(installed)
        if installed is not None and (version is None or requirement.specifier.contains(version, True)):
            continue
        have = f"{name} {installed} is installed" if installed else f"{name} is not installed"
        findings.append(
            finding("build-requirement-missing", package=mmcv.package, version=mmcv.version,
                    requirement=requirement, have=have)
        )
    return findings
