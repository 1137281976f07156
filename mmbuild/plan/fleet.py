"""One plan for a fleet: build once on the first node, run on every node.

The arch list is the union of every node's GPUs (unless ``--arch`` or the build node's
TORCH_CUDA_ARCH_LIST says otherwise) and THREADS_PER_BLOCK fits the tightest device. Each node's own
problems are checked too, and every such finding names its node: a node the planned wheel does not
fit (mmbuild/wheels/fit.py: torch, Python, platform, C++ ABI, arches) cannot use it; a node whose
driver is older than the build toolkit needs cannot run its kernels.
"""

from __future__ import annotations

import dataclasses

from mmbuild.errors import UsageError
from mmbuild.model.build_plan import BuildPlan, Decision
from mmbuild.model.environment import Environment
from mmbuild.model.findings import Finding, finding
from mmbuild.model.identity import BuildIdentity
from mmbuild.model.options import BuildOptions
from mmbuild.plan.arch_list import format_arch_list
from mmbuild.plan.cuda_args import gpu_specs
from mmbuild.plan.environment_checks import driver_findings, environment_findings
from mmbuild.plan.make import make_plan
from mmbuild.wheels.fit import NodeFacts, mismatches


def plan_for_nodes(envs: list[Environment], options: BuildOptions, *, names: list[str] | None = None,
                   patch_digests: dict[str, str] | None = None) -> BuildPlan:
    """The plan for ``envs[0]``; with more than one environment, the fleet plan of them all."""
    if len(envs) > 1:
        return make_fleet_plan(envs, options, names=names, patch_digests=patch_digests)
    return make_plan(envs[0], options, patch_digests=patch_digests)


def make_fleet_plan(
    envs: list[Environment],
    options: BuildOptions,
    *,
    names: list[str] | None = None,
    patch_digests: dict[str, str] | None = None,
) -> BuildPlan:
    """The plan for building on ``envs[0]`` and running on all of ``envs``."""
    if not envs:
        raise UsageError("a fleet plan needs at least one environment report")
    names = names or [f"node {i + 1}" for i in range(len(envs))]
    build_env = envs[0]
    all_gpus = [gpu for env in envs for gpu in env.gpus]
    merged = dataclasses.replace(build_env, gpus=all_gpus)
    fleet_options = options
    if not options.arch and not build_env.env_vars.get("TORCH_CUDA_ARCH_LIST"):
        specs, _ = gpu_specs(all_gpus)
        if specs:
            fleet_options = dataclasses.replace(options, arch=format_arch_list(specs))
    plan = make_plan(merged, fleet_options, patch_digests=patch_digests)
    plan.decisions.insert(
        0, Decision("fleet", f"{len(envs)} nodes", f"built on {names[0]}, arches of every node")
    )
    for name, env in zip(names[1:], envs[1:]):
        plan.findings += _node_findings(name, env, build_env, plan)
    return plan


def _node_findings(name: str, env: Environment, build_env: Environment, plan: BuildPlan) -> list[Finding]:
    findings = [
        dataclasses.replace(f, message=f"{name}: {f.message}")
        for f in environment_findings(env)
        if f.severity != "info"
    ]
    wheel = planned_wheel(build_env, plan)
    for mismatch in mismatches(wheel, NodeFacts.from_environment(env)):
        if mismatch.what == "arches":
            findings.append(finding(mismatch.problem_id, "error", message_key="node_arches", name=name,
                                    text=mismatch.text))
        else:
            findings.append(finding(mismatch.problem_id, "error", message_key="node_mismatch", name=name,
                                    text=mismatch.text, what=mismatch.what))
    toolkit = plan.toolchain.toolkit if plan.toolchain else None
    toolkit_version = toolkit.version if toolkit else None
    findings += [dataclasses.replace(driver, message=f"{name}: {driver.message}")
                 for driver in driver_findings(env, toolkit_version if plan.target == "cuda" else None)]
    return findings


def planned_wheel(build_env: Environment, plan: BuildPlan) -> dict:
    """The build metadata keys the wheel-fits-node check reads, for the wheel ``plan`` will build."""
    return BuildIdentity.for_build(build_env, plan.target, plan.arch_list).metadata()
