"""Preflight: compile tiny probes from csrc_tests/ with the plan's exact toolchain before the long build.

- ``torch_extension_probe.cpp``: includes ``<torch/types.h>`` (as mmcv's op units do),
  ``<Python.h>`` and pybind11; compiled with the build's C++ compiler (CXX of the build
  environment, compiler cache included), the plan's C++ standard, torch's ABI flag and the
  include directories torch reports for extensions (asked in a child process of the target
  Python, never imported here).
- ``cuda_probe.cu`` (cuda targets): compiled by the plan's nvcc with exactly the flags the
  build's ``.cu`` units get from MMCV_CUDA_ARGS (split as mmcv's patched setup.py splits it:
  -gencode list, -DTHREADS_PER_BLOCK, the user's own flags), the C++ standard and the host
  compiler, and run when a GPU is present.
- ``torch_cuda_probe.cu`` (cuda targets): preprocessed (``nvcc -E``, a few seconds) with the
  same flags plus torch's CUDA include dirs and nvcc flags, in the build's environment (CPATH
  included): a CUDA header torch needs that no include dir provides fails here.

- first of all (not on Windows): an empty C++ unit compiled with the build's C++ compiler and the
  flags setuptools gives every extension unit (its ``compiler_so``, made from the target Python's
  sysconfig CFLAGS and the build environment's CFLAGS exactly as setuptools makes it, asked of
  the target Python in a child process): a flag the compiler rejects, such as the clang-only
  ``-fdebug-default-version=4`` of some standalone CPythons, stops the build in seconds.

A failure is matched against the catalogue of known problems and raised as a
BuildFailedError (exit 4) carrying the problem id, typically within a minute.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import shlex
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from mmbuild.build.tools import resolve_build_tools
from mmbuild.diagnose.summary import summarise_failure
from mmbuild.errors import BuildFailedError
from mmbuild.model.build_plan import BuildPlan
from mmbuild.util.fileio import atomic_write_json
from mmbuild.util.process import CommandResult, run_command
from mmbuild.util.shipped_data import csrc_tests_dir

COMPILE_TIMEOUT_S = 180.0
_TORCH_SETTINGS_FILES = (("version.py",), ("utils", "cpp_extension.py"))
RUN_TIMEOUT_S = 60.0

_TORCH_BUILD_INFO = r"""
import json, sysconfig
import torch
from torch.utils import cpp_extension as ext
try:
    paths = ext.include_paths(device_type="cpu")
    cuda_paths = ext.include_paths(device_type="cuda") if torch.version.cuda else []
except TypeError:
    paths = ext.include_paths(False)
    cuda_paths = ext.include_paths(True) if torch.version.cuda else []
print(json.dumps({"include": paths, "cuda_include": cuda_paths,
                  "python_include": sysconfig.get_paths()["include"],
                  "nvcc_flags": list(getattr(ext, "COMMON_NVCC_FLAGS", [])),
                  "abi": int(bool(torch._C._GLIBCXX_USE_CXX11_ABI))}))
"""

# The argvs setuptools compiles and links an extension with (torch's builder passes all but the
# first word of compiler_so to the C++ compiler, and links with compiler_cxx), made in the build's
# environment.
_DISTUTILS_COMPILER_SO = r"""
import json
try:
    from setuptools._distutils.ccompiler import new_compiler
    from setuptools._distutils.sysconfig import customize_compiler
except ImportError:
    from distutils.ccompiler import new_compiler
    from distutils.sysconfig import customize_compiler
compiler = new_compiler()
customize_compiler(compiler)
print(json.dumps([list(getattr(compiler, name, None) or []) for name in ("compiler_so", "compiler_cxx")]))
"""


@dataclass
class TorchBuildInfo:
    include_dirs: list[str]
    python_include: str
    cxx11_abi: int
    cuda_include_dirs: list[str] = field(default_factory=list)
    nvcc_flags: list[str] = field(default_factory=list)


@dataclass
class ProbeResult:
    name: str
    ok: bool
    seconds: float = 0.0
    argv: list[str] = field(default_factory=list)
    output: str = ""
    ran: bool = False


def torch_build_info(python: str = sys.executable) -> TorchBuildInfo:
    """torch's extension include dirs and ABI, asked of the target Python in a child process."""
    result = run_command([python, "-c", _TORCH_BUILD_INFO], timeout=120)
    if not result.ok:
        text = (result.error or result.stderr or result.stdout).strip()
        summary = summarise_failure(text)
        detail = summary.excerpt or text[-200:]
        raise BuildFailedError(f"preflight: cannot read torch's build settings: {detail}",
                               fix=summary.fix, problem_id=summary.problem_id)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return TorchBuildInfo(data["include"], data["python_include"], data["abi"],
                          data.get("cuda_include", []), data.get("nvcc_flags", []))


