"""MMCV_CUDA_ARGS: the plan's flags and the user's own reach nvcc as separate arguments."""

from __future__ import annotations

from pathlib import Path

from mmbuild.model.environment import load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.plan.cuda_args import cuda_arg_tokens, join_cuda_args, split_cuda_args

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"


def test_a_users_multi_flag_value_is_kept_flag_by_flag():
    env = load_environment(ENVS / "this-machine-cuda-torch-2.13-nvcc-only.json")
    env.env_vars["MMCV_CUDA_ARGS"] = ("-gencode=arch=compute_86,code=sm_86 -lineinfo -Xptxas -O3 "
                                      "-Xcompiler '-O2 -g' -DTHREADS_PER_BLOCK=1024")
    plan = make_plan(env, BuildOptions(arch="8.0,9.0", threads_per_block=256))
    assert cuda_arg_tokens(plan.env["MMCV_CUDA_ARGS"]) == [
        "-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90,code=sm_90",
        "-DTHREADS_PER_BLOCK=256", "-lineinfo", "-Xptxas", "-O3", "-Xcompiler", "-O2 -g"]


def test_the_users_arch_flags_choose_the_arches_when_nothing_else_does():
    env = load_environment(ENVS / "this-machine-cuda-torch-2.13-nvcc-only.json")
    env.env_vars["MMCV_CUDA_ARGS"] = "-gencode arch=compute_80,code=sm_80 -lineinfo"
    plan = make_plan(env, BuildOptions())
    assert plan.ok and plan.arch_list == ["8.0"]
    assert cuda_arg_tokens(plan.env["MMCV_CUDA_ARGS"])[-1] == "-lineinfo"


def test_split_and_join_round_trip_on_posix_and_windows():
    flags = ["-gencode=arch=compute_90,code=sm_90", "-Xcompiler", "/Zc:preprocessor", "-IC:\\cuda\\include"]
    assert cuda_arg_tokens(join_cuda_args(flags, "Windows"), "Windows") == flags
    posix = ["-I/opt/my cuda/include", "-Xcompiler", "-O2 -g", "-DNAME=\"x\""]
    assert cuda_arg_tokens(join_cuda_args(posix)) == posix
    assert split_cuda_args("-arch sm_80 -lineinfo") == (["-arch", "sm_80"], ["-lineinfo"])


def test_nvcc_threads_fill_cpus_the_jobs_leave_idle_without_changing_the_fingerprint():
    env = load_environment(ENVS / "this-machine-cuda-torch-2.13-nvcc-only.json")
    env.cpus = 16
    threaded = make_plan(env, BuildOptions(arch="8.0,8.6,9.0", jobs=4))
    assert cuda_arg_tokens(threaded.env["MMCV_CUDA_ARGS"])[-2:] == ["--threads", "3"]
    assert any(d.name == "nvcc --threads" and d.value == "3" for d in threaded.decisions)
    plain = make_plan(env, BuildOptions(arch="8.0,8.6,9.0", jobs=16))
    assert "--threads" not in cuda_arg_tokens(plain.env["MMCV_CUDA_ARGS"])
    assert plain.fingerprint == threaded.fingerprint
