"""The plan resolves the build's compilers once (plan/build_toolchain.py); preflight and build locate them.

The user's PYTORCH_NVCC is one of them, and enters the fingerprint.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from mmbuild.build.tools import resolve_build_tools
from mmbuild.errors import MmbuildError
from mmbuild.model.build_plan import BuildPlan, MmcvChoice
from mmbuild.model.environment import load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.plan.cuda_args import cuda_arg_tokens

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"
CUDA_ENV = ENVS / "h100-cuda-13.0-torch-2.13.json"


def _with_vars(env, **variables):
    return dataclasses.replace(env, env_vars={**env.env_vars, **variables})


def test_nvcc_is_the_users_pytorch_nvcc_else_the_toolkits():
    env = load_environment(CUDA_ENV)
    plan = make_plan(env, BuildOptions())
    assert plan.toolchain.nvcc == str(Path(plan.cuda_home) / "bin" / "nvcc")
    assert plan.toolchain.nvcc_from == "toolkit" and plan.toolchain.toolkit.home == plan.cuda_home
    wrapped = make_plan(_with_vars(env, PYTORCH_NVCC="/opt/wrap/nvcc-wrapper"), BuildOptions())
    assert wrapped.toolchain.nvcc == "/opt/wrap/nvcc-wrapper"
    assert wrapped.toolchain.nvcc_from == "PYTORCH_NVCC"
    assert resolve_build_tools(wrapped).nvcc == "/opt/wrap/nvcc-wrapper"
    assert wrapped.fingerprint != plan.fingerprint
    assert wrapped.fingerprint_inputs["nvcc_command"] == "/opt/wrap/nvcc-wrapper"
    assert "nvcc_command" not in plan.fingerprint_inputs
    cpu = make_plan(_with_vars(env, PYTORCH_NVCC="x"), BuildOptions(cpu_only=True))
    assert cpu.toolchain.nvcc is None and resolve_build_tools(cpu).nvcc is None


def test_cuda_args_are_one_list_that_the_build_variable_spells():
    plan = make_plan(load_environment(CUDA_ENV), BuildOptions(arch="8.0,9.0"))
    args = plan.toolchain.cuda_args
    assert "-gencode=arch=compute_90,code=sm_90" in args
    assert any(a.startswith("-DTHREADS_PER_BLOCK=") for a in args)
    assert cuda_arg_tokens(plan.env["MMCV_CUDA_ARGS"], "Linux") == args


def test_cxx_is_the_plans_choice_before_the_users_variable():
    env = load_environment(CUDA_ENV)
    gxx = shutil.which("g++") or "/usr/bin/g++"
    chosen = make_plan(_with_vars(env, CXX="/opt/other/g++"), BuildOptions(cxx=gxx, cpu_only=True))
    assert chosen.toolchain.cxx == gxx
    users = make_plan(_with_vars(env, CXX="/opt/other/g++"), BuildOptions(cpu_only=True))
    assert users.toolchain.cxx == "/opt/other/g++"


def test_a_bare_compiler_name_is_located_on_path():
    plan = make_plan(load_environment(CUDA_ENV), BuildOptions(cpu_only=True))
    plan = dataclasses.replace(plan, toolchain=dataclasses.replace(plan.toolchain, cxx="g++"))
    assert resolve_build_tools(plan).cxx == (shutil.which("g++") or "g++")


def test_a_plan_without_a_toolchain_is_refused():
    with pytest.raises(MmbuildError, match="no toolchain"):
        resolve_build_tools(BuildPlan(mmcv=MmcvChoice("mmcv", "2.2.0", ""), target="cpu"))
