"""What every host toolchain's compiler choice shares: its record, nvcc's C++ standard, the compiler's id.

The standard comes from torch (c++14 up to 2.0, c++17 for 2.1-2.11, c++20 from 2.12). C++20 also
needs nvcc >= 12.0 (CUDA builds) and GCC >= 10, Clang >= 11 or VS 2022; where the toolchain cannot
do C++20 and torch still compiles under C++17 (2.12, and 2.13 outside MSVC) the plan falls back with
a warning. Which compiler, and why it can or cannot, is the host toolchain's (``plan/toolchain/``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.knowledge import torch_facts
from mmbuild.knowledge.versions import parse_version
from mmbuild.model.environment import Compiler, Environment
from mmbuild.model.findings import Finding, finding


@dataclass
class CompilerChoice:
    cxx_std: str
    compiler: Compiler | None
    reason: str
    std_reason: str
    env: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def nvcc_problem(std: str, cuda_version: str | None) -> list[Finding]:
    """The error when nvcc ``cuda_version`` cannot compile ``std`` (none when it can, or for CPU)."""
    version = parse_version(cuda_version)
    need = torch_facts.std_requirement(std).nvcc
    if version is not None and version < need:
        return [finding("cxx-standard", message_key="nvcc_too_old", cuda=cuda_version, std=std, need=need)]
    return []


def known_compilers(env: Environment) -> list[Compiler]:
    """The default compiler, then the other candidates the probe found."""
    return [c for c in [env.compilers.cxx, *env.compilers.candidates] if c is not None]


def compiler_id_of(env: Environment, host_compiler: str | None) -> dict:
    """The fingerprint's id of the compiler at ``host_compiler``: its kind and version, else its path."""
    compiler = host_compiler and next((c for c in known_compilers(env) if c.path == host_compiler), None)
    return {"kind": compiler.kind, "version": compiler.version} if compiler else {"path": host_compiler}
