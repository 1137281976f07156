"""Where the CUDA headers that torch's CUDA headers include are: the toolkit, or torch's wheels.

A full CUDA toolkit holds them in ``<home>/include`` (``<home>/targets/<triple>/include`` on
some layouts); an nvcc-only toolkit does not. A CUDA build of torch from the package index
brings NVIDIA's library wheels, whose headers lie beside torch in ``site-packages/nvidia/cu13/include``
(CUDA 13) or ``site-packages/nvidia/<library>/include`` (CUDA 12 and 11). Each function maps a
header name to the first include dir that holds it, in the order given.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from mmbuild.knowledge.torch_facts import cuda_headers_needed
from mmbuild.probe.nvidia_wheels import nvidia_wheel_paths


def toolkit_include_dirs(home: str) -> list[str]:
    """A toolkit's include dirs: ``include/``, then ``targets/*/include/``."""
    dirs = [os.path.join(home, "include"), *sorted(glob.glob(os.path.join(home, "targets", "*", "include")))]
    return [d for d in dirs if os.path.isdir(d)]


def wheel_include_dirs(torch_path: str | None) -> list[str]:
    """Include dirs of NVIDIA's wheels beside torch: ``nvidia/cu<major>/`` first, then per library."""
    if not torch_path:
        return []
    return [str(d) for d in nvidia_wheel_paths(Path(torch_path).parent, "include") if d.is_dir()]


def locate_headers(include_dirs: list[str], headers: list[str] | None = None) -> dict[str, str]:
    """Header name -> the first of ``include_dirs`` that holds it (headers found nowhere are left out)."""
    found: dict[str, str] = {}
    for header in headers if headers is not None else cuda_headers_needed():
        for folder in include_dirs:
            if os.path.isfile(os.path.join(folder, header)):
                found[header] = folder
                break
    return found
