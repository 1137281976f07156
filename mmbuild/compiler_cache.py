"""Compiler cache wiring (ccache or sccache) for the build's environment.

Choice: ``--compiler-cache ccache|sccache|none``; by default ccache when installed, else
sccache when installed, else none.

Wiring, on top of the plan's environment:

- CXX (the compiler torch's extension builder runs for C++ sources) points at a wrapper:
  ccache's masquerade link (``/usr/lib/ccache/g++``) when the compiler has one, else a
  two-line shell script ``exec <cache> <compiler> "$@"`` in the build's work folder. CC is
  left alone: torch hands it to nvcc as ``-ccbin``, where nvcc must see the real compiler.
  torch's extension builder would prepend a wrapper on its own (whichever of ccache/sccache
  it finds first); TORCH_NO_COMPILER_WRAPPER=1 stops that so the chosen cache is the only one.
- nvcc goes through ``PYTORCH_NVCC="<cache> <nvcc>"`` with
  ``TORCH_EXTENSION_SKIP_NVCC_GEN_DEPENDENCIES=1`` (nvcc's dependency flags defeat caching).
- ccache: CCACHE_BASEDIR=<the source tree> and CCACHE_NOHASHDIR=1, so hits survive different
  temporary source folders: paths inside the tree become relative to ninja's build/temp.*
  folder (the same in every tree), while torch's include paths outside it stay absolute (the
  same for one Python environment). A base dir of / would make those relative too, and then
  they would differ with the depth of each tree.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from mmbuild.errors import UsageError

KINDS = ("ccache", "sccache", "none")
MASQUERADE_DIRS = ("/usr/lib/ccache", "/usr/lib64/ccache", "/usr/local/opt/ccache/libexec")


def choose_compiler_cache(requested: str | None, which: Callable[[str], str | None] = shutil.which) -> str:
    """The compiler cache to use; an explicitly requested one must be installed."""
    if requested == "none":
        return "none"
    if requested in ("ccache", "sccache"):
        if not which(requested):
            raise UsageError(f"--compiler-cache {requested}: {requested} is not installed",
                             fix=f"install {requested} or use --compiler-cache none")
        return requested
    if requested is not None:
        raise UsageError(f"unknown compiler cache {requested!r} (expected one of {', '.join(KINDS)})")
    for kind in ("ccache", "sccache"):
        if which(kind):
            return kind
    return "none"


def _masquerade(compiler: str) -> str | None:
    name = os.path.basename(compiler)
    for folder in MASQUERADE_DIRS:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


def _wrapper_script(folder: Path, tool: str, compiler: str, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(f'#!/bin/sh\nexec {tool} {compiler} "$@"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(script)


def compiler_cache_env(kind: str, *, cxx: str, nvcc: str | None, wrapper_dir: Path,
                       source_root: Path | None = None,
                       which: Callable[[str], str | None] = shutil.which) -> dict[str, str]:
    """Environment variables that route the build's compilers through ``kind``."""
    if kind == "none":
        return {"TORCH_NO_COMPILER_WRAPPER": "1"}
    tool = which(kind) or kind
    env = {"TORCH_NO_COMPILER_WRAPPER": "1"}
    resolved = which(cxx) or cxx
    masq = _masquerade(resolved) if kind == "ccache" else None
    # A masquerade link runs the first compiler of that name on PATH: use it only when that
    # is the chosen compiler.
    if masq and which(os.path.basename(resolved)) == resolved:
        env["CXX"] = masq
    else:
        env["CXX"] = _wrapper_script(wrapper_dir, tool, resolved, f"{kind}-{os.path.basename(resolved)}")
    if nvcc:
        env["PYTORCH_NVCC"] = f"{tool} {nvcc}"
        env["TORCH_EXTENSION_SKIP_NVCC_GEN_DEPENDENCIES"] = "1"
    if kind == "ccache":
        env["CCACHE_BASEDIR"] = os.environ.get("CCACHE_BASEDIR") or str(source_root or "/")
        env["CCACHE_NOHASHDIR"] = "1"
    return env
