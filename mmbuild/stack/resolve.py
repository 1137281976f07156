"""One consistent set: the downstream versions, mmengine and the mmcv release to build.

Pure policy: what each release declares comes from ``index`` (stack/index.py reads the real wheels;
the tests pass a stand-in). The newest set wins: for each mmcv release the planner would build
(plan/mmcv_version.py, in its order of preference, not known to fail with this torch and Python),
each requested package's newest version that accepts it; the release whose set is newest (fewest
steps back from each package's newest match) is kept, and the planner then chooses the mmcv for
that set with its usual judgement. Downstream packages already installed and not requested stay,
so their bounds count too. No set: an error finding naming every bound and the nearest sets that
work (stack/conflicts.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from mmbuild.errors import UsageError
from mmbuild.knowledge import mmcv_versions as facts
from mmbuild.model.environment import Environment
from mmbuild.model.findings import Finding, finding, has_errors
from mmbuild.model.stack import DownstreamBounds, DownstreamPin, StackResolution
from mmbuild.plan.mmcv_version import (
    choose_mmcv_for,
    downstream_requirements,
    judge_release,
    preferred_releases,
)
from mmbuild.plan.torchvision import check_torchvision, torchvision_to_install
from mmbuild.stack.requirements import MMCV_NAMES, MMENGINE_NAMES, is_mmcv_user

# How many releases of one package are read, newest first, looking for one that accepts an mmcv.
SCAN_DEPTH = 12
_USERS_EXAMPLE = "e.g. mmdet, mmsegmentation, mmpretrain, mmaction2, mmpose, mmocr, mmagic, mmrotate, mmdet3d"


class Index(Protocol):
    def versions(self, name: str) -> list[str]: ...          # newest first; UsageError if unknown
    def bounds(self, name: str, version: str) -> DownstreamBounds: ...


@dataclass
class Split:
    """The requests by role."""

    users: list[Requirement] = field(default_factory=list)      # packages that use mmcv
    others: list[Requirement] = field(default_factory=list)     # passed through to the installer
    mmcv: Requirement | None = None                             # the user's own mmcv requirement
    mmengine: list[Requirement] = field(default_factory=list)


@dataclass
class Found:
    """A set that fits: each package's bounds at its chosen version, and the mmcv release it fits."""

    picked: dict[str, DownstreamBounds]
    release: facts.MmcvRelease
    steps: int                      # versions stepped back from each package's newest match, summed


def resolve_stack(requests: list[Requirement], env: Environment, index: Index) -> StackResolution:
    """The newest consistent set for ``requests`` (see the module docstring); UsageError on bad input."""
    split = split_requests(requests, index)
    candidates = {canonicalize_name(q.name): candidate_versions(q, index) for q in split.users}
    kept = installed_requirements(env, set(candidates))
    found = search(candidates, env, index, kept, split.mmcv)
    if found is None:
        from mmbuild.stack.conflicts import unresolved

        return unresolved(requests, split, candidates, env, index, kept)
    return assemble(requests, split, found, env, index, kept)


def split_requests(requests: list[Requirement], index: Index) -> Split:
    """The requests by role; UsageError for a name the index does not know, a version that does not
    exist, and a request where nothing uses mmcv."""
    split = Split()
    for q in requests:
        key = canonicalize_name(q.name)
        if key in MMCV_NAMES:
            if split.mmcv is not None:
                raise UsageError(f"two mmcv requirements: {split.mmcv} and {q}", fix="keep one")
            split.mmcv = q
        elif key in MMENGINE_NAMES:
            split.mmengine.append(q)
        elif is_mmcv_user(key) or (key.startswith(("mm", "onedl-")) and _uses_mmcv(q, index)):
            split.users.append(q)
        else:
            candidate_versions(q, index)          # it exists, at a version that matches
            split.others.append(q)
    if not split.users:
        named = ", ".join(str(q) for q in split.others) or ", ".join(
            str(q) for q in [split.mmcv, *split.mmengine] if q is not None)
        raise UsageError(f"{named}: nothing here uses mmcv, so there is no stack to resolve",
                         fix=f"name an OpenMMLab package that uses mmcv ({_USERS_EXAMPLE}); "
                             "`mmbuild install` alone builds mmcv for the installed packages")
    return split


def candidate_versions(q: Requirement, index: Index) -> list[str]:
    """The versions of ``q`` the index offers that its specifier admits, newest first."""
    offered = index.versions(q.name)
    matching = [str(v) for v in q.specifier.filter(offered)]
    if not matching:
        shown = [v for v in offered if not Version(v).is_prerelease] or offered
        raise UsageError(f"{q}: no such version of {q.name} on the package index",
                         fix=f"choose one of {', '.join(shown[:8])}" + (" ..." if len(shown) > 8 else ""))
    return matching


def installed_requirements(env: Environment, requested: set[str]) -> list[facts.MmcvRequirement]:
    """What the installed downstream packages that are not requested accept (they stay installed)."""
    return [q for q in downstream_requirements(env)
            if canonicalize_name(q.downstream.split()[0]) not in requested]


def search(candidates: dict[str, list[str]], env: Environment, index: Index,
           kept: list[facts.MmcvRequirement], mmcv: Requirement | None,
           usable_only: bool = True) -> Found | None:
    """The newest set (module docstring); with ``usable_only`` False, releases known to fail count too."""
    best: Found | None = None
    for release in target_releases(env, kept, mmcv, usable_only):
        picked, steps = {}, 0
        for name, versions in candidates.items():
            hit = newest_accepting(name, versions, release, index)
            if hit is None:
                break
            steps += hit[0]
            picked[name] = hit[1]
        else:
            if best is None or steps < best.steps:
                best = Found(picked, release, steps)
            if steps == 0:
                break
    return best


