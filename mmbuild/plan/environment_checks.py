"""Findings about an Environment on its own, before any build option is considered.

Pure: reads the Environment and the knowledge tables only. Severity follows what the machine can
still do: a problem that only stops a CUDA build is an error when a CUDA build is what this torch
asks for, and a warning otherwise. ``mmbuild plan`` re-checks the toolchain it actually chooses.
"""

from __future__ import annotations

from packaging.version import Version

from mmbuild.environment import MMCV_WITH_OPS, Compiler, Environment
from mmbuild.findings import Finding
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
            Finding(
                "build-isolation-no-torch",
                "error",
                "torch is not installed in this Python, so mmcv's setup.py would skip every op",
                "pip install torch (the version your projects need), then run mmbuild again",
            )
        ]
    if torch.cuda:
        return []
    findings = [
        Finding(
            "not-compiled-with-gpu",
            "info",
            f"torch {torch.version} is a CPU-only build: CUDA ops cannot be built against it, "
            "so mmcv gets CPU ops only",
            "install a CUDA build of torch (https://pytorch.org/get-started/locally/) to get CUDA ops",
        )
    ]
    if env.gpus:
        names = ", ".join(sorted({g.name for g in env.gpus}))
        findings.append(
            Finding(
                "torch-cuda-unavailable",
                "warning",
                f"this machine has GPUs ({names}) but torch {torch.version} is the CPU-only wheel",
                f"pip install torch=={torch.version.split('+')[0]} --index-url "
                "https://download.pytorch.org/whl/<cuXYZ> (the CUDA build matching your driver)",
            )
        )
    return findings


def _toolkit_findings(env: Environment) -> list[Finding]:
    findings: list[Finding] = []
    severity = "error" if wants_cuda(env) else "warning"
    cuda_home = env.env_vars.get("CUDA_HOME")
    choice = choose_toolkit(env)
    if choice.requested_home:
        findings.append(
            Finding(
                "cuda-home-missing",
                severity,
                f"CUDA_HOME={cuda_home} has no nvcc",
                "point CUDA_HOME at a CUDA toolkit folder (the one holding bin/nvcc), or unset it",
            )
        )
        return findings
    if not wants_cuda(env):
        return findings
    torch_cuda = env.torch.cuda
    if not env.cuda_toolkits:
        findings.append(
            Finding(
                "cuda-home-missing",
                "warning",
                f"torch {env.torch.version} is built for CUDA {torch_cuda} but no CUDA toolkit (nvcc) was "
                "found: only CPU ops can be built",
                f"install the CUDA {torch_cuda} toolkit and set CUDA_HOME to it",
            )
        )
    elif choice.toolkit is None:
        found = ", ".join(f"{t.version} ({t.home})" for t in env.cuda_toolkits)
        findings.append(
            Finding(
                "cuda-version-mismatch",
                "warning",
                f"torch is built for CUDA {torch_cuda} but the installed toolkits are {found}: torch refuses "
                "a toolkit of another major version, so only CPU ops can be built",
                f"install the CUDA {torch_cuda} toolkit, or a torch built for your toolkit's CUDA version",
            )
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
        finding = driver_finding(env.driver.version, cuda_version, what)
        if finding:
            findings.append(finding)
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
    fix = f"update the NVIDIA driver to {minimum or floor} or newer (or use an older CUDA)"
    if floor and driver < Version(floor):
        return Finding(
            "driver-too-old",
            "error",
            f"driver {driver_text} is older than {floor}, the least any CUDA {cuda_version.split('.')[0]}.x "
            f"code needs ({what} is CUDA {cuda_version})",
            fix,
        )
    if minimum:
        return Finding(
            "driver-too-old",
            "warning",
            f"driver {driver_text} is older than {minimum}, the driver of CUDA {cuda_version} "
            f"({what}): compiled "
            "kernels run, but PTX from this toolkit cannot be JIT-compiled",
            fix,
        )
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
                    f"GCC {cxx.version} is newer than CUDA {toolkit.version} accepts (GCC {limit} at most)",
                    good,
                    f"g++-{limit}",
                )
            )
    return findings


def _gcc_finding(problem: str, good: list[Compiler], package: str) -> Finding:
    if good:
        best = max(good, key=lambda c: parse_version(c.version) or Version("0"))
        return Finding(
            "gcc-unsupported",
            "warning",
            f"{problem}; {best.path} ({best.version}) is usable",
            f"mmbuild selects {best.path} through CC/CXX (or pass --cxx {best.path})",
        )
    return Finding(
        "gcc-unsupported",
        "error",
        problem,
        f"install a supported GCC (e.g. apt install {package}) and pass --cxx /usr/bin/{package}",
    )


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
        Finding(
            "msvc-unsupported",
            "error" if wants_cuda(env) else "warning",
            f"{have} (MSVC {msvc.msc_ver}) is outside what CUDA {toolkit.version} accepts "
            f"(_MSC_VER {accepted.msc_min}-{accepted.msc_max}, {accepted.vs})",
            f"install the build tools of {accepted.vs.split('(')[0].strip()} and run from its "
            "developer prompt, "
            "or use a CUDA release that supports your Visual Studio",
        )
    ]


def _long_path_findings(env: Environment) -> list[Finding]:
    if env.os.system != "Windows" or env.os.long_paths is not False:
        return []
    return [
        Finding(
            "windows-long-paths",
            "warning",
            "long paths are disabled on this Windows: mmcv's deep source and build folders can exceed "
            "260 characters and fail with 'No such file or directory' or 'The filename or extension is "
            "too long'",
            "enable them (as administrator: reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem "
            "/v LongPathsEnabled /t REG_DWORD /d 1 /f) or set MMBUILD_CACHE_DIR to a short folder "
            "such as C:\\mmb",
        )
    ]


def _package_findings(env: Environment) -> list[Finding]:
    installed = {name for name, version in env.packages.items() if version}
    findings: list[Finding] = []
    with_ops = [name for name in MMCV_WITH_OPS if name in installed]
    if len(with_ops) > 1:
        labels = [f"{name} {env.packages[name]}" for name in with_ops]
        listed = ", ".join(labels[:-1]) + f" and {labels[-1]}"
        findings.append(
            Finding(
                "mmcv-dual-install",
                "warning",
                f"{'both ' if len(labels) == 2 else ''}{listed} are installed: they share the 'mmcv' "
                "package folder and break each other",
                f"pip uninstall -y {' '.join(with_ops)}, then install the one you need (mmbuild install)",
            )
        )
    if "mmcv-lite" in installed:
        findings.append(
            Finding(
                "mmcv-ops-missing",
                "info",
                f"mmcv-lite {env.packages['mmcv-lite']} is installed: it has no compiled ops (mmcv.ops)",
                "pip uninstall -y mmcv-lite, then mmbuild install",
            )
        )
    return findings
