"""The C++ compile wrapper (mmbuild/build/pch.py) run for real with g++ on small trees shaped like mmcv's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmbuild.build.pch import COMMON, PchFiles

GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="needs g++")

REGISTRY = "#ifndef PYTORCH_DEVICE_REGISTRY_H\n#define PYTORCH_DEVICE_REGISTRY_H\n#include <set>\n#endif\n"


def write_helpers(root: Path, helper: str) -> Path:
    """mmcv's two helper headers under ``root``'s common folder (``helper`` as pytorch_cpp_helper.hpp)."""
    common = root / COMMON
    common.mkdir(parents=True)
    (common / "pytorch_cpp_helper.hpp").write_text(helper)
    (common / "pytorch_device_registry.hpp").write_text(REGISTRY)
    return common


def run_wrapper(root: Path, files: PchFiles, source: str, obj: str, flags: tuple[str, ...] = ("-O2", "-fPIC"),
                extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m mmbuild.build.pch g++ ... -c source -o obj`` in ``root``, as ninja runs a unit."""
    env = {**os.environ, "MMBUILD_PCH_SOURCE": str(files.source), "MMBUILD_PCH_OUTPUT": str(files.output),
           **(extra_env or {})}
    argv = [sys.executable, "-m", "mmbuild.build.pch", GXX, "-MMD", "-MF", f"{obj}.d", *flags,
            f"-I{root / COMMON}", "-c", source, "-o", obj]
    return subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def defined_symbols(obj: Path, kinds: str | None = None) -> list[str]:
    """The global symbols an object defines (``nm --defined-only -g``), only those of ``kinds`` if given."""
    out = subprocess.run(["nm", "--defined-only", "-g", str(obj)], capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    return sorted(row[-1] for row in rows if kinds is None or row[1:2] and row[1] in kinds)
