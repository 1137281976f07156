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

from mmbuild.knowledge import compilers as facts
from mmbuild.knowledge import torch_facts
from mmbuild.knowledge.versions import parse_version
from mmbuild.model.environment import Compiler, Environment
from mmbuild.model.findings import Finding, finding, has_errors


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
            finding("untested-version", message_key="host_compiler_untested", cuda=cuda_version,
                    known_up_to=untested.known_up_to, name=name, major=untested.major,
                    compiler=_label(compiler))
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
        choice.findings += _nvcc_problem(std, cuda_version)
        if not has_errors(choice.findings):
            choice.std_reason = f"torch {torch_version} needs {rule.std}"
            if std != rule.std:
                why = first_failure.findings[0].message if first_failure and first_failure.findings else ""
                choice.std_reason = (
                    f"{rule.std} not possible here, torch {torch_version} still builds with {std}"
                )
                choice.findings.append(_std_fallback(std, rule.std, torch_version, why, cuda_version))
            return choice
        first_failure = first_failure or choice
    first_failure.std_reason = f"torch {torch_version} needs {rule.std}"
    return first_failure


def _std_fallback(std: str, preferred: str, torch_version: str | None, why: str,
                  cuda_version: str | None) -> Finding:
    need = torch_facts.std_requirement(preferred)
    if cuda_version:
        return finding("cxx-standard", "warning", message_key="std_fallback", std=std, preferred=preferred,
                       torch=torch_version, why=why, gcc=need.gcc, nvcc=need.nvcc)
    return finding("cxx-standard", "warning", message_key="std_fallback_cpu", std=std, preferred=preferred,
                   torch=torch_version, why=why, gcc=need.gcc)


def _nvcc_problem(std: str, cuda_version: str | None) -> list[Finding]:
    """The error when nvcc ``cuda_version`` cannot compile ``std`` (none when it can, or for CPU)."""
    version = parse_version(cuda_version)
    need = torch_facts.std_requirement(std).nvcc
    if version is not None and version < need:
        return [finding("cxx-standard", message_key="nvcc_too_old", cuda=cuda_version, std=std, need=need)]
    return []


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
            choice.findings += _gcc_findings(problems, std, cuda_version)
            return choice
    default = env.compilers.cxx
    if default is not None and not compiler_problems(default, std, cuda_version):
        return CompilerChoice(std, default, "the default compiler", "")
    usable = [c for c in candidates if not compiler_problems(c, std, cuda_version)]
    if usable:
        best = max(usable, key=lambda c: (c.kind == "gcc", parse_version(c.version) or Version("0")))
        why = "; ".join(compiler_problems(default, std, cuda_version)) if default else "no default compiler"
        note = finding("gcc-unsupported", "info", message_key="other_compiler_used", why=why,
                       compiler=_label(best), path=best.path)
        return CompilerChoice(std, best, f"{why}; {_label(best)} fits", "", _cc_env(best, env), [note])
    if default is None:
        missing = finding("gcc-unsupported", message_key="no_compiler")
        return CompilerChoice(std, None, "none found", "", findings=[missing])
    problems = compiler_problems(default, std, cuda_version)
    return CompilerChoice(
        std,
        default,
        "the default compiler (unusable)",
        "",
        findings=_gcc_findings(problems, std, cuda_version),
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
            findings=[finding("msvc-unsupported", message_key="no_msvc")],
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
                finding("cxx-standard", "warning", message_key="msvc_std_fallback", std=rule.fallback,
                        problem=problems[0].message)
            )
            std, problems = rule.fallback, fallback_problems
            std_reason = (
                f"{rule.std} not possible with {label}, torch {torch_version} still builds with {std}"
            )
    findings += problems + _nvcc_problem(std, cuda_version)
    return CompilerChoice(std, compiler, label, std_reason, findings=findings)


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


def _gcc_findings(problems: list[str], std: str, cuda_version: str | None) -> list[Finding]:
    """The errors for a compiler's ``problems``, each with the GCC to install (or why none fits)."""
    limit = facts.max_host_major("gcc", cuda_version) if cuda_version else None
    need = torch_facts.std_requirement(std).gcc
    major = limit if limit is not None else max(need, 12)
    if major < need:
        return [finding("gcc-unsupported", message_key="no_gcc_fits", problem=p, cuda=cuda_version,
                        limit=limit, std=std, need=need) for p in problems]
    return [finding("gcc-unsupported", message_key="compiler_problem", problem=p, major=major)
            for p in problems]
