"""The compilers of a build attempt are resolved once, and the user's PYTORCH_NVCC is one of them."""

from __future__ import annotations

from mmbuild.build.tools import resolve_build_tools
from mmbuild.model.build_plan import BuildPlan, MmcvChoice


def _plan(**kw) -> BuildPlan:
    return BuildPlan(mmcv=MmcvChoice("mmcv", "2.2.0", ""), **kw)


def test_nvcc_is_the_users_pytorch_nvcc_else_the_toolkits():
    cuda = _plan(target="cuda", cuda_home="/usr/local/cuda-13.0", host_compiler="/usr/bin/g++")
    assert resolve_build_tools(cuda, {}).nvcc == "/usr/local/cuda-13.0/bin/nvcc"
    wrapped = resolve_build_tools(cuda, {"PYTORCH_NVCC": "/opt/wrap/nvcc-wrapper"})
    assert wrapped.nvcc == "/opt/wrap/nvcc-wrapper"
    assert resolve_build_tools(_plan(target="cpu"), {"PYTORCH_NVCC": "x"}).nvcc is None


def test_cxx_is_the_plans_choice_before_the_users_variable():
    plan = _plan(target="cpu", host_compiler="/usr/bin/g++", env={"CXX": "/usr/bin/g++"})
    assert resolve_build_tools(plan, {"CXX": "/opt/other/g++"}).cxx == "/usr/bin/g++"
    assert resolve_build_tools(_plan(target="cpu"), {"CXX": "/opt/other/g++"}).cxx == "/opt/other/g++"
