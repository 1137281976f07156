"""The toolkit store: CUDA toolkits mmbuild provisioned, one folder per major.minor.

Its part of the cache folder (util/cache_dirs.py)::

    toolkits/cuda-13.0/site/          the wheels, as ``pip install --target`` laid them out
    toolkits/cuda-13.0/home           the CUDA_HOME a build uses: a link to the wheels' folder
                                      (site/nvidia/cu13), completed with lib64 and libcudart.so
    toolkits/cuda-12.4/home/          from NVIDIA's redist archives: their top folders merged (bin/,
                                      include/, lib/, nvvm/), completed with lib64 and targets/
    toolkits/cuda-13.0/toolkit.json   the version nvcc reports and the source: the requirement and
                                      the packages, or the release, URL and archives (sha256)
    toolkits/cuda-13.0.lock           held while that version is provisioned or removed
    toolkits/.cuda-13.0.partial-PID/  a provisioning in progress (renamed into place when complete)

A folder without toolkit.json, or whose nvcc, cicc or headers are gone, is not a toolkit: the next
provisioning replaces it.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from mmbuild.knowledge.cuda_wheels import RECORD, toolkit_folder
from mmbuild.util.cache_dirs import cache_dir, sweep_dead_runs

# What a build needs from a provisioned home; any of them missing means the folder is broken.
ESSENTIALS = ("bin/nvcc", "bin/cudafe++", "bin/ptxas", "nvvm/bin/cicc", "include/cuda_runtime.h",
              "lib64/libcudart.so")
_PARTIAL = re.compile(r"^\.cuda-[\d.]+\.partial-(\d+)$")


def store_root() -> Path:
    return cache_dir("toolkits")


def folder_of(version: str, store: Path | None = None) -> Path:
    return Path(toolkit_folder(str(store or store_root()), version))


def missing_parts(folder: Path) -> list[str]:
    """What a provisioned toolkit folder lacks ([] for a complete one)."""
    if not (folder / RECORD).is_file():
        return [RECORD]
    return [part for part in ESSENTIALS if not (folder / "home" / part).exists()]


def read_record(folder: Path) -> dict:
    try:
        return json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def locked(version: str, store: Path | None = None, timeout: float = -1) -> Iterator[None]:
    """Hold the lock of one version (provisioning and removal take it)."""
    root = store or store_root()
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f"cuda-{version}.lock"), timeout=timeout):
        yield


def sweep_partials(store: Path | None = None) -> list[Path]:
    """Remove the partial folders of provisionings whose process is gone; the ones removed."""
    return sweep_dead_runs(store or store_root(), _PARTIAL)


def remove(folder: Path) -> bool:
    """Remove one provisioned toolkit unless a provisioning holds its lock; False when it is in use."""
    version = folder.name.removeprefix("cuda-")
    try:
        with locked(version, folder.parent, timeout=0):
            shutil.rmtree(folder, ignore_errors=True)
    except Timeout:
        return False
    return True