def remembered_torch_build_info(python: str, torch_dir: str | None, folder: Path | None) -> TorchBuildInfo:
    """:func:`torch_build_info`, kept in ``folder`` per torch install: a rebuild with the same torch
    does not import it once more. The key holds the files the answer comes from (torch's
    ``version.py`` and ``cpp_extension.py``, by modification time), so a reinstalled torch is asked
    again."""
    if folder is None or not torch_dir:
        return torch_build_info(python)
    try:
        stamps = [os.stat(Path(torch_dir, *name)).st_mtime_ns for name in _TORCH_SETTINGS_FILES]
    except OSError:
        return torch_build_info(python)
    key = json.dumps([os.path.abspath(python), torch_dir, stamps])
    path = folder / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    try:
        return TorchBuildInfo(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        pass
    info = torch_build_info(python)
    with contextlib.suppress(OSError):        # a read-only cache costs the next run a second
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, dataclasses.asdict(info))
    return info


def cxx_probe_argv(cxx: list[str], source: Path, output: Path, cxx_std: str,
                   info: TorchBuildInfo) -> list[str]:
    includes = [f"-I{d}" for d in (*info.include_dirs, info.python_include)]
    # -Wfatal-errors: stop at the first error, so a broken toolchain fails in seconds.
    return [*cxx, "-c", str(source), "-o", str(output), "-fPIC", "-Wfatal-errors", f"-std={cxx_std}",
            f"-D_GLIBCXX_USE_CXX11_ABI={info.cxx11_abi}", "-DTORCH_API_INCLUDE_EXTENSION_H",
            "-DTORCH_EXTENSION_NAME=mmbuild_probe", *includes]


def build_nvcc_flags(plan: BuildPlan) -> list[str]:
    """The flags the build's .cu units get (MMCV_CUDA_ARGS: the plan's toolchain keeps them as a list)."""
    return list(plan.toolchain.cuda_args) if plan.toolchain else []


def cuda_probe_argv(nvcc: list[str], source: Path, output: Path, plan: BuildPlan,
                    host_compiler: str | None, flags: list[str]) -> list[str]:
    argv = [*nvcc, str(source), "-o", str(output), *flags, f"-std={plan.cxx_std}"]
    if host_compiler:
        argv += ["-ccbin", host_compiler]
    return argv


def torch_cuda_probe_argv(nvcc: list[str], source: Path, plan: BuildPlan, host_compiler: str | None,
                          flags: list[str], info: TorchBuildInfo) -> list[str]:
    """``nvcc -E`` of the torch CUDA probe, with the include dirs and flags torch gives a .cu unit."""
    includes = [f"-I{d}" for d in (*info.cuda_include_dirs, info.python_include)]
    argv = [*nvcc, "-E", str(source), "-o", os.devnull, *includes, *info.nvcc_flags, *flags,
            f"-std={plan.cxx_std}", f"-D_GLIBCXX_USE_CXX11_ABI={info.cxx11_abi}",
            "-DTORCH_API_INCLUDE_EXTENSION_H", "-DTORCH_EXTENSION_NAME=mmbuild_probe"]
    if host_compiler:
        argv += ["-ccbin", host_compiler]
    return argv


def extension_unit_flags(python: str, env: dict[str, str]) -> list[str]:
    """The flags setuptools compiles and links every extension with in ``env``, compile flags first
    (empty where it cannot tell)."""
    result = run_command([python, "-c", _DISTUTILS_COMPILER_SO], timeout=60, env=env)
    if not result.ok:
        return []
    try:
        compiler_so, compiler_cxx = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return []
    flags = [str(flag) for flag in compiler_so[1:]]
    return flags + [str(flag) for flag in compiler_cxx[1:] if str(flag) not in flags]


def python_flags_probe_argv(cxx: list[str], source: Path, output: Path, flags: list[str]) -> list[str]:
    return [*cxx, *flags, "-c", str(source), "-o", str(output)]


def check_python_flags(plan: BuildPlan, build_env: dict[str, str], env: dict[str, str], work_dir: Path,
                        python: str) -> ProbeResult | None:
    """Compile an empty unit with the Python's extension flags; None where there is nothing to check."""
    if platform.system() == "Windows":
        return None
    flags = extension_unit_flags(python, env)
    if not flags:
        return None
    source = work_dir / "python_flags_probe.cpp"
    source.write_text("int mmbuild_python_flags_probe;\n", encoding="utf-8")
    argv = python_flags_probe_argv(_cxx(build_env, plan), source,
                                   work_dir / "python_flags_probe.o", flags)
    result = run_command(argv, timeout=COMPILE_TIMEOUT_S, env=env, cwd=str(work_dir))
    if not result.ok:
        raise _fail("probe of the Python's compiler flags", result)
    return ProbeResult("python_flags_probe.cpp", True, argv=argv)


