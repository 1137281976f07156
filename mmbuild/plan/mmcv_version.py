"""Which mmcv to build: explicit > the newest release every installed downstream package accepts
and that builds against this torch and Python > an error finding naming the conflict.

The automatic choice prefers mmcv 2.x, then onedl-mmcv (the maintained fork), then mmcv-full 1.x.
The fork is chosen when an installed onedl-* downstream package requires it (nothing else
satisfies it), or when onedl-mmcv is already installed: that user chose the fork, and a rebuild
keeps it.
"""

from __future__ import annotations

import re

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mmbuild.errors import UsageError
from mmbuild.knowledge import mmcv_versions as facts
from mmbuild.knowledge.bounds import Judgement
from mmbuild.model.build_plan import MmcvChoice
from mmbuild.model.environment import Environment
from mmbuild.model.findings import Finding, finding

_REQUEST = re.compile(
    r"^\s*(?:(onedl[-_.]mmcv|mmcv[-_.]full|mmcv)\s*(?:==\s*)?)?([0-9][0-9A-Za-z.]*)?\s*$", re.IGNORECASE
)
_EXAMPLES = "use e.g. 2.1.0, mmcv==2.2.0, mmcv-full==1.7.2 or onedl-mmcv==2.3.6"


def parse_mmcv_request(text: str) -> tuple[str | None, Version | None]:
    """``"2.1.0"``, ``"mmcv==2.1.0"``, ``"mmcv-full==1.7.2"``, ``"onedl-mmcv==2.3.6"``, ``"mmcv-full"``
    -> (package, version)."""
    match = _REQUEST.match(text)
    if not match or not (match.group(1) or match.group(2)):
        raise UsageError(f"--mmcv {text!r} is not a version", fix=_EXAMPLES)
    package = canonicalize_name(match.group(1)) if match.group(1) else None
    version = None
    if match.group(2):
        try:
            version = Version(match.group(2))
        except InvalidVersion:
            raise UsageError(f"--mmcv {text!r} is not a version", fix=_EXAMPLES) from None
    if package == facts.FORK:
        if version is not None and version.major < 2:
            raise UsageError(f"--mmcv {text!r}: onedl-mmcv is a fork of mmcv 2.x",
                             fix="use e.g. onedl-mmcv==2.3.6, or mmcv-full for 1.x")
        return package, version
    if package and version and facts.package_for_version(version) != package:
        raise UsageError(
            f"--mmcv {text!r}: {package} {version} does not exist "
            f"({'1.x is mmcv-full' if version.major < 2 else '2.x is published as mmcv'})",
            fix=f"use {facts.package_for_version(version)}=={version}",
        )
    return package, version


def downstream_requirements(env: Environment) -> list[facts.MmcvRequirement]:
    """What the installed downstream packages accept: their own declared range, else the tables."""
    found: dict[str, facts.MmcvRequirement] = {}
    for c in env.downstream_constraints:
        spec = ",".join(
            s for s in (f">={c.mmcv_min}" if c.mmcv_min else "", f"<{c.mmcv_max}" if c.mmcv_max else "") if s
        )
        package = facts.required_package(c.package, c.mmcv_max or c.mmcv_min)
        found[c.package] = facts.MmcvRequirement(f"{c.package} {c.version}", package, SpecifierSet(spec))
    for name in facts.known_downstreams():  # onedl-* ones included
        version = env.packages.get(name)
        if name not in found and version:
            requirement = facts.downstream_requirement(name, version)
            if requirement:
                found[name] = requirement
    return [found[k] for k in sorted(found)]


def choose_mmcv(env: Environment, request: str | None) -> tuple[MmcvChoice, list[Finding]]:
    """The mmcv to build and why, with findings for conflicts (see the module docstring).

    Automatic choice: the newest release that every installed downstream package accepts, that
    this Python can install and that is not known to fail with this torch. A torch newer than the
    release was tested with is tried (an ``untested-version`` warning); only a known failure or a
    downstream conflict blocks.
    """
    return choose_mmcv_for(env, downstream_requirements(env), request)


