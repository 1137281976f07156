"""The compilers one build attempt runs, resolved once from the plan and used by preflight and build.

CXX: the plan's (``--cxx`` or the chosen host compiler), else the user's ``CXX``, else ``c++``.
nvcc: a user's ``PYTORCH_NVCC`` (torch's extension builder runs that command instead of
``$CUDA_HOME/bin/nvcc``), else the plan's toolkit's nvcc. The build environment names both, so
the preflight probes exactly the compilers that torch then runs, compiler cache or not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mmbuild.build.compiler_cache import find_tool
from mmbuild.model.build_plan import BuildPlan


@dataclass(frozen=True)
class BuildTools:
    cxx: str                 # resolved path of the C++ compiler
    nvcc: str | None         # the nvcc command (a path, or the user's PYTORCH_NVCC); None for CPU builds


def resolve_build_tools(plan: BuildPlan, environ: dict[str, str] | None = None) -> BuildTools:
    environ = os.environ if environ is None else environ
    cxx = plan.env.get("CXX") or environ.get("CXX") or plan.host_compiler or "c++"
    nvcc = None
    if plan.target == "cuda":
        nvcc = plan.env.get("PYTORCH_NVCC") or environ.get("PYTORCH_NVCC") or (
            str(Path(plan.cuda_home) / "bin" / "nvcc") if plan.cuda_home else None)
    return BuildTools(find_tool(cxx) or cxx, nvcc)
