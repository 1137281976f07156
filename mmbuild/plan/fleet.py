"""One plan for a fleet: build once on the first node, run on every node.

The arch list is the union of every node's GPUs (unless ``--arch`` or the build node's
TORCH_CUDA_ARCH_LIST says otherwise) and THREADS_PER_BLOCK fits the tightest device. Each node's own
problems are checked too, and every such finding names its node: a node whose torch, Python or
platform differs from the build node cannot load the wheel; a node whose driver is older than the
build toolkit needs cannot run its kernels.
"""

from __future__ import annotations

import dataclasses

from mmbuild.buildplan import BuildPlan, Decision
from mmbuild.env_findings import driver_finding, environment_findings
from mmbuild.environment import Environment
from mmbuild.errors import UsageError
from mmbuild.findings import Finding
from mmbuild.options import BuildOptions
from mmbuild.plan.arch_list import format_arch_list
from mmbuild.plan.cuda_args import gpu_specs
from mmbuild.plan.make import make_plan


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
        if f.severity != "info" and f.id not in ("gcc-unsupported", "msvc-unsupported", "cuda-home-missing")
    ]
    for what, mine, theirs in _runtime_differences(env, build_env):
        findings.append(
            Finding(
                "undefined-symbol",
                "error",
                f"{name}: {what} is {mine}, the build node has {theirs}: the wheel will not load there",
                f"give {name} the build node's {what}, or plan a separate build for it",
            )
        )
    if plan.target == "cuda" and env.driver and env.gpus:
        toolkit_version = next((t.version for t in build_env.cuda_toolkits if t.home == plan.cuda_home), None)
        finding = driver_finding(env.driver.version, toolkit_version, "the build toolkit")
        if finding:
            findings.append(dataclasses.replace(finding, message=f"{name}: {finding.message}"))
    return findings


def _runtime_differences(env: Environment, build_env: Environment) -> list[tuple[str, str, str]]:
    def torch_id(e: Environment) -> str:
        return f"{e.torch.version} (CUDA {e.torch.cuda})" if e.torch else "no torch"

    def python_id(e: Environment) -> str:
        return ".".join(e.python.version.split(".")[:2])

    pairs = [
        ("torch", torch_id(env), torch_id(build_env)),
        ("Python", python_id(env), python_id(build_env)),
        ("platform", f"{env.os.system}/{env.os.machine}", f"{build_env.os.system}/{build_env.os.machine}"),
    ]
    return [p for p in pairs if p[1] != p[2]]
