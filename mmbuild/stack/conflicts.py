"""When no set fits: the error naming every package and bound involved, and the nearest sets
that work (each requirement's pin dropped, or the requirement itself, one at a time).

Two cases. Some set fits only an mmcv release known to fail with this torch or Python: the
planner's own finding says so, with its reason. No mmcv release fits at all: ``stack-conflict``.
"""

from __future__ import annotations

from dataclasses import replace

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mmbuild.knowledge import mmcv_versions as facts
from mmbuild.model.environment import Environment
from mmbuild.model.findings import Finding, finding
from mmbuild.model.stack import StackResolution
from mmbuild.stack.resolve import Found, Index, Split, assemble, search


def unresolved(requests: list[Requirement], split: Split, candidates: dict[str, list[str]],
               env: Environment, index: Index, kept: list[facts.MmcvRequirement]) -> StackResolution:
    """The resolution of a request no buildable set satisfies: error findings, nothing pinned."""
    nearest = nearest_sets(split, candidates, env, index, kept)
    blocked = search(candidates, env, index, kept, split.mmcv, usable_only=False)
    if blocked is not None:     # the planner's finding says why the release fails here
        resolution = assemble(requests, split, blocked, env, index, kept)
        return replace(resolution, findings=resolution.findings + _nearest_finding(nearest))
    nearest_text = " | ".join(nearest) if nearest else "none found by dropping one requirement or its pin"
    conflict = finding("stack-conflict", message_key="no_release_fits",
                       bounds="; ".join(involved(split, candidates, index, kept)), nearest=nearest_text)
    others = [str(q) for q in split.others]
    return StackResolution([str(q) for q in requests], [], "", None, others, [conflict])

def involved(split: Split, candidates: dict[str, list[str]], index: Index,
             kept: list[facts.MmcvRequirement]) -> list[str]:
    """Each requirement and the mmcv bound it brings (its newest matching release's, and where read)."""
    lines = []
    for q in split.users:
        versions = candidates[canonicalize_name(q.name)]
        bounds = index.bounds(q.name, versions[0])
        newest = f" (newest match {bounds.version})" if len(versions) > 1 else ""
        spec = f"{bounds.mmcv_package}{bounds.mmcv}" if bounds.mmcv else f"any {bounds.mmcv_package}"
        lines.append(f"{q}{newest} requires {spec} ({', '.join(bounds.sources) or 'no bound stated'})")
    lines += [f"installed {q}" for q in kept]
    if split.mmcv is not None:
        lines.append(f"the request {split.mmcv}")
    return lines


def nearest_sets(split: Split, candidates: dict[str, list[str]], env: Environment, index: Index,
                 kept: list[facts.MmcvRequirement]) -> list[str]:
    """The sets that work with one requirement's pin dropped, or one requirement left out."""
    found = []
    for q in split.users:
        name = canonicalize_name(q.name)
        if str(q.specifier):
            unpinned = {**candidates, name: index.versions(q.name)}
            hit = search(unpinned, env, index, kept, split.mmcv)
            if hit is not None:
                found.append(f"without the pin {q}: {_describe(hit)}")
        if len(candidates) > 1:
            rest = {k: v for k, v in candidates.items() if k != name}
            hit = search(rest, env, index, kept, split.mmcv)
            if hit is not None:
                found.append(f"without {q.name}: {_describe(hit)}")
    if split.mmcv is not None:
        hit = search(candidates, env, index, kept, None)
        if hit is not None:
            found.append(f"without the request {split.mmcv}: {_describe(hit)}")
    return found


def _describe(found: Found) -> str:
    pins = ", ".join(f"{b.name}=={b.version}" for b in found.picked.values())
    return f"{pins} with {found.release.package}=={found.release.version}"


def _nearest_finding(nearest: list[str]) -> list[Finding]:
    if not nearest:
        return []
    return [finding("stack-conflict", "info", message_key="nearest_sets", nearest=" | ".join(nearest))]
