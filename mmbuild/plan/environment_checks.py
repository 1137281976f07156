"""Findings about an Environment on its own, before any build option is considered.

Pure: reads the Environment and the knowledge tables only. Severity follows what the machine can
still do: a problem that only stops a CUDA build is an error when a CUDA build is what this torch
asks for, and a warning otherwise. ``mmbuild plan`` re-checks the toolchain it actually chooses.
"""

from __future__ import annotations

from packaging.version import Version

from mmbuild.environment import MMCV_WITH_OPS, Compiler, Environment
from mmbuild.findings import Finding, finding
from mmbuild.knowledge import compilers as compiler_facts
from mmbuild.knowledge import cuda as cuda_facts
from mmbuild.knowledge.versions import parse_version
from mmbuild.plan.toolkit import choose_toolkit


def environment_findings(env: Environment) -> list[Finding]:
    """Every problem the Environment shows, each with a one-line fix."""
    findings: list[Finding] = []
    findings += _torch_findings(env)
    findings += _toolkit_findings(env)
    findings += _driver_findings(env)
    findings += _gcc_findings(env)
    findings += _msvc_findings(env)
    findings += _long_path_findings(env)
    findings += _package_findings(env)
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


def _toolkit_findings(env: Environment) -> list[Finding]:
    findings: list[Finding] = []
    severity = "error" if wants_cuda(env) else "warning"
    cuda_home = env.env_vars.get("CUDA_HOME")
    choice = choose_toolkit(env)
    if choice.requested_home:
        findings.append(
            finding("cuda-home-missing", severity, message_key="cuda_home_no_nvcc", cuda_home=cuda_home)
        )
        return findings
    if not wants_cuda(env):
        return findings
    torch_cuda = env.torch.cuda
    if not env.cuda_toolkits:
        findings.append(
            finding("cuda-home-missing", "warning", message_key="no_toolkit", torch=env.torch.version,
                    cuda=torch_cuda)
        )
    elif choice.toolkit is None:
        found = ", ".join(f"{t.version} ({t.home})" for t in env.cuda_toolkits)
        findings.append(
            finding("cuda-version-mismatch", "warning", message_key="no_matching_toolkit", cuda=torch_cuda,
                    found=found, toolkit=env.cuda_toolkits[0].version)
        )
    return findings


def _driver_findings(env: Environment) -> list[Finding]:
    if env.driver is None or not env.gpus:
        return []
    findings: list[Finding] = []
    toolkit = choose_toolkit(env).toolkit
    cuda_versions = [("the CUDA toolkit", toolkit.version)] if toolkit else []
    if wants_cuda(env):
        cuda_versions.append(("torch's CUDA runtime", env.torch.cuda))
    for what, cuda_version in cuda_versions:
        driver = driver_finding(env.driver.version, cuda_version, what)
        if driver:
            findings.append(driver)
            break
    return findings


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


def _gcc_findings(env: Environment) -> list[Finding]:
    cxx = env.compilers.cxx
    if cxx is None or cxx.kind != "gcc" or env.os.system == "Windows":
        return []
    findings: list[Finding] = []
    others = [c for c in env.compilers.candidates if c.kind == "gcc" and c.path != cxx.path]
    faq_problem = compiler_facts.gcc_faq_problem(cxx.version)
    if faq_problem:
        good = [c for c in others if compiler_facts.gcc_faq_problem(c.version) is None]
        findings.append(_gcc_finding(faq_problem, good, "g++-9"))
    toolkit = choose_toolkit(env).toolkit
    if toolkit is not None and wants_cuda(env):
        limit = compiler_facts.host_compiler_too_new("gcc", cxx.version, toolkit.version)
        if limit is not None:
            good = [
                c
                for c in others
                if compiler_facts.host_compiler_too_new("gcc", c.version, toolkit.version) is None
                and compiler_facts.gcc_faq_problem(c.version) is None
            ]
            findings.append(
                _gcc_finding(
                    finding("gcc-unsupported", message_key="too_new_for_cuda", gcc=cxx.version,
                            cuda=toolkit.version, limit=limit).message,
                    good,
                    f"g++-{limit}",
                )
            )
    return findings


def _gcc_finding(problem: str, good: list[Compiler], package: str) -> Finding:
    if good:
        best = max(good, key=lambda c: parse_version(c.version) or Version("0"))
        return finding("gcc-unsupported", "warning", message_key="other_gcc_usable", problem=problem,
                       path=best.path, version=best.version)
    return finding("gcc-unsupported", message_key="no_gcc_usable", problem=problem, package=package)


def _msvc_findings(env: Environment) -> list[Finding]:
    msvc = env.compilers.msvc
    if env.os.system != "Windows" or msvc is None or msvc.msc_ver is None:
        return []
    toolkit = choose_toolkit(env).toolkit
    if toolkit is None:
        return []
    accepted = compiler_facts.msvc_range(toolkit.version)
    if accepted is None or accepted.msc_min <= msvc.msc_ver <= accepted.msc_max:
        return []
    have = compiler_facts.vs_name(msvc.msc_ver)
    return [
        finding("msvc-unsupported", "error" if wants_cuda(env) else "warning",
                message_key="outside_cuda_range", have=have, msc_ver=msvc.msc_ver, cuda=toolkit.version,
                msc_min=accepted.msc_min,
                msc_max=accepted.msc_max, vs=accepted.vs, vs_short=accepted.vs.split("(")[0].strip())
    ]


def _long_path_findings(env: Environment) -> list[Finding]:
    if env.os.system != "Windows" or env.os.long_paths is not False:
        return []
    return [
        finding("windows-long-paths")
    ]


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
