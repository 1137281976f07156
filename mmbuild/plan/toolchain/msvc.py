"""MSVC on Windows: the compiler choice, and what the build needs from a Windows host.

MSVC is the only host compiler nvcc accepts on Windows, so the choice is about the C++ standard:
the one torch asks for, else its fallback where the installed Visual Studio cannot do it. The build
also needs ``DISTUTILS_USE_SDK`` (the developer prompt's compiler, not distutils' own search),
MSVC's conforming preprocessor from CUDA 13.2 on, and for torch 1.5-1.7 a patch of torch's headers.
"""

from __future__ import annotations

import shlex

from packaging.version import Version

from mmbuild.knowledge import compilers as facts
from mmbuild.knowledge import torch_facts
from mmbuild.knowledge.versions import parse_version
from mmbuild.model.build_plan import Decision
from mmbuild.model.environment import Compiler, Environment
from mmbuild.model.findings import Finding, finding
from mmbuild.plan.compiler import CompilerChoice, compiler_id_of, nvcc_problem
from mmbuild.plan.toolchain.settings import PlatformSettings

# CUDA >= this on Windows needs MSVC's conforming preprocessor.
MSVC_PREPROCESSOR_CUDA = Version("13.2")

# torch releases whose headers nvcc + MSVC cannot compile, and the header patch for each (mmcv FAQ).
TORCH_WINDOWS_PATCHES = {
    (1, 5): "torch15-all-slots",
    (1, 6): "torch16-in-class-initializer",
    (1, 7): "torch17-profile-kind",
}


class MsvcToolchain:
    """MSVC (cl.exe) from Visual Studio; arguments split as mmcv's setup.py does on Windows."""

    name = "msvc"
    path_separator = ";"

    def choose_compiler(self, env: Environment, cuda_version: str | None,
                        requested_cxx: str | None) -> CompilerChoice:
        """Standard and MSVC for this build (``--cxx`` does not apply: nvcc takes only MSVC here)."""
        torch_version = env.torch.version if env.torch else None
        rule = torch_facts.cxx_std_rule(torch_version)
        msvc = env.compilers.msvc
        if msvc is None:
            return CompilerChoice(rule.std, None, "no MSVC found", f"torch {torch_version} needs {rule.std}",
                                  findings=[finding("msvc-unsupported", message_key="no_msvc")])
        label = f"{facts.vs_name(msvc.msc_ver)} (MSVC {msvc.msc_ver})" if msvc.msc_ver else "MSVC"
        findings: list[Finding] = []
        std, std_reason = rule.std, f"torch {torch_version} needs {rule.std}"
        problems = msvc_problems(msvc.msc_ver, std, cuda_version)
        if problems and rule.fallback and "msvc" not in rule.fallback_fails_with:
            fallback_problems = msvc_problems(msvc.msc_ver, rule.fallback, cuda_version)
            if len(fallback_problems) < len(problems):
                findings.append(finding("cxx-standard", "warning", message_key="msvc_std_fallback",
                                        std=rule.fallback, problem=problems[0].message))
                std, problems = rule.fallback, fallback_problems
                std_reason = (f"{rule.std} not possible with {label}, "
                              f"torch {torch_version} still builds with {std}")
        findings += problems + nvcc_problem(std, cuda_version)
        compiler = Compiler("msvc", msvc.version, msvc.path or "cl.exe")
        return CompilerChoice(std, compiler, label, std_reason, findings=findings)

    def compiler_id(self, env: Environment, host_compiler: str | None) -> dict:
        if env.compilers.msvc:
            return {"kind": "msvc", "version": env.compilers.msvc.version}
        return compiler_id_of(env, host_compiler)

    def pch_support(self, compiler: Compiler | None) -> str | None:
        return "not wired for MSVC (/Yc, /Yu)"

    def narrow_includes_support(self) -> str | None:
        return "not wired on Windows (nvcc's compile wrapper is not tried under MSVC's build)"

    def rejects_clang_only_flags(self, compiler: Compiler | None) -> bool:
        return False  # distutils' MSVC compiler takes no sysconfig CFLAGS

    def accepts_toolkit(self, env: Environment, cuda_version: str | None) -> bool:
        """Whether nvcc ``cuda_version`` accepts this machine's MSVC (an unknown one counts as accepted)."""
        msvc = env.compilers.msvc
        accepted = facts.msvc_range(cuda_version)
        return msvc is None or msvc.msc_ver is None or accepted is None or (
            accepted.msc_min <= msvc.msc_ver <= accepted.msc_max)

    def platform_settings(self, env: Environment, target: str, cuda_version: str | None,
                          patch_torch: bool) -> PlatformSettings:
        """DISTUTILS_USE_SDK, the conforming preprocessor for new nvcc, the torch-header patch if any."""
        settings = PlatformSettings(build_env={"DISTUTILS_USE_SDK": "1"})
        if target == "cuda" and (parse_version(cuda_version) or Version("0")) >= MSVC_PREPROCESSOR_CUDA:
            settings.cuda_args += ["-Xcompiler", "/Zc:preprocessor"]
            settings.decisions.append(Decision("MSVC preprocessor", "/Zc:preprocessor",
                                               f"CUDA {cuda_version} needs MSVC's conforming preprocessor"))
        header_patch = torch_header_patch(env, target)
        if header_patch:
            settings.findings.append(
                finding(header_patch, "info" if patch_torch else "warning", message_key="torch_header_patch",
                        torch=env.torch.version, patch=header_patch))
            settings.patches.append(header_patch)
        return settings

    def host_findings(self, env: Environment) -> list[Finding]:
        """Windows' 260-character path limit, when the report says it is on."""
        return [finding("windows-long-paths")] if env.os.long_paths is False else []

    def debug_flags_ignored(self) -> str | None:
        return "MSVC adds debug info only with /Zi or /Z7, which the build does not pass"

    def split_args(self, text: str | None) -> list[str]:
        return shlex.split(text or "", posix=False)

    def join_args(self, tokens: list[str]) -> str:
        return " ".join(tokens)


def msvc_problems(msc_ver: int | None, std: str, cuda_version: str | None) -> list[Finding]:
    """Why MSVC ``msc_ver`` cannot build mmcv with ``std`` (and nvcc ``cuda_version`` when not None)."""
    if msc_ver is None:
        return []
    problems: list[Finding] = []
    have = facts.vs_name(msc_ver)
    accepted = facts.msvc_range(cuda_version) if cuda_version else None
    if accepted and not accepted.msc_min <= msc_ver <= accepted.msc_max:
        problems.append(
            finding("msvc-unsupported", message_key="outside_cuda_range", have=have, msc_ver=msc_ver,
                    cuda=cuda_version, msc_min=accepted.msc_min, msc_max=accepted.msc_max, vs=accepted.vs)
        )
    need = torch_facts.std_requirement(std).msc_ver
    if msc_ver < need and accepted:
        problems.append(finding("cxx-standard", message_key="msvc_too_old", have=have, msc_ver=msc_ver,
                                std=std, need=facts.vs_name(need), vs=accepted.vs))
    elif msc_ver < need:
        problems.append(finding("cxx-standard", message_key="msvc_too_old_any_vs", have=have, msc_ver=msc_ver,
                                std=std, need=facts.vs_name(need)))
    return problems


def torch_header_patch(env: Environment, target: str) -> str | None:
    """The torch header patch id this torch needs for a CUDA build with nvcc and MSVC, if any."""
    if target != "cuda" or env.torch is None:
        return None
    version: Version | None = parse_version(env.torch.version)
    if version is None:
        return None
    return TORCH_WINDOWS_PATCHES.get((version.major, version.minor))
