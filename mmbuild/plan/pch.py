"""Whether the C++ units compile torch's headers once, as a precompiled header (mmbuild/build/pch.py).

On by default where it is known to work: GCC on Linux or macOS (GCC finds ``<header>.gch``
beside the header an ``#include`` names). Clang reads GCC-style ``.gch`` files only through
``-include``, and MSVC needs ``/Yc``/``/Yu``: there the units compile as before. ``--no-pch``
turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmbuild.model.environment import Compiler, Environment
from mmbuild.plan.toolchain import host_toolchain


@dataclass
class PchChoice:
    enabled: bool
    reason: str


def choose_pch(env: Environment, compiler: Compiler | None, wanted: bool) -> PchChoice:
    if not wanted:
        return PchChoice(False, "--no-pch")
    why_not = host_toolchain(env).pch_support(compiler)
    if why_not:
        return PchChoice(False, why_not)
    return PchChoice(True, "pytorch_cpp_helper.hpp and pytorch_device_registry.hpp compiled once, "
                           "not in every C++ unit")
