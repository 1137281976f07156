"""Compiler wrappers: a shell script that runs a Python module in front of a compiler command."""

from __future__ import annotations

import shlex
import stat
import subprocess
import sys
from pathlib import Path


def module_script(folder: Path, name: str, module: str, before: list[str]) -> str:
    """``<folder>/<name>``: ``exec <this python> -m <module> <before...> "$@"`` for a compile (an
    argument ``-c``); any other call (``g++ -v``, the link) runs ``<before...> "$@"`` as it is,
    without starting Python (torch's builder asks the compiler its version four times a build).
    Returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    command = shlex.join([sys.executable, "-m", module, *before])
    plain = " ".join([*(shlex.quote(a) for a in before), '"$@"'])
    script.write_text(f'#!/bin/sh\ncase " $* " in *" -c "*) ;; *) exec {plain} ;; esac\n'
                      f'exec {command} "$@"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(script)


def split_compiler(argv: list[str]) -> tuple[list[str], list[str]]:
    """``[wrapper..., compiler, args...]``: the command is everything up to the first option."""
    first_option = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    return argv[:first_option], argv[first_option:]


def compiled_source(args: list[str], suffixes: tuple[str, ...]) -> Path | None:
    """The source file with one of ``suffixes`` that a compile command (``-c``) names, else None."""
    if "-c" not in args:
        return None
    return next((Path(a) for a in args if a.endswith(suffixes) and not a.startswith("-")), None)


def compiles(argv: list[str]) -> bool:
    """Run a compile; when it works, pass its output on and return True, else keep its errors back."""
    done = subprocess.run(argv, capture_output=True)
    if done.returncode != 0:
        return False
    sys.stdout.buffer.write(done.stdout)
    sys.stderr.buffer.write(done.stderr)
    return True
