"""Findings about an Environment that do not depend on the toolchain a plan chooses.

Pure: reads the Environment and the knowledge tables only. The toolchain's own checks (toolkit,
host compiler, MSVC) are made once, by the plan's steps for the toolkit and compiler they choose;
``mmbuild env`` reports the findings of the plan for default options, so both say the same.
"""

from __future__ import annotations

from packaging.version import Version

from mmbuild.knowledge import cuda as cuda_facts
from mmbuild.knowledge.versions import parse_version
from mmbuild.model.environment import MMCV_WITH_OPS, Environment
from mmbuild.model.findings import Finding, finding
from mmbuild.plan.mmcv_version import downstream_requirements
from mmbuild.plan.toolchain import host_toolchain


def environment_findings(env: Environment) -> list[Finding]:
    """The problems of torch, the OS and the installed packages, each with a one-line fix."""
    findings: list[Finding] = []
    findings += _torch_findings(env)
    findings += host_toolchain(env).host_findings(env)
    findings += _package_findings(env)
    findings += installed_mmcv_refusals(env)
    return findings


def wants_cuda(env: Environment) -> bool:
    """Whether this torch asks for a CUDA build (it was built with CUDA)."""
    return bool(env.torch and env.torch.cuda)


def _torch_findings(env: Environment) -> list[Finding]:
    torch = env.torch
    if torch is None:
        return [
            finding("build-isolation-no-torch")
        ]
    if torch.cuda:
        return []
    findings = [
        finding("not-compiled-with-gpu", "info", message_key="cpu_torch", torch=torch.version)
    ]
    if env.gpus:
        names = ", ".join(sorted({g.name for g in env.gpus}))
        findings.append(
            finding("torch-cuda-unavailable", "warning", message_key="cpu_wheel_with_gpus", gpus=names,
                    torch=torch.version, torch_release=torch.version.split("+")[0])
        )
    return findings


def driver_findings(env: Environment, toolkit_version: str | None) -> list[Finding]:
    """``driver-too-old`` for the toolkit the build uses, else for torch's own CUDA runtime."""
    if env.driver is None or not env.gpus:
        return []
    cuda_versions = [("the CUDA toolkit", toolkit_version)] if toolkit_version else []
    if wants_cuda(env):
        cuda_versions.append(("torch's CUDA runtime", env.torch.cuda))
    for what, cuda_version in cuda_versions:
        driver = driver_finding(env.driver.version, cuda_version, what)
        if driver:
            return [driver]
    return []


def driver_finding(driver_text: str, cuda_version: str | None, what: str) -> Finding | None:
    """``driver-too-old`` when ``driver_text`` cannot run code from CUDA ``cuda_version``, else None."""
    driver = parse_version(driver_text)
    if driver is None:
        return None
    floor = cuda_facts.minor_compat_floor(cuda_version)
    minimum = cuda_facts.min_driver(cuda_version)
    if minimum and driver >= Version(minimum):
        return None
    if floor and driver < Version(floor):
        return finding("driver-too-old", message_key="below_floor", driver=driver_text, floor=floor,
                       cuda_major=cuda_version.split(".")[0], what=what, cuda=cuda_version,
                       needed=minimum or floor)
    if minimum:
        return finding("driver-too-old", "warning", message_key="no_ptx_jit", driver=driver_text,
                       minimum=minimum, cuda=cuda_version, what=what, needed=minimum)
    return None


def _package_findings(env: Environment) -> list[Finding]:
    installed = {name for name, version in env.packages.items() if version}
    findings: list[Finding] = []
    with_ops = [name for name in MMCV_WITH_OPS if name in installed]
    if len(with_ops) > 1:
        labels = [f"{name} {env.packages[name]}" for name in with_ops]
        listed = ", ".join(labels[:-1]) + f" and {labels[-1]}"
        findings.append(
            finding("mmcv-dual-install", "warning", both="both " if len(labels) == 2 else "", listed=listed,
                    with_ops=" ".join(with_ops))
        )
    if "mmcv-lite" in installed:
        findings.append(
            finding("mmcv-ops-missing", "info", message_key="mmcv_lite", version=env.packages["mmcv-lite"])
        )
    return findings


def installed_mmcv_refusals(env: Environment) -> list[Finding]:
    """``mmcv-version-incompatible`` for each installed package that refuses the installed mmcv.

    The bounds are those the package checks at import (``mmcv_minimum_version`` ...), else the
    tables: the user meets them as ``MMCV==x is used but incompatible`` when importing it.
    """
    installed = [(name, env.packages[name]) for name in MMCV_WITH_OPS if env.packages.get(name)]
    findings: list[Finding] = []
    for package, version in installed:
        release_version = parse_version(version)
        if release_version is None:
            continue
        for requirement in downstream_requirements(env):
            accepted = requirement.spec.contains(release_version, prereleases=True)
            if requirement.package == package and accepted:
                continue
            findings.append(finding("mmcv-version-incompatible", "warning", message_key="installed_refused",
                                    downstream=requirement.downstream, package=package, version=version,
                                    requirement=f"{requirement.package}{requirement.spec}"))
    return findings