def _fail(name: str, result: CommandResult) -> BuildFailedError:
    text = "\n".join(p for p in (result.error, result.stdout, result.stderr) if p)
    summary = summarise_failure(text)
    if summary.problem_id is None and result.error:
        summary.excerpt = result.error
    detail = summary.excerpt or text.strip()[-300:]
    return BuildFailedError(f"preflight {name} failed: {detail}", fix=summary.fix,
                            problem_id=summary.problem_id)


def _cxx(build_env: dict[str, str], plan: BuildPlan) -> list[str]:
    """The C++ compiler the build runs: the build environment's CXX (a compiler cache's wrapper where
    there is one), else the plan's toolchain located on PATH."""
    return shlex.split(build_env.get("CXX") or resolve_build_tools(plan).cxx)


def _nvcc(build_env: dict[str, str], plan: BuildPlan) -> list[str]:
    """The nvcc the build runs: the build environment's PYTORCH_NVCC (set from the plan's toolchain, or
    a compiler cache's wrapper), else the plan's toolchain."""
    return shlex.split(build_env.get("PYTORCH_NVCC") or resolve_build_tools(plan).nvcc or "nvcc")


def run_preflight(plan: BuildPlan, build_env: dict[str, str], work_dir: Path, *, gpu_present: bool,
                  python: str = sys.executable, probes_dir: Path | None = None,
                  torch_dir: str | None = None, settings_folder: Path | None = None) -> list[ProbeResult]:
    """Compile (and where possible run) the probes; raises BuildFailedError on the first failure.

    ``torch_dir`` and ``settings_folder``: torch's build settings are kept there per torch install
    (:func:`remembered_torch_build_info`)."""
    probes = probes_dir or csrc_tests_dir()
    work_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **build_env}
    with ThreadPoolExecutor(1) as pool:
        # torch's build settings come from a child that imports torch (a second or more): asked
        # while the first probes compile.
        torch_info = pool.submit(remembered_torch_build_info, python, torch_dir, settings_folder)
        return _run_probes(plan, build_env, env, work_dir, gpu_present, python, probes, torch_info)


def _run_probes(plan: BuildPlan, build_env: dict[str, str], env: dict[str, str], work_dir: Path,
                gpu_present: bool, python: str, probes: Path,
                torch_info: Future[TorchBuildInfo]) -> list[ProbeResult]:
    results: list[ProbeResult] = []
    flags_probe = check_python_flags(plan, build_env, env, work_dir, python)
    if flags_probe is not None:
        results.append(flags_probe)

    if plan.target == "cuda":
        # First: it takes seconds, and catches arch, flag and host-compiler problems.
        nvcc = _nvcc(build_env, plan)
        flags = build_nvcc_flags(plan)
        argv = cuda_probe_argv(nvcc, probes / "cuda_probe.cu", work_dir / "cuda_probe", plan,
                               plan.host_compiler, flags)
        result = run_command(argv, timeout=COMPILE_TIMEOUT_S, env=env, cwd=str(work_dir))
        if not result.ok:
            raise _fail("CUDA probe", result)
        probe = ProbeResult("cuda_probe.cu", True, argv=argv)
        if gpu_present:
            run = run_command([str(work_dir / "cuda_probe")], timeout=RUN_TIMEOUT_S, env=env)
            if not run.ok:
                raise _fail("CUDA probe run", run)
            probe.ran, probe.output = True, run.stdout.strip()
        results.append(probe)

    info = torch_info.result()
    if plan.target == "cuda" and info.cuda_include_dirs:      # a CUDA build of torch (the plan's case)
        argv = torch_cuda_probe_argv(nvcc, probes / "torch_cuda_probe.cu", plan, plan.host_compiler,
                                     flags, info)
        result = run_command(argv, timeout=COMPILE_TIMEOUT_S, env=env, cwd=str(work_dir))
        if not result.ok:
            raise _fail("torch CUDA headers probe", result)
        results.append(ProbeResult("torch_cuda_probe.cu", True, argv=argv))
    argv = cxx_probe_argv(_cxx(build_env, plan), probes / "torch_extension_probe.cpp",
                          work_dir / "torch_extension_probe.o", plan.cxx_std, info)
    result = run_command(argv, timeout=COMPILE_TIMEOUT_S, env=env, cwd=str(work_dir))
    if not result.ok:
        raise _fail("C++ probe (torch and Python headers)", result)
    results.append(ProbeResult("torch_extension_probe.cpp", True, argv=argv))
    return results
