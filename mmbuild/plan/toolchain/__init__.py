"""The host toolchain a build compiles with, behind one interface: GCC or Clang (unix.py), MSVC (msvc.py).

Everything the plan decides differently on Windows is a method of :class:`HostToolchain`; the plan's
steps ask ``host_toolchain(env)`` rather than testing the operating system. Pure, like all of plan/.
"""

from __future__ import annotations

from typing import Protocol

from mmbuild.model.environment import Compiler, Environment
from mmbuild.model.findings import Finding
from mmbuild.plan.compiler import CompilerChoice
from mmbuild.plan.toolchain.msvc import MsvcToolchain
from mmbuild.plan.toolchain.settings import PlatformSettings
from mmbuild.plan.toolchain.unix import UnixToolchain

__all__ = ["HostToolchain", "PlatformSettings", "host_toolchain", "toolchain_for"]


class HostToolchain(Protocol):
    """What differs between host toolchains, as the plan asks it."""

    name: str
    path_separator: str      # between the folders of CPATH and PATH-like variables

    def choose_compiler(self, env: Environment, cuda_version: str | None,
                        requested_cxx: str | None) -> CompilerChoice:
        """The C++ standard and the host compiler (``cuda_version``: the nvcc in use, None for CPU)."""

    def compiler_id(self, env: Environment, host_compiler: str | None) -> dict:
        """The compiler as the fingerprint names it."""

    def pch_support(self, compiler: Compiler | None) -> str | None:
        """Why the C++ units cannot share a precompiled header (None: they can)."""

    def narrow_includes_support(self) -> str | None:
        """Why the ``.cu`` units cannot get narrow torch includes (None: they can)."""

    def rejects_clang_only_flags(self, compiler: Compiler | None) -> bool:
        """Whether ``compiler`` gets the Python's sysconfig CFLAGS and fails on clang-only ones."""

    def accepts_toolkit(self, env: Environment, cuda_version: str | None) -> bool:
        """Whether nvcc ``cuda_version`` accepts a compiler of this machine as its host compiler."""

    def platform_settings(self, env: Environment, target: str, cuda_version: str | None,
                          patch_torch: bool) -> PlatformSettings:
        """The build variables, nvcc arguments and torch-header patches this host needs."""

    def host_findings(self, env: Environment) -> list[Finding]:
        """Problems of the host itself, whatever the build."""

    def debug_flags_ignored(self) -> str | None:
        """Why the build's CFLAGS do not decide the units' debug info (None: they do)."""

    def split_args(self, text: str | None) -> list[str]:
        """MMCV_CUDA_ARGS as the separate arguments mmcv's patched setup.py gives nvcc."""

    def join_args(self, tokens: list[str]) -> str:
        """The MMCV_CUDA_ARGS text that ``split_args`` splits back into ``tokens``."""


_TOOLCHAINS: dict[str, HostToolchain] = {"Windows": MsvcToolchain()}
_DEFAULT: HostToolchain = UnixToolchain()


def toolchain_for(system: str) -> HostToolchain:
    """The toolchain of operating system ``system`` (``platform.system()``'s name)."""
    return _TOOLCHAINS.get(system, _DEFAULT)


def host_toolchain(env: Environment) -> HostToolchain:
    """The toolchain of ``env``'s operating system."""
    return toolchain_for(env.os.system)
