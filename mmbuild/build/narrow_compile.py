"""The compile wrapper of narrowed units: a unit whose narrow compile fails compiles as it was.

``python -m mmbuild.build.narrow_compile <compiler...> <args...>`` runs the compiler; when the unit
has a narrow header beside it (:mod:`mmbuild.build.narrow_includes`) it puts that header in front
(``-include``), and when that compile fails it says so in one line and compiles the unit once more
without it: the original unit, token for token. Other commands (link lines, units without a narrow
header) pass straight through.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

from mmbuild.build.narrow_includes import narrow_header_of
from mmbuild.errors import EXIT_EXEC_FAILED, EXIT_OK
from mmbuild.util.wrapper import compiled_source, compiles, split_compiler

SOURCE_SUFFIXES = (".cu", ".cpp", ".cc", ".cxx")
FALLBACK_NOTE = "does not compile with narrow torch includes; compiling it with the full ones"


def unit_source(args: list[str]) -> Path | None:
    """The source file a compile command names, if it names one."""
    return compiled_source(args, SOURCE_SUFFIXES)


def describe_fallbacks(log_text: str) -> str:
    """The build step's note: how many narrowed units compiled as they were (the wrapper's lines)."""
    fell_back = sorted(set(re.findall(rf"mmbuild: (\S+) {re.escape(FALLBACK_NOTE)}", log_text)))
    if not fell_back:
        return "; narrow includes: no unit fell back"
    return f"; narrow includes: {len(fell_back)} unit(s) compiled as they were ({', '.join(fell_back)})"


def wrapper_command(before: list[str]) -> str:
    """``python -m mmbuild.build.narrow_compile <before...>`` as one shell command: torch writes it into
    build.ninja as nvcc (``PYTORCH_NVCC``), so each unit's line in the build log names the nvcc behind it."""
    return shlex.join([sys.executable, "-m", "mmbuild.build.narrow_compile", *before])


def main(argv: list[str] | None = None) -> int:
    """Compile narrow, and as the original where that fails."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command, args = split_compiler(argv)
    source = unit_source(args)
    header = narrow_header_of(source) if source is not None else None
    if header is not None and header.is_file():
        if compiles([*command, *args, "-include", str(header)]):
            return EXIT_OK
        sys.stderr.write(f"mmbuild: {source.name} {FALLBACK_NOTE}\n")
    os.execvp(command[0], [*command, *args])
    return EXIT_EXEC_FAILED  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main())
