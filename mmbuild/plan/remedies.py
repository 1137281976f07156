"""Automatic remedies: a build failure the catalogue names, turned into one option change for a retry.

Each remedy is data for the pipeline: the problem id it answers, and a pure function of the plan,
the environment and the facts the catalogue extracted from the log that returns the options to
change (or None when it has nothing left to try). The pipeline applies a remedy at most once per
problem and plans again with the changed options.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mmbuild.knowledge.arch import Arch
from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment


@dataclass(frozen=True)
class Remedy:
    changes: dict[str, object] = field(default_factory=dict)    # BuildOptions fields to replace
    message: str = ""


def halve_jobs(plan: BuildPlan, env: Environment | None, extracted: dict) -> Remedy | None:
    if plan.max_jobs <= 1:
        return None
    jobs = max(1, plan.max_jobs // 2)
    return Remedy({"jobs": jobs}, f"the compiler ran out of memory: halving the jobs to {jobs}")


def fallback_arches(plan: BuildPlan, bad: str) -> list[str]:
    """The plan's arches with ``bad`` (``compute_86`` / ``sm_86``) replaced by the newest older minor of
    its major that the plan's toolkit supports; [] when there is none."""
    unsupported = Arch.parse(bad)
    if unsupported is None:
        return []
    toolkits = [plan.toolchain.toolkit] if plan.toolchain and plan.toolchain.toolkit else []
    supported = {arch.base for t in toolkits for arch in map(Arch.parse, t.arches) if arch}
    older = sorted(a for a in supported if a.major == unsupported.major and a.minor < unsupported.minor)
    if not older:
        return []
    out: list[str] = []
    for entry in plan.arch_list:
        base = entry.replace("+PTX", "")
        arch = Arch.parse(base)
        keep = str(older[-1]) if arch and arch.base == unsupported.base else base
        if keep not in out:
            out.append(keep)
    return out if out != [e.replace("+PTX", "") for e in plan.arch_list] else []


def older_arch(plan: BuildPlan, env: Environment | None, extracted: dict) -> Remedy | None:
    bad = extracted.get("arch", "")
    arches = fallback_arches(plan, bad)
    if not arches:
        return None
    return Remedy({"arch": ",".join(arches)},
                  f"nvcc does not support {bad}: building for {', '.join(arches)}")


REMEDIES: dict[str, Callable[[BuildPlan, Environment | None, dict], Remedy | None]] = {
    "compiler-oom": halve_jobs,
    "nvcc-arch-unsupported": older_arch,
}


def remedy_for(problem_id: str | None, plan: BuildPlan, env: Environment | None,
               extracted: dict) -> Remedy | None:
    """The remedy for a failed build's problem, or None."""
    answer = REMEDIES.get(problem_id or "")
    return answer(plan, env, extracted) if answer else None
