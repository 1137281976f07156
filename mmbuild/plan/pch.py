"""Whether the C++ units compile torch's headers once, as a precompiled header (mmbuild/build/pch.py).

On by default where it is known to work: GCC on Linux or macOS (GCC finds ``<header>.gch``
beside the header an ``#include`` names). Clang reads GCC-style ``.gch`` files only through
``-include``, and MSVC needs ``/Yc``/``/Yu``: there the units compile as before. ``--no-pch``
turns it off.
"""

from __future__ import annotations

from mmbuild.model.environment import Compiler, Environment
from mmbuild.plan.switch import Switch
from mmbuild.plan.toolchain import host_toolchain


def choose_pch(env: Environment, compiler: Compiler | None, wanted: bool) -> Switch:
    if not wanted:
        return Switch(False, "--no-pch")
    why_not = host_toolchain(env).pch_support(compiler)
    if why_not:
        return Switch(False, why_not)
    return Switch(True, "pytorch_cpp_helper.hpp and pytorch_device_registry.hpp compiled once, "
                           "not in every C++ unit")
