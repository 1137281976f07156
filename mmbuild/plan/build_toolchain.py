"""The compilers a build runs, decided once: the C++ compiler, nvcc and nvcc's arguments.

CXX: the plan's choice (``--cxx`` or the host compiler chosen for the toolkit, which the build
environment names), else the user's ``CXX``, else ``c++``. nvcc: the user's ``PYTORCH_NVCC`` (torch's
extension builder runs that command instead of ``$CUDA_HOME/bin/nvcc``), else the build toolkit's.
The preflight probes exactly these, the build runs them and the fingerprint covers a PYTORCH_NVCC.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

from mmbuild.model.build_plan import Toolchain
from mmbuild.model.environment import CudaToolkit, Environment


def resolve_toolchain(env: Environment, build_env: dict[str, str], host_compiler: str | None,
                      toolkit: CudaToolkit | None, cuda_args: list[str]) -> Toolchain:
    """The toolchain of a plan whose build variables are ``build_env`` (``toolkit`` None: CPU build)."""
    if build_env.get("CXX"):
        cxx, cxx_from = build_env["CXX"], "plan"
    elif env.env_vars.get("CXX"):
        cxx, cxx_from = env.env_vars["CXX"], "CXX"
    else:
        cxx, cxx_from = host_compiler or "c++", "host compiler" if host_compiler else "default"
    if toolkit is None:
        return Toolchain(cxx, cxx_from)
    user_nvcc = env.env_vars.get("PYTORCH_NVCC")
    if user_nvcc:
        nvcc, nvcc_from = user_nvcc, "PYTORCH_NVCC"
    else:
        path = PureWindowsPath if env.os.system == "Windows" else PurePosixPath
        nvcc, nvcc_from = str(path(toolkit.home) / "bin" / "nvcc"), "toolkit"
    return Toolchain(cxx, cxx_from, nvcc, nvcc_from, toolkit, list(cuda_args))


def fingerprint_inputs(toolchain: Toolchain | None) -> dict:
    """What the toolchain adds to the fingerprint beyond the compiler's kind and version and the CUDA
    version: a user's own nvcc command (none otherwise, so that earlier fingerprints hold)."""
    if toolchain is not None and toolchain.nvcc_from == "PYTORCH_NVCC":
        return {"nvcc_command": toolchain.nvcc}
    return {}
