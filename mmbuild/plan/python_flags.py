"""The target Python's own compiler flags (sysconfig CFLAGS) that the build's compiler rejects.

setuptools compiles every extension unit with the flags the Python was built with, and torch's
extension builder passes them on to the C++ compiler. Standalone CPythons built with clang carry
clang-only flags there (python-build-standalone's releases of late 2023, uv's managed CPython
3.11.6 and 3.12.0 among them, ship ``-fdebug-default-version=4``), which GCC rejects for every
unit and for the link. The plan gives the build ``CFLAGS`` and ``CXXFLAGS`` holding the Python's
flags without them: setuptools 75.7 and newer compile with ``$CFLAGS`` and link C++ with
``$CXXFLAGS`` instead of sysconfig's CFLAGS; older ones append ``$CFLAGS``, so the flags stay and
the plan says so as an error.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from packaging.version import Version

from mmbuild.knowledge.versions import parse_version
from mmbuild.model.environment import Compiler, Environment
from mmbuild.model.findings import Finding, finding
from mmbuild.plan.toolchain import host_toolchain

# Flags only clang knows, found in the sysconfig CFLAGS of clang-built Pythons.
CLANG_ONLY_FLAGS = (re.compile(r"-fdebug-default-version=\d+"),)
# From this release on, setuptools' distutils uses $CFLAGS instead of sysconfig's CFLAGS.
SETUPTOOLS_CFLAGS_REPLACE = Version("75.7")


@dataclass
class FlagsChoice:
    env: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    stripped: list[str] = field(default_factory=list)


def clang_only_flags(cflags: str | None) -> list[str]:
    """The flags in ``cflags`` that only clang accepts, in order."""
    return [flag for flag in _split(cflags) if any(p.fullmatch(flag) for p in CLANG_ONLY_FLAGS)]


def without_clang_only_flags(cflags: str) -> str:
    """``cflags`` with the clang-only flags removed (the rest kept in order)."""
    return shlex.join(flag for flag in _split(cflags) if not any(p.fullmatch(flag) for p in CLANG_ONLY_FLAGS))


def choose_python_flags(env: Environment, compiler: Compiler | None) -> FlagsChoice:
    """CFLAGS and CXXFLAGS for the build when the Python's own flags hold ones GCC rejects."""
    if not host_toolchain(env).rejects_clang_only_flags(compiler):
        return FlagsChoice()
    sysconfig_flags = env.python.cflags or ""
    # $CFLAGS / $CXXFLAGS replace sysconfig's CFLAGS for compiling / linking (setuptools >= 75.7).
    sources = {name: sysconfig_flags if env.env_vars.get(name) is None else env.env_vars[name]
               for name in ("CFLAGS", "CXXFLAGS")}
    setuptools = parse_version(env.packages.get("setuptools"))
    appends = setuptools is not None and setuptools < SETUPTOOLS_CFLAGS_REPLACE
    if appends:
        sources["CFLAGS"] = f"{sysconfig_flags} {env.env_vars.get('CFLAGS') or ''}"
    rejected = list(dict.fromkeys(flag for text in sources.values() for flag in clang_only_flags(text)))
    if not rejected:
        return FlagsChoice()
    flags, gcc = " ".join(rejected), f"GCC {compiler.version or ''}".strip()
    if appends:
        old = finding("python-flags-gcc-rejects", message_key="old_setuptools", flags=flags, compiler=gcc,
                      setuptools=env.packages["setuptools"])
        return FlagsChoice(findings=[old])
    return FlagsChoice(env={name: without_clang_only_flags(text) for name, text in sources.items()
                            if clang_only_flags(text)},
                       findings=[finding("python-flags-gcc-rejects", "info", message_key="stripped",
                                         flags=flags, compiler=gcc)],
                       stripped=rejected)


def _split(cflags: str | None) -> list[str]:
    try:
        return shlex.split(cflags or "")
    except ValueError:
        return (cflags or "").split()
