"""Preflight probes compiled for real with this machine's compilers (fast failures, one real success)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from mmbuild.build.preflight import (
    TorchBuildInfo,
    build_nvcc_flags,
    check_python_flags,
    cuda_probe_argv,
    cxx_probe_argv,
    extension_unit_flags,
    remembered_torch_build_info,
    run_preflight,
    torch_build_info,
    torch_cuda_probe_argv,
)
from mmbuild.errors import EXIT_BUILD_FAILED, BuildFailedError
from mmbuild.model.build_plan import BuildPlan, MmcvChoice, Toolchain
from mmbuild.plan.cuda_args import cuda_arg_tokens
from mmbuild.plan.python_flags import without_clang_only_flags

NVCC = Path("/usr/local/cuda/bin/nvcc")


def _plan(**kw) -> BuildPlan:
    base = dict(mmcv=MmcvChoice("mmcv", "2.2.0", "test"), target="cpu", cxx_std="c++20",
                toolchain=Toolchain("c++", "default"))
    base.update(kw)
    return BuildPlan(**base)


def _cuda_plan(gencode: list[str]) -> BuildPlan:
    toolchain = Toolchain("c++", "default", str(NVCC), "toolkit", None, [*gencode, "-DTHREADS_PER_BLOCK=256"])
    return _plan(target="cuda", gencode=gencode, threads_per_block=256, cxx_std="c++17",
                 cuda_home=str(NVCC.parent.parent), toolchain=toolchain)


def test_argv_carry_the_plans_settings(tmp_path):
    info = TorchBuildInfo(["/t/include", "/t/include/api"], "/py/include", 1)
    argv = cxx_probe_argv(["ccache", "g++"], Path("p.cpp"), Path("p.o"), "c++20", info)
    assert argv[:2] == ["ccache", "g++"] and "-std=c++20" in argv and "-D_GLIBCXX_USE_CXX11_ABI=1" in argv
    assert argv[-3:] == ["-I/t/include", "-I/t/include/api", "-I/py/include"]
    plan = _cuda_plan(["-gencode=arch=compute_90,code=sm_90"])
    flags = build_nvcc_flags(plan)
    argv = cuda_probe_argv(["nvcc"], Path("p.cu"), Path("p"), plan, "/usr/bin/g++-12", flags)
    assert "-gencode=arch=compute_90,code=sm_90" in argv and "-DTHREADS_PER_BLOCK=256" in argv
    assert argv[-2:] == ["-ccbin", "/usr/bin/g++-12"]


def test_nvcc_flags_are_the_plans_cuda_args_as_setup_py_splits_them():
    text = ("-gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90,code=sm_90 "
            "-DTHREADS_PER_BLOCK=256 -Xcompiler '-O2 -g'")
    args = cuda_arg_tokens(text, "Linux")
    assert args == ["-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90,code=sm_90",
                    "-DTHREADS_PER_BLOCK=256", "-Xcompiler", "-O2 -g"]
    plan = _cuda_plan(["-gencode=arch=compute_90,code=sm_90"])
    plan.toolchain.cuda_args = args
    assert build_nvcc_flags(plan) == args
    info = TorchBuildInfo(["/t/include"], "/py/include", 1, ["/t/include", "/usr/local/cuda/include"],
                          ["--expt-relaxed-constexpr"])
    argv = torch_cuda_probe_argv(["nvcc"], Path("t.cu"), plan, None, ["-DX=1"], info)
    assert argv[:3] == ["nvcc", "-E", "t.cu"]
    assert "-I/usr/local/cuda/include" in argv and "--expt-relaxed-constexpr" in argv and "-DX=1" in argv


def test_torch_build_info_comes_from_the_target_python():
    pytest.importorskip("torch")
    info = torch_build_info()
    assert any(Path(d, "torch", "extension.h").is_file() for d in info.include_dirs)
    assert info.cxx11_abi in (0, 1) and Path(info.python_include, "Python.h").is_file()


def test_torch_build_info_is_asked_once_per_torch_install(tmp_path, monkeypatch):
    import mmbuild.build.preflight as preflight

    torch_dir = tmp_path / "site-packages" / "torch"           # the files the key stamps
    (torch_dir / "utils").mkdir(parents=True)
    (torch_dir / "version.py").write_text("__version__ = '2.13.0'\n")
    (torch_dir / "utils" / "cpp_extension.py").write_text("")
    asked = []

    def ask(python):
        asked.append(python)
        return TorchBuildInfo([f"/torch{len(asked)}/include"], "/py/include", 1)

    monkeypatch.setattr(preflight, "torch_build_info", ask)
    store = tmp_path / "cache" / "torch"
    first = remembered_torch_build_info("/venv/bin/python", str(torch_dir), store)
    assert remembered_torch_build_info("/venv/bin/python", str(torch_dir), store) == first
    assert len(asked) == 1 and first.include_dirs == ["/torch1/include"]
    os.utime(torch_dir / "version.py", ns=(1, 1))                # torch reinstalled
    assert remembered_torch_build_info("/venv/bin/python", str(torch_dir), store).include_dirs == \
        ["/torch2/include"]
    assert remembered_torch_build_info("/other/bin/python", str(torch_dir), store).include_dirs == \
        ["/torch3/include"]
    assert remembered_torch_build_info("/venv/bin/python", None, store).include_dirs == ["/torch4/include"]


def test_wrong_cxx_standard_fails_fast_with_its_catalogue_id(tmp_path):
    pytest.importorskip("torch")
    with pytest.raises(BuildFailedError) as err:
        run_preflight(_plan(cxx_std="c++14"), {"CXX": shutil.which("g++") or "g++"}, tmp_path,
                      gpu_present=False)
    assert err.value.exit_code == EXIT_BUILD_FAILED
    assert err.value.problem_id == "cxx-standard"
    assert "C++17 or later" in err.value.message


def test_missing_compiler_is_reported(tmp_path):
    pytest.importorskip("torch")
    with pytest.raises(BuildFailedError, match="not found"):
        run_preflight(_plan(), {"CXX": str(tmp_path / "no-such-g++")}, tmp_path, gpu_present=False)


@pytest.mark.skipif(not NVCC.is_file(), reason="needs nvcc at /usr/local/cuda")
def test_arch_the_toolkit_lacks_fails_with_nvcc_arch_unsupported(tmp_path):
    plan = _cuda_plan(["-gencode=arch=compute_52,code=sm_52"])
    with pytest.raises(BuildFailedError) as err:
        run_preflight(plan, {}, tmp_path, gpu_present=False)
    assert err.value.problem_id == "nvcc-arch-unsupported"
    assert "compute_52" in err.value.message


@pytest.mark.skipif(not NVCC.is_file() or not shutil.which("g++"), reason="needs nvcc and g++")
def test_full_preflight_passes_with_a_good_toolchain(tmp_path):
    """Compiles the probe against torch for real (about 15 s cold; ccache makes reruns fast)."""
    pytest.importorskip("torch")
    cxx = "/usr/lib/ccache/g++" if Path("/usr/lib/ccache/g++").exists() else "g++"
    plan = _cuda_plan(["-gencode=arch=compute_80,code=sm_80"])
    plan.cxx_std = "c++20"
    results = run_preflight(plan, {"CXX": cxx}, tmp_path, gpu_present=False)
    assert [r.name for r in results] == [
        "python_flags_probe.cpp", "cuda_probe.cu", "torch_extension_probe.cpp"]
    assert all(r.ok for r in results) and not results[1].ran
    assert (tmp_path / "cuda_probe").is_file() and (tmp_path / "torch_extension_probe.o").is_file()


# The sysconfig CFLAGS of python-build-standalone's CPython 3.12.0 (release 20231002, which uv
# installs as its managed Python), as the compile line quoted in astral-sh/uv#12613 shows them.
PBS_CFLAGS = ("-fno-strict-overflow -Wsign-compare -Wunreachable-code -DNDEBUG -g -O3 -Wall "
              "-fdebug-default-version=4 -fPIC -I/tools/deps/include -I/tools/deps/include/ncursesw "
              "-I/tools/deps/libedit/include")


def _standalone_python_env(tmp_path: Path) -> dict[str, str]:
    """This Python made to report the standalone CPython's CFLAGS: a copy of its own sysconfigdata
    module with CFLAGS replaced, selected the way CPython itself allows (_PYTHON_SYSCONFIGDATA_NAME)."""
    import importlib
    import sysconfig

    real = importlib.import_module(sysconfig._get_sysconfigdata_name())
    fake = {**real.build_time_vars, "CFLAGS": PBS_CFLAGS}
    folder = tmp_path / "sysconfigdata"
    folder.mkdir()
    (folder / "_sysconfigdata_pbs_standin.py").write_text(f"build_time_vars = {fake!r}\n", encoding="utf-8")
    return {"PYTHONPATH": str(folder), "_PYTHON_SYSCONFIGDATA_NAME": "_sysconfigdata_pbs_standin"}


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_python_whose_flags_gcc_rejects_stops_in_seconds_with_its_id(tmp_path):
    import time

    stand_in = _standalone_python_env(tmp_path)
    assert "-fdebug-default-version=4" in extension_unit_flags(sys.executable, {**os.environ, **stand_in})
    started = time.monotonic()
    with pytest.raises(BuildFailedError) as err:
        run_preflight(_plan(), {"CXX": shutil.which("g++"), **stand_in}, tmp_path / "work", gpu_present=False)
    assert time.monotonic() - started < 30
    assert err.value.exit_code == EXIT_BUILD_FAILED
    assert err.value.problem_id == "python-flags-gcc-rejects"
    assert "-fdebug-default-version=4" in err.value.message


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_the_plans_cflags_let_the_same_python_through(tmp_path):
    stand_in = _standalone_python_env(tmp_path)
    stripped = without_clang_only_flags(PBS_CFLAGS)
    only_cflags = {"CXX": shutil.which("g++"), "CFLAGS": stripped, **stand_in}
    # CFLAGS alone is not enough: setuptools links C++ with sysconfig's CFLAGS unless CXXFLAGS is set
    with pytest.raises(BuildFailedError) as err:
        check_python_flags(_plan(), only_cflags, {**os.environ, **only_cflags}, tmp_path, sys.executable)
    assert err.value.problem_id == "python-flags-gcc-rejects"
    build_env = {**only_cflags, "CXXFLAGS": stripped}
    probe = check_python_flags(_plan(), build_env, {**os.environ, **build_env}, tmp_path, sys.executable)
    assert probe is not None and probe.ok
    assert "-fdebug-default-version=4" not in probe.argv and "-fno-strict-overflow" in probe.argv
