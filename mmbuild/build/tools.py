"""The plan's compilers (plan/build_toolchain.py) located on this machine, for the preflight and the build.

Locating is the only thing done here: the plan decided which C++ compiler and which nvcc; a bare name
becomes the path ``PATH`` finds for it. Preflight and build use the same ``BuildTools``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmbuild.build.compiler_cache import find_tool
from mmbuild.errors import MmbuildError
from mmbuild.model.build_plan import BuildPlan


@dataclass(frozen=True)
class BuildTools:
    cxx: str                 # resolved path of the C++ compiler
    nvcc: str | None         # the nvcc command (a path, or the user's PYTORCH_NVCC); None for CPU builds
    cuda_args: tuple[str, ...] = ()   # nvcc's arguments from MMCV_CUDA_ARGS, one per item


def resolve_build_tools(plan: BuildPlan) -> BuildTools:
    """The plan's toolchain with its C++ compiler located on PATH."""
    toolchain = plan.toolchain
    if toolchain is None:
        raise MmbuildError("the plan has no toolchain (a plan saved by an older mmbuild): plan again")
    return BuildTools(find_tool(toolchain.cxx) or toolchain.cxx, toolchain.nvcc, tuple(toolchain.cuda_args))
