"""The C++ standard and the host compiler, decided together.

The standard comes from torch (c++14 up to 2.0, c++17 for 2.1-2.11, c++20 from 2.12). C++20 also
needs nvcc >= 12.0 (CUDA builds) and GCC >= 10, Clang >= 11 or VS 2022; where the toolchain cannot
do C++20 and torch still compiles under C++17 (2.12, and 2.13 outside MSVC) the plan falls back with
a warning. The compiler: ``--cxx`` > the user's CXX > the default compiler > the newest candidate
that passes every check (mmcv's GCC rules, the CUDA toolkit's host-compiler limit, the standard),
chosen through CC/CXX.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.version import Version

from mmbuild.environment import Compiler, Environment
from mmbuild.findings import Finding, has_errors
from mmbuild.knowledge import compilers as facts
from mmbuild.knowledge import torch_facts
from mmbuild.knowledge.versions import parse_version


@dataclass
class CompilerChoice:
    cxx_std: str
    compiler: Compiler | None
    reason: str
    std_reason: str
    env: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def compiler_problems(compiler: Compiler, std: str, cuda_version: str | None) -> list[str]:
    """Why ``compiler`` cannot build mmcv with ``std`` (and nvcc ``cuda_version`` when not None)."""
    problems: list[str] = []
    version = parse_version(compiler.version)
    if compiler.kind == "gcc":
        faq = facts.gcc_faq_problem(compiler.version)
        if faq:
            problems.append(faq)
    if cuda_version and compiler.kind in ("gcc", "clang"):
        limit = facts.host_compiler_too_new(compiler.kind, compiler.version, cuda_version)
        if limit is not None:
            problems.append(
                f"{_label(compiler)} is newer than CUDA {cuda_version} accepts "
                f"({compiler.kind.upper() if compiler.kind == 'gcc' else 'Clang'} {limit} at most)"
            )
    need = torch_facts.std_requirement(std)
    minimum = {"gcc": need.gcc, "clang": need.clang}.get(compiler.kind)
    if minimum is not None and version is not None and version.major < minimum:
        problems.append(f"{_label(compiler)} cannot compile {std} (needs {compiler.kind} >= {minimum})")
    return problems


def msvc_problems(msc_ver: int | None, std: str, cuda_version: str | None) -> list[str]:
    if msc_ver is None:
        return []
    problems: list[str] = []
    if cuda_version:
        accepted = facts.msvc_range(cuda_version)
        if accepted and not accepted.msc_min <= msc_ver <= accepted.msc_max:
            problems.append(
                f"{facts.vs_name(msc_ver)} (MSVC {msc_ver}) is outside what CUDA {cuda_version} "
                f"accepts (_MSC_VER {accepted.msc_min}-{accepted.msc_max}, {accepted.vs})"
            )
    need = torch_facts.std_requirement(std).msc_ver
    if msc_ver < need:
        problems.append(
            f"{facts.vs_name(msc_ver)} (MSVC {msc_ver}) cannot compile {std} "
            f"(needs {facts.vs_name(need)} or newer)"
        )
    return problems


def choose_compiler(env: Environment, cuda_version: str | None, requested_cxx: str | None) -> CompilerChoice:
    """Standard and compiler for this build; ``cuda_version`` is the nvcc in use (None for CPU)."""
    choice = _choose(env, cuda_version, requested_cxx)
    compiler = choice.compiler
    untested = (
        facts.host_compiler_untested(compiler.kind, compiler.version, cuda_version)
        if compiler and cuda_version
        else None
    )
    if untested:
        name = "GCC" if compiler.kind == "gcc" else "Clang"
        choice.findings.append(
            Finding(
                "untested-version",
                "warning",
                f"CUDA {cuda_version} is newer than mmbuild's host-compiler table, which knows up to "
                f"CUDA {untested.known_up_to} ({name} {untested.major} at most); {_label(compiler)} is "
                "tried, and nvcc's own check decides in the preflight",
                f"if nvcc reports 'unsupported GNU version', pass --cxx with {name} {untested.major} "
                "or older",
            )
        )
    return choice


def _choose(env: Environment, cuda_version: str | None, requested_cxx: str | None) -> CompilerChoice:
    torch_version = env.torch.version if env.torch else None
    rule = torch_facts.cxx_std_rule(torch_version)
    if env.os.system == "Windows":
        return _choose_msvc(env, rule, cuda_version, torch_version)
    stds = [rule.std] + ([rule.fallback] if rule.fallback else [])
    first_failure: CompilerChoice | None = None
    for std in stds:
        choice = _choose_unix(env, std, cuda_version, requested_cxx)
        nvcc_problem = _nvcc_problem(std, cuda_version)
        if nvcc_problem:
            choice.findings.append(
                Finding(
                    "cxx-standard",
                    "error",
                    nvcc_problem,
                    f"use CUDA {torch_facts.std_requirement(std).nvcc} or newer",
                )
            )
        if not has_errors(choice.findings):
            choice.std_reason = f"torch {torch_version} needs {rule.std}"
            if std != rule.std:
                why = first_failure.findings[0].message if first_failure and first_failure.findings else ""
                choice.std_reason = (
                    f"{rule.std} not possible here, torch {torch_version} still builds with {std}"
                )
                choice.findings.append(
                    Finding(
                        "cxx-standard",
                        "warning",
                        f"building with {std} instead of {rule.std} (torch {torch_version}'s default): {why}",
                        f"install GCC >= {torch_facts.std_requirement(rule.std).gcc}"
                        + (
                            f" and CUDA >= {torch_facts.std_requirement(rule.std).nvcc}"
                            if cuda_version
                            else ""
                        ),
                    )
                )
            return choice
        first_failure = first_failure or choice
    first_failure.std_reason = f"torch {torch_version} needs {rule.std}"
    return first_failure


def _nvcc_problem(std: str, cuda_version: str | None) -> str | None:
    version = parse_version(cuda_version)
    need = torch_facts.std_requirement(std).nvcc
    if version is not None and version < need:
        return f"nvcc {cuda_version} cannot compile {std} (CUDA {need} or newer can)"
    return None


def _candidates(env: Environment) -> list[Compiler]:
    seen: dict[str, Compiler] = {}
    for c in ([env.compilers.cxx] if env.compilers.cxx else []) + list(env.compilers.candidates):
        seen.setdefault(c.path, c)
    return list(seen.values())


def _choose_unix(
    env: Environment, std: str, cuda_version: str | None, requested: str | None
) -> CompilerChoice:
    candidates = _candidates(env)
    user_cxx = env.env_vars.get("CXX")
    for source, path in (("--cxx", requested), ("CXX", user_cxx)):
        if path:
            compiler = _find(candidates, path)
            problems = compiler_problems(compiler, std, cuda_version)
            choice = CompilerChoice(std, compiler, f"{source}={path}", "", _cc_env(compiler, env))
            choice.findings += [
                _gcc_finding(p, "error", _fix(candidates, std, cuda_version)) for p in problems
            ]
            return choice
    default = env.compilers.cxx
    if default is not None and not compiler_problems(default, std, cuda_version):
        return CompilerChoice(std, default, "the default compiler", "")
    usable = [c for c in candidates if not compiler_problems(c, std, cuda_version)]
    if usable:
        best = max(usable, key=lambda c: (c.kind == "gcc", parse_version(c.version) or Version("0")))
        why = "; ".join(compiler_problems(default, std, cuda_version)) if default else "no default compiler"
        note = Finding(
            "gcc-unsupported",
            "info",
            f"{why}; using {_label(best)} instead",
            f"nothing to do: mmbuild sets CC/CXX (or pass --cxx {best.path})",
        )
        return CompilerChoice(std, best, f"{why}; {_label(best)} fits", "", _cc_env(best, env), [note])
    if default is None:
        finding = _gcc_finding("no C++ compiler was found", "error", "install g++ (e.g. apt install g++)")
        return CompilerChoice(std, None, "none found", "", findings=[finding])
    problems = compiler_problems(default, std, cuda_version)
    return CompilerChoice(
        std,
        default,
        "the default compiler (unusable)",
        "",
        findings=[_gcc_finding(p, "error", _fix(candidates, std, cuda_version)) for p in problems],
    )


def _choose_msvc(
    env: Environment, rule, cuda_version: str | None, torch_version: str | None
) -> CompilerChoice:
    msvc = env.compilers.msvc
    if msvc is None:
        return CompilerChoice(
            rule.std,
            None,
            "no MSVC found",
            f"torch {torch_version} needs {rule.std}",
            findings=[
                Finding(
                    "msvc-unsupported",
                    "error",
                    "no Visual Studio C++ compiler (cl.exe) found",
                    "install the Visual Studio Build Tools with the C++ workload",
                )
            ],
        )
    compiler = Compiler("msvc", msvc.version, msvc.path or "cl.exe")
    label = f"{facts.vs_name(msvc.msc_ver)} (MSVC {msvc.msc_ver})" if msvc.msc_ver else "MSVC"
    findings: list[Finding] = []
    std, std_reason = rule.std, f"torch {torch_version} needs {rule.std}"
    problems = msvc_problems(msvc.msc_ver, std, cuda_version)
    if problems and rule.fallback and "msvc" not in rule.fallback_fails_with:
        fallback_problems = msvc_problems(msvc.msc_ver, rule.fallback, cuda_version)
        if len(fallback_problems) < len(problems):
            findings.append(
                Finding(
                    "cxx-standard",
                    "warning",
                    f"building with {rule.fallback}: {problems[0]}",
                    "install Visual Studio 2022 or newer",
                )
            )
            std, problems = rule.fallback, fallback_problems
            std_reason = (
                f"{rule.std} not possible with {label}, torch {torch_version} still builds with {std}"
            )
    nvcc_problem = _nvcc_problem(std, cuda_version)
    for problem in problems:
        pid = "cxx-standard" if "cannot compile" in problem else "msvc-unsupported"
        findings.append(Finding(pid, "error", problem, _msvc_fix(cuda_version)))
    if nvcc_problem:
        findings.append(
            Finding(
                "cxx-standard",
                "error",
                nvcc_problem,
                f"use CUDA {torch_facts.std_requirement(std).nvcc} or newer",
            )
        )
    return CompilerChoice(std, compiler, label, std_reason, findings=findings)


def _msvc_fix(cuda_version: str | None) -> str:
    accepted = facts.msvc_range(cuda_version) if cuda_version else None
    if accepted:
        return f"install the build tools of {accepted.vs} and build from its developer prompt"
    return "install Visual Studio 2022 Build Tools (C++ workload)"


def _find(candidates: list[Compiler], path: str) -> Compiler:
    for c in candidates:
        if c.path == path or c.path.rsplit("/", 1)[-1] == path:
            return c
    return Compiler(_guess_kind(path), None, path)


def _guess_kind(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    if "clang" in name:
        return "clang"
    if re.search(r"(^|[-/])(g\+\+|gcc|c\+\+)", name):
        return "gcc"
    return "unknown"


def _cc_env(compiler: Compiler, env: Environment) -> dict[str, str]:
    """CC and CXX for a chosen compiler: ``/usr/bin/g++-11`` -> CC=/usr/bin/gcc-11."""
    cc = env.env_vars.get("CC") if env.env_vars.get("CXX") == compiler.path else None
    if cc is None:
        head, _, name = compiler.path.rpartition("/")
        cc_name = name.replace("clang++", "clang").replace("g++", "gcc").replace("c++", "cc")
        cc = f"{head}/{cc_name}" if head else cc_name
    return {"CC": cc, "CXX": compiler.path}


def _label(compiler: Compiler) -> str:
    kind = {"gcc": "GCC", "clang": "Clang"}.get(compiler.kind, compiler.kind)
    return f"{kind} {compiler.version or '?'} ({compiler.path})"


def _gcc_finding(problem: str, severity: str, fix: str) -> Finding:
    return Finding("gcc-unsupported", severity, problem, fix)


def _fix(candidates: list[Compiler], std: str, cuda_version: str | None) -> str:
    limit = facts.max_host_major("gcc", cuda_version) if cuda_version else None
    need = torch_facts.std_requirement(std).gcc
    major = limit if limit is not None else max(need, 12)
    if major < need:
        return (f"no GCC fits both CUDA {cuda_version} (GCC <= {limit}) and {std} (GCC >= {need}): "
                "use a newer CUDA")
    return f"install g++-{major} (e.g. apt install g++-{major}) and pass --cxx /usr/bin/g++-{major}"
