"""Debug info in the compiled ops: none by default (``-g0``); ``--debug-symbols`` keeps what units inherit.

Where ``-g`` comes from: torch's cpp_extension compiles each C++ unit with distutils' ``compiler_so``,
whose flags are Python's sysconfig CFLAGS (``-DNDEBUG -g -fwrapv -O3 -Wall`` on most Linux Pythons)
and ``$CFLAGS`` from the environment; mmcv's own ``extra_compile_args`` add no ``-g``. setuptools
before 75.7 append ``$CFLAGS`` to Python's flags; later ones compile with ``$CFLAGS`` and link C++
with ``$CXXFLAGS`` in place of Python's (python_flags.py), so a bare ``CFLAGS=-g0`` would also drop
``-O3`` and ``-DNDEBUG``. The build's ``CFLAGS`` and ``CXXFLAGS`` are therefore the flags the build
would get anyway (the Python flags step's, else the user's, else Python's), less their debug
options, plus ``-g0`` last: with either setuptools every other flag stays, and the last ``-g``
option, which wins, is ``-g0``. The precompiled header is built from a unit's own command line
(build/pch.py), so it gets the same ``-g0`` and shrinks with it. nvcc gives the host compiler no
``-g`` unless nvcc itself gets ``-g`` (torch adds none to ``.cu`` units), so the host passes of
``.cu`` units have none either way.

Debug info changes neither code nor exported symbols, but it is part of the binary (and of the
compiler cache's and the precompiled header's keys), so the fingerprint and the wheel's metadata
record the choice. MSVC builds carry no debug info unless ``/Zi`` or ``/Z7`` is given; distutils'
MSVC compiler ignores ``CFLAGS``, so nothing is changed there. Where Python's flags are not known
(an environment report from an older mmbuild), the units keep them and the plan says so.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from mmbuild.plan.toolchain import toolchain_for

NO_DEBUG_FLAG = "-g0"
_DEBUG_OPTION = re.compile(r"-g(|[0-3]|gdb[0-3]?|dwarf(-[0-9])?|split-dwarf)")


FLAG_VARIABLES = ("CFLAGS", "CXXFLAGS")


@dataclass(frozen=True)
class DebugInfoChoice:
    keep: bool                 # True: the units keep the inherited -g
    env: dict[str, str]        # the build's CFLAGS and CXXFLAGS; empty: left as they are
    reason: str


def without_debug_options(flags: str) -> list[str]:
    """``flags`` split, less ``-g``, ``-g2``, ``-ggdb``, ``-gdwarf-4`` and the like."""
    try:
        split = shlex.split(flags)
    except ValueError:
        split = flags.split()
    return [flag for flag in split if not _DEBUG_OPTION.fullmatch(flag)]


def inherited_flags(python_cflags: str | None, user_env: dict[str, str | None], planned: dict[str, str]
                    ) -> dict[str, str | None]:
    """What CFLAGS and CXXFLAGS would hold in the build: the plan's, else the user's, else Python's."""
    found = {}
    for name in FLAG_VARIABLES:
        user = user_env.get(name)
        found[name] = planned.get(name, user if user is not None else python_cflags)
    return found


def choose_debug_info(system: str, python_cflags: str | None, user_env: dict[str, str | None],
                      planned: dict[str, str], keep: bool) -> DebugInfoChoice:
    """Whether the build drops debug info, and the ``CFLAGS`` and ``CXXFLAGS`` that do it."""
    if keep:
        return DebugInfoChoice(True, {}, "--debug-symbols: the units keep -g from Python's CFLAGS")
    ignored = toolchain_for(system).debug_flags_ignored()
    if ignored:
        return DebugInfoChoice(False, {}, ignored)
    inherited = inherited_flags(python_cflags, user_env, planned)
    if inherited["CFLAGS"] is None:
        return DebugInfoChoice(True, {}, "Python's CFLAGS are not in the environment report (made by "
                                         "an older mmbuild): the units keep them, -g included")
    env = {name: shlex.join([*without_debug_options(flags), NO_DEBUG_FLAG])
           for name, flags in inherited.items() if flags is not None}
    source = "your CFLAGS" if user_env.get("CFLAGS") is not None else "Python's CFLAGS"
    return DebugInfoChoice(False, env, f"{source} without -g, and -g0 last: a wheel needs no debug "
                                       "info, and the C++ units compile in about half the time "
                                       "(--debug-symbols keeps it)")
