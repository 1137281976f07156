"""Compile a unity unit (build/unity.py); where it does not compile as one, unit by unit.

Run by the C++ compile wrapper (build/pch.py). The fallback compiles each grouped unit with the
unity unit's own flags and joins the objects with the compiler's relocatable link (``-r``) into
the one object the build expects, with one dependency file listing every unit's headers (which
ccache's depend mode records). The unity unit's errors are summed up in one line of the log.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from mmbuild.build.pch import unit_flags
from mmbuild.build.pch_store import parse_depfile
from mmbuild.build.unity import unity_members
from mmbuild.diagnose.summary import summarise_failure
from mmbuild.util.argv import option_value
from mmbuild.util.wrapper import compiles

FALLBACK_NOTE = "does not compile as one unit"
_FALLBACK_LINE = re.compile(r"^mmbuild: (\S+) " + re.escape(FALLBACK_NOTE), re.M)


def member_args(args: Sequence[str], member: Path, obj: Path, deps: Path, extra: Sequence[str]) -> list[str]:
    """The unity unit's compile arguments turned into one member's (source, object, dependency file)."""
    return [*unit_flags(list(args)), *extra, "-c", "-MMD", "-MF", str(deps), "-o", str(obj),
            "-x", "c++", str(member)]


def _compile_member(command: Sequence[str], args: Sequence[str], member: Path, obj: Path, deps: Path,
                    extra: Sequence[str]) -> int:
    """One grouped unit as it was compiled before grouping: with ``extra`` (the helper in front),
    else as it is."""
    if extra and compiles([*command, *member_args(args, member, obj, deps, extra)]):
        return 0
    return subprocess.run([*command, *member_args(args, member, obj, deps, [])]).returncode


def compile_unity(command: Sequence[str], args: Sequence[str], unity: Path, extra: Sequence[str] = ()) -> int:
    """Compile ``unity`` as one, else unit by unit (module docstring); the exit status."""
    done = subprocess.run([*command, *args], capture_output=True)
    if done.returncode == 0:
        sys.stdout.buffer.write(done.stdout)
        sys.stderr.buffer.write(done.stderr)
        return 0
    output, deps = option_value(args, "-o"), option_value(args, "-MF")
    members = unity_members(unity.read_text(encoding="utf-8"), unity)
    if output is None or not members:
        sys.stderr.buffer.write(done.stderr)
        return done.returncode
    reason = summarise_failure(done.stderr.decode(errors="replace")).excerpt or "no output"
    sys.stderr.write(f"mmbuild: {unity.name} {FALLBACK_NOTE} ({reason[:300]}); "
                     f"compiling its {len(members)} units one by one\n")
    with tempfile.TemporaryDirectory(dir=Path(output).parent) as tmp:
        objects, prerequisites = [], [str(unity)]
        for number, member in enumerate(members):
            obj, dep = Path(tmp) / f"{number}.o", Path(tmp) / f"{number}.d"
            status = _compile_member(command, args, member, obj, dep, extra)
            if status != 0:
                return status
            objects.append(str(obj))
            prerequisites += parse_depfile(dep.read_text(encoding="utf-8"))
        joined = subprocess.run([command[-1], "-r", "-nostdlib", "-o", output, *objects])
        if joined.returncode != 0:
            return joined.returncode
    if deps:
        listed = (path.replace(" ", "\\ ") for path in dict.fromkeys(prerequisites))
        Path(deps).write_text(f"{output}: " + " \\\n ".join(listed) + "\n", encoding="utf-8")
    return 0


def describe_fallbacks(log_text: str) -> str:
    """``; unity units compiled unit by unit: a, b`` from a build log, or nothing."""
    names = list(dict.fromkeys(_FALLBACK_LINE.findall(log_text)))
    return f"; unity units compiled unit by unit: {', '.join(names)}" if names else ""
