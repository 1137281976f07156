"""GCC or Clang on Linux and macOS: the compiler choice, and what the build needs from such a host.

The compiler: ``--cxx`` > the user's CXX > the default compiler > the newest candidate that passes
every check (mmcv's GCC rules, the CUDA toolkit's host-compiler limit, the standard), chosen through
CC/CXX. Where the standard torch asks for cannot be met and torch still builds with its fallback,
the fallback is taken with a warning.
"""

from __future__ import annotations

import re
import shlex

from packaging.version import Version

from mmbuild.knowledge import compilers as facts
from mmbuild.knowledge import torch_facts
from mmbuild.knowledge.versions import parse_version
from mmbuild.model.environment import Compiler, Environment
from mmbuild.model.findings import Finding, finding, has_errors
from mmbuild.plan.compiler import CompilerChoice, compiler_id_of, known_compilers, nvcc_problem
from mmbuild.plan.toolchain.settings import PlatformSettings


class UnixToolchain:
    """GCC or Clang, driven through CC and CXX; arguments quoted as a POSIX shell does."""

    name = "unix"
    path_separator = ":"

    def choose_compiler(self, env: Environment, cuda_version: str | None,
                        requested_cxx: str | None) -> CompilerChoice:
        """Standard and compiler for this build; ``cuda_version`` is the nvcc in use (None for CPU)."""
        choice = _choose_std_and_compiler(env, cuda_version, requested_cxx)
        compiler = choice.compiler
        untested = (facts.host_compiler_untested(compiler.kind, compiler.version, cuda_version)
                    if compiler and cuda_version else None)
        if untested:
            choice.findings.append(
                finding("untested-version", message_key="host_compiler_untested", cuda=cuda_version,
                        known_up_to=untested.known_up_to, name="GCC" if compiler.kind == "gcc" else "Clang",
                        major=untested.major, compiler=_label(compiler))
            )
        return choice

    def compiler_id(self, env: Environment, host_compiler: str | None) -> dict:
        return compiler_id_of(env, host_compiler)

    def pch_support(self, compiler: Compiler | None) -> str | None:
        """Why the units cannot share a precompiled header with ``compiler`` (None: they can)."""
        if compiler is None or compiler.kind != "gcc":
            kind = compiler.kind if compiler else "unknown"
            return f"a {kind} host compiler: mmbuild precompiles headers with GCC only"
        return None

    def narrow_includes_support(self) -> str | None:
        return None

    def rejects_clang_only_flags(self, compiler: Compiler | None) -> bool:
        """Whether ``compiler`` fails on the clang-only flags of a Python's sysconfig CFLAGS (GCC does)."""
        return compiler is not None and compiler.kind == "gcc"

    def accepts_toolkit(self, env: Environment, cuda_version: str | None) -> bool:
        """Whether nvcc ``cuda_version`` accepts one of this machine's compilers as its host compiler."""
        candidates = known_compilers(env)
        if not candidates:
            return True  # no compiler at all is the compiler step's finding, not the toolkit's
        return any(facts.host_compiler_too_new(c.kind, c.version, cuda_version) is None for c in candidates)

    def platform_settings(self, env: Environment, target: str, cuda_version: str | None,
                          patch_torch: bool) -> PlatformSettings:
        return PlatformSettings()

    def host_findings(self, env: Environment) -> list[Finding]:
        return []

    def debug_flags_ignored(self) -> str | None:
        """Why the build's CFLAGS cannot change the units' debug info (None: they can)."""
        return None

    def split_args(self, text: str | None) -> list[str]:
        return shlex.split(text or "")

    def join_args(self, tokens: list[str]) -> str:
        return shlex.join(tokens)


def _choose_std_and_compiler(env: Environment, cuda_version: str | None,
                             requested_cxx: str | None) -> CompilerChoice:
    torch_version = env.torch.version if env.torch else None
    rule = torch_facts.cxx_std_rule(torch_version)
    stds = [rule.std] + ([rule.fallback] if rule.fallback else [])
    first_failure: CompilerChoice | None = None
    for std in stds:
        choice = _choose_compiler(env, std, cuda_version, requested_cxx)
        choice.findings += nvcc_problem(std, cuda_version)
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


def _std_fallback(std: str, preferred: str, torch_version: str | None, why: str,
                  cuda_version: str | None) -> Finding:
    need = torch_facts.std_requirement(preferred)
    if cuda_version:
        return finding("cxx-standard", "warning", message_key="std_fallback", std=std, preferred=preferred,
                       torch=torch_version, why=why, gcc=need.gcc, nvcc=need.nvcc)
    return finding("cxx-standard", "warning", message_key="std_fallback_cpu", std=std, preferred=preferred,
                   torch=torch_version, why=why, gcc=need.gcc)


def _candidates(env: Environment) -> list[Compiler]:
    seen: dict[str, Compiler] = {}
    for c in known_compilers(env):
        seen.setdefault(c.path, c)
    return list(seen.values())


def _choose_compiler(
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