def choose_mmcv_for(env: Environment, requirements: list[facts.MmcvRequirement],
                    request: str | None = None) -> tuple[MmcvChoice, list[Finding]]:
    """:func:`choose_mmcv` against the given ``requirements`` (the stack resolver passes those of
    the downstream set it considers, instead of the installed packages')."""
    torch_version = env.torch.version if env.torch else None
    if request:
        return _explicit(request, torch_version, env.python.version, requirements)
    releases = _preferred(env)
    fits = [r for r in releases if all(q.admits(r) for q in requirements)]
    if not fits:
        conflict = finding("mmcv-version-incompatible", message_key="no_release_fits",
                           requirements="; ".join(str(q) for q in requirements))
        choice = MmcvChoice(releases[0].package, str(releases[0].version), "no release fits (see findings)")
        return choice, [conflict]
    judged = [(r, judge_release(r, env)) for r in fits]
    usable = [(r, j) for r, j in judged if not j.blocks]
    if not usable:
        release, judgement = judged[0]
        choice = MmcvChoice(release.package, str(release.version), "no release fits (see findings)")
        blocks_python = bool(release.python_blocks(env.python.version))
        return choice, [_blocked(judgement.reason, "; ".join(str(q) for q in requirements), blocks_python)]
    release, judgement = usable[0]
    accepted = "; ".join(str(q) for q in requirements)
    why = f"the newest release {accepted}" if accepted else "the newest release"
    if judgement.status == "tested":
        why += f", tested with torch {torch_version}"
    if release.package == facts.FORK and env.packages.get(facts.FORK):
        why += f" (onedl-mmcv {env.packages[facts.FORK]} is installed: the fork is kept)"
    choice = MmcvChoice(release.package, str(release.version), why)
    return choice, _untested(release, judgement)


def _preferred(env: Environment) -> list[facts.MmcvRelease]:
    """The known releases in the order of the module docstring (an installed fork goes first)."""
    releases = facts.mmcv_releases()
    if env.packages.get(facts.FORK):
        releases.sort(key=lambda r: r.package != facts.FORK)
    return releases


def preferred_releases(env: Environment) -> list[facts.MmcvRelease]:
    """Every known release, most preferred first (the order the automatic choice tries them in)."""
    return _preferred(env)


def judge_release(release: facts.MmcvRelease, env: Environment) -> Judgement:
    """The torch judgement, unless this Python cannot install the release at all."""
    python = release.python_blocks(env.python.version)
    if python:
        return Judgement("fails", python)
    return release.judge_torch(env.torch.version if env.torch else None)


def _blocked(reason: str, wanted: str, blocks_python: bool) -> Finding:
    """The error when no release that the downstream packages accept (``wanted``) can be built."""
    if blocks_python and wanted:
        return finding("python-unsupported", message_key="release_python_downstream", reason=reason,
                       wanted=wanted)
    if blocks_python:
        return finding("python-unsupported", message_key="release_python", reason=reason)
    if wanted:
        return finding("mmcv-version-incompatible", message_key="no_release_builds_downstream", reason=reason,
                       wanted=wanted)
    return finding("mmcv-version-incompatible", message_key="no_release_builds", reason=reason)


def _untested(release: facts.MmcvRelease, judgement: Judgement) -> list[Finding]:
    """The ``untested-version`` warning for a release tried against a torch newer than tested."""
    if judgement.status != "untested":
        return []
    return [
        finding("untested-version", message_key="torch_newer_than_tested", reason=judgement.reason,
                tested_up_to=release.torch.tested_up_to)
    ]


def _explicit(
    request: str, torch_version: str | None, python_version: str, requirements: list
) -> tuple[MmcvChoice, list[Finding]]:
    package, version = parse_mmcv_request(request)
    findings: list[Finding] = []
    if version is None:
        newest = facts.newest_release(package) if package else None
        if newest is None:
            raise UsageError(f"--mmcv {request!r}: no known release", fix="give a version, e.g. 2.1.0")
        version = newest.version
    package = package or facts.package_for_version(version)
    release = facts.find_release(package, str(version))
    needs = facts.needs_of(package, str(version))
    python = needs.python_blocks(python_version) if needs else None
    if python:
        findings.append(finding("python-unsupported", message_key="release_python", reason=python))
    if release is None:
        findings.append(finding("untested-version", message_key="release_not_in_table", package=package,
                                version=version))
    else:
        judgement = release.judge_torch(torch_version)
        if judgement.blocks:
            findings.append(finding("mmcv-version-incompatible", message_key="requested_blocked",
                                    reason=judgement.reason))
        findings.extend(_untested(release, judgement))
        findings += [_outside(package, version, q) for q in requirements if not q.admits(release)]
    return MmcvChoice(package, str(version), "requested with --mmcv"), findings


def _outside(package: str, version: Version, requirement: facts.MmcvRequirement) -> Finding:
    """The warning for a requested mmcv that an installed downstream package does not accept."""
    if requirement.package == package:
        return finding("mmcv-version-incompatible", "warning", message_key="requested_outside_range",
                       package=package, version=version, requirement=requirement,
                       downstream=requirement.downstream)
    return finding("mmcv-version-incompatible", "warning", message_key="requested_replaces", package=package,
                   version=version, requirement=requirement, other=requirement.package,
                   downstream=requirement.downstream)
