"""Which cuobjdump reads a build's ``_ext``, and its register listing.

A cuobjdump reads the code of its own CUDA release and older ones, and one machine may hold
several (Debian's 11.8 in /usr/bin beside NVIDIA's 13.0). They are tried in this order: the
cuobjdump of the toolkit that built mmcv (its home is in the wheel's embedded metadata), then
every other one found, newest first: those of the toolkits the probe finds (mmbuild/probe/
cuda_places.py), each cuobjdump on ``PATH``, NVIDIA's wheel (``pip install nvidia-cuda-cuobjdump``)
in the target Python's site-packages. The first one that lists kernels is used; when none does, the
check says which were tried and what would read the code, and the tools' own errors go in its data.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mmbuild.knowledge.versions import release
from mmbuild.probe.cuda import discover_toolkits, parse_nvcc_version
from mmbuild.probe.nvidia_wheels import nvidia_wheel_paths
from mmbuild.util.process import run_command
from mmbuild.verify.resource_usage import KernelRegisters, parse_cuobjdump_resource_usage, unique_kernels

CUOBJDUMP = "cuobjdump.exe" if os.name == "nt" else "cuobjdump"
LISTING_TIMEOUT_S = 120.0
VERSION_TIMEOUT_S = 10.0
ROOT = "/"   # where the probe's fixed places (/usr/local/cuda*, /usr, /opt/cuda) are looked for
NO_KERNELS = "listed no kernels"


@dataclass
class Cuobjdump:
    path: str
    version: str | None = None    # "11.8" from ``cuobjdump --version``; None when it did not say
    built_with: bool = False      # the cuobjdump of the toolkit that built the library

    def describe(self) -> str:
        return f"{self.path} (CUDA {self.version or '?'}{', the build toolkit' if self.built_with else ''})"


@dataclass
class Listing:
    """The registers per kernel cuobjdump listed, the one that listed them, and every one tried."""
    kernels: list[KernelRegisters] = field(default_factory=list)
    tool: Cuobjdump | None = None
    tried: list[tuple[Cuobjdump, str | None]] = field(default_factory=list)  # each with its error, if any

    def tried_data(self) -> list[dict[str, str | None]]:
        return [{"path": t.path, "version": t.version, "error": error} for t, error in self.tried]


def wheel_cuobjdumps(site_dirs: Iterable[str | Path]) -> list[Path]:
    """cuobjdump from NVIDIA's wheel in these site-packages: ``nvidia/cu<major>/bin/cuobjdump`` (the
    CUDA 13 wheels' layout), then any ``nvidia/*/bin/cuobjdump``."""
    found: list[Path] = []
    for site_dir in site_dirs:
        for tool in nvidia_wheel_paths(site_dir, f"bin/{CUOBJDUMP}"):
            if tool.is_file() and tool not in found:
                found.append(tool)
    return found


def cuobjdump_version(path: str) -> str | None:
    """``cuobjdump --version`` -> "11.8" (its "Cuda compilation tools, release 11.8" line)."""
    result = run_command([path, "--version"], timeout=VERSION_TIMEOUT_S)
    return parse_nvcc_version(result.stdout) if result.ok else None


def found_cuobjdumps(site_dirs: Iterable[str | Path] = (),
                     environ: dict[str, str] | None = None) -> list[str]:
    """Every cuobjdump found, in the probe's order: toolkits' ``bin/``, ``PATH``, then the wheels."""
    environ = dict(os.environ) if environ is None else environ
    sites = [str(s) for s in site_dirs]
    homes = [home for home, _, _ in discover_toolkits(environ, root=ROOT, site_dirs=sites)]
    paths = [os.path.join(home, "bin", CUOBJDUMP) for home in homes]
    for folder in (environ.get("PATH") or "").split(os.pathsep):
        if folder and shutil.which(CUOBJDUMP, path=folder):
            paths.append(os.path.join(folder, CUOBJDUMP))
    paths += [str(p) for p in wheel_cuobjdumps(sites)]
    unique: dict[str, str] = {}
    for path in paths:
        if os.path.isfile(path):
            unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())


def cuobjdumps(built_with: str | None = None, site_dirs: Iterable[str | Path] = (),
               environ: dict[str, str] | None = None) -> list[Cuobjdump]:
    """The cuobjdumps to try, in order: the one in ``built_with`` (the build toolkit's home), then every
    other one found, newest first (those that do not say their version last)."""
    own = os.path.join(built_with, "bin", CUOBJDUMP) if built_with else None
    first = [Cuobjdump(own, cuobjdump_version(own), built_with=True)] if own and os.path.isfile(own) else []
    seen = {os.path.realpath(own)} if first else set()
    others = [Cuobjdump(p, cuobjdump_version(p)) for p in found_cuobjdumps(site_dirs, environ)
              if os.path.realpath(p) not in seen]
    others.sort(key=lambda tool: tuple(-n for n in release(tool.version) or (-1,)))
    return first + others


def list_registers(ext_path: str, tools: list[Cuobjdump]) -> Listing:
    """The first of ``tools`` whose ``--dump-resource-usage`` of ``ext_path`` lists kernels."""
    listing = Listing()
    for tool in tools:
        result = run_command([tool.path, "--dump-resource-usage", ext_path], timeout=LISTING_TIMEOUT_S)
        kernels = unique_kernels(parse_cuobjdump_resource_usage(result.stdout)) if result.ok else []
        error = None if result.ok else (result.error or result.stderr.strip()[:300] or "failed")
        listing.tried.append((tool, error if error else (None if kernels else NO_KERNELS)))
        if kernels:
            listing.kernels, listing.tool = kernels, tool
            return listing
    return listing


def unread_message(listing: Listing, built_with_version: str | None) -> str:
    """Why register use went unchecked, naming the cuobjdumps tried and what would read the code."""
    tried = ", ".join(tool.describe() for tool, _ in listing.tried)
    if all(error == NO_KERNELS for _, error in listing.tried):
        return f"cuobjdump listed no kernels in _ext: register use not checked (tried {tried})"
    built = f" (built with CUDA {built_with_version})" if built_with_version else ""
    newer = f" of CUDA {built_with_version} or newer" if built_with_version else ""
    return (f"register use not checked: no cuobjdump here reads _ext's code{built}; tried {tried}. "
            f"A cuobjdump{newer} reads it (pip install nvidia-cuda-cuobjdump)")