def target_releases(env: Environment, kept: list[facts.MmcvRequirement], mmcv: Requirement | None,
                    usable_only: bool) -> list[facts.MmcvRelease]:
    """The mmcv releases a set may be built on, most preferred first."""
    releases = preferred_releases(env)
    if mmcv is not None:
        package = canonicalize_name(mmcv.name)
        pinned = [s.version for s in mmcv.specifier if s.operator in ("==", "===")]
        if pinned and not any(r.package == package and str(r.version) == pinned[0] for r in releases):
            releases = [r for r in [facts.needs_of(package, pinned[0])] if r is not None]
        releases = [r for r in releases if r.package == package and mmcv.specifier.contains(r.version, True)]
    releases = [r for r in releases if all(q.admits(r) for q in kept)]
    return [r for r in releases if not (usable_only and judge_release(r, env).blocks)]


def newest_accepting(name: str, versions: list[str], release: facts.MmcvRelease,
                     index: Index) -> tuple[int, DownstreamBounds] | None:
    """(steps back, bounds) of the newest of ``versions`` that accepts ``release``; None when none
    of the first SCAN_DEPTH does, or one says older ones will not either (they require older mmcv)."""
    for steps, version in enumerate(versions[:SCAN_DEPTH]):
        bounds = index.bounds(name, version)
        if accepts(bounds, release):
            return steps, bounds
        if older_will_not(bounds, release):
            return None
    return None


def accepts(bounds: DownstreamBounds, release: facts.MmcvRelease) -> bool:
    return requirement_of(bounds).admits(release)


def requirement_of(bounds: DownstreamBounds) -> facts.MmcvRequirement:
    return facts.MmcvRequirement(bounds.label, bounds.mmcv_package, SpecifierSet(bounds.mmcv))


def older_will_not(bounds: DownstreamBounds, release: facts.MmcvRelease) -> bool:
    """Whether releases older than ``bounds``' cannot accept ``release`` either: OpenMMLab packages
    only ever move to newer mmcv (mmcv-full 1.x -> mmcv 2.x), and a fork stays on the fork."""
    if not bounds.uses_mmcv:
        return True
    if bounds.mmcv_package != release.package:
        return not (bounds.mmcv_package == "mmcv" and release.package == "mmcv-full")
    uppers = [s for s in SpecifierSet(bounds.mmcv) if s.operator in ("<", "<=")]
    return any(not s.contains(release.version, prereleases=True) for s in uppers)


def assemble(requests: list[Requirement], split: Split, found: Found, env: Environment, index: Index,
             kept: list[facts.MmcvRequirement]) -> StackResolution:
    """The resolution of a set that fits: the planner's mmcv for it, mmengine, and for mmcv-full the
    torchvision that fits torch (to install), else the planner's torchvision findings."""
    wanted = [requirement_of(b) for b in found.picked.values()] + kept + _user_mmcv(split.mmcv)
    choice, findings = choose_mmcv_for(env, wanted)
    picked = list(found.picked.values())
    mmengine, engine_findings = choose_mmengine(picked, choice.package, split.mmengine, index)
    findings = findings + engine_findings
    torchvision = torchvision_to_install(env, choice, tuple(b.name for b in picked))
    if torchvision is None and not has_errors(findings):
        findings += check_torchvision(env, choice).findings
    pins = [DownstreamPin(b.name, b.version, b) for b in found.picked.values()]
    return StackResolution([str(q) for q in requests], pins, choice.requirement, mmengine,
                           [str(q) for q in split.others], findings, choice.reason,
                           *(torchvision or (None, None)))


def _user_mmcv(mmcv: Requirement | None) -> list[facts.MmcvRequirement]:
    if mmcv is None:
        return []
    return [facts.MmcvRequirement(f"the request {mmcv}", canonicalize_name(mmcv.name), mmcv.specifier)]


def choose_mmengine(picked: list[DownstreamBounds], mmcv_package: str, requested: list[Requirement],
                    index: Index) -> tuple[str | None, list[Finding]]:
    """The newest mmengine every package accepts; None where nothing needs one (the mmcv-full world)."""
    specs = [(b.label, b.mmengine) for b in picked if b.mmengine]
    specs += [(f"the request {q}", str(q.specifier)) for q in requested]
    if not specs and mmcv_package == "mmcv-full":
        return None, []
    names = [b.mmengine_package for b in picked if b.mmengine_package]
    names += [canonicalize_name(q.name) for q in requested]
    package = names[0] if names else "mmengine"
    together = SpecifierSet(",".join(s for _, s in specs if s))
    fits = list(together.filter(index.versions(package)))
    if not fits:
        bounds = "; ".join(f"{who} requires {package}{spec}" for who, spec in specs)
        return None, [finding("stack-conflict", message_key="no_mmengine_fits", package=package,
                              bounds=bounds)]
    return f"{package}=={fits[0]}", []


def _uses_mmcv(q: Requirement, index: Index) -> bool:
    """Whether the newest matching release of an unlisted ``mm*`` / ``onedl-*`` package uses mmcv."""
    return index.bounds(q.name, candidate_versions(q, index)[0]).uses_mmcv
