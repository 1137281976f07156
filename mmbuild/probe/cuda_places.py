"""Where CUDA toolkits are looked for, each place with the label the probe reports it by (``found_by``).

In this order:

- the variables users and installers set: ``CUDA_HOME``, ``CUDA_PATH``, Windows' ``CUDA_PATH_V*``
  (one per installed version), and the HPC module systems' ``CUDA_ROOT``, ``CUDA_TOOLKIT_ROOT_DIR``
  and ``CUDAToolkit_ROOT`` (CMake's names; Lmod/Environment Modules ``cuda`` modules set them);
- every ``nvcc`` on ``PATH``, not only the first (label ``PATH``);
- NVIDIA's installer: ``/usr/local/cuda`` and ``/usr/local/cuda-*`` (label ``/usr/local``);
- the distribution's package (label ``distro``): Debian's and Ubuntu's ``nvidia-cuda-toolkit`` put a
  wrapper ``/usr/bin/nvcc`` for ``/usr/lib/nvidia-cuda-toolkit/bin/nvcc``, the headers in
  ``/usr/include`` and the libraries in ``/usr/lib/<triple>``, so its home is ``/usr`` (torch's own
  lookup says the same); Arch's ``cuda`` package is ``/opt/cuda`` (label ``/opt/cuda``);
- conda's toolkit under ``$CONDA_PREFIX`` (``bin/nvcc``, headers in ``targets/<triple>/include``;
  ``Library`` on Windows) (label ``conda``);
- a toolkit pip-installed beside the running Python: ``site-packages/nvidia/cu13/bin/nvcc`` of the
  ``cuda-toolkit`` wheels (label ``pip``).
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mmbuild.probe.nvidia_wheels import nvidia_wheel_paths

HOME_VARIABLES = ("CUDA_HOME", "CUDA_PATH")
MODULE_VARIABLES = ("CUDA_ROOT", "CUDA_TOOLKIT_ROOT_DIR", "CUDAToolkit_ROOT")
DISTRO_TOOLKIT = ("usr", "lib", "nvidia-cuda-toolkit")   # Debian's and Ubuntu's real nvcc folder

# What each label means, for the listing of ``mmbuild env``.
DESCRIPTIONS = {
    "PATH": "an nvcc on PATH",
    "/usr/local": "NVIDIA's installer (/usr/local/cuda*)",
    "distro": "the distribution's nvidia-cuda-toolkit package",
    "/opt/cuda": "the distribution's cuda package (/opt/cuda)",
    "conda": "conda ($CONDA_PREFIX)",
    "pip": "pip-installed into this Python (nvidia/cu*/bin/nvcc)",
    "store": "mmbuild's toolkit store",
}


@dataclass(frozen=True)
class Place:
    found_by: str            # a variable's name, or a key of DESCRIPTIONS
    home: str                # the folder that should hold bin/nvcc
    nvcc: str | None = None  # the nvcc found there (PATH entries: possibly a wrapper outside any toolkit)


def variable_places(environ: dict[str, str], platform: str = sys.platform) -> list[Place]:
    """``CUDA_HOME``, ``CUDA_PATH``, ``CUDA_PATH_V*`` (Windows, newest first), then the module variables."""
    names = list(HOME_VARIABLES)
    if platform == "win32":
        names += sorted((k for k in environ if k.startswith("CUDA_PATH_V")), reverse=True)
    names += MODULE_VARIABLES
    return [Place(name, environ[name]) for name in names if environ.get(name)]


def path_places(environ: dict[str, str], nvcc_name: str) -> list[Place]:
    """Every nvcc on ``PATH``, in ``PATH`` order, each with ``<its folder>/..`` as the home to try first."""
    places = []
    for folder in (environ.get("PATH") or "").split(os.pathsep):
        nvcc = os.path.join(folder, nvcc_name) if folder else ""
        if nvcc and os.path.isfile(nvcc) and os.access(nvcc, os.X_OK):
            places.append(Place("PATH", str(Path(nvcc).parent.parent), nvcc))
    return places


def fixed_places(root: str = "/") -> list[Place]:
    """NVIDIA's installer's folders, the distribution's package, ``/opt/cuda``, under ``root``."""
    usr_local = os.path.join(root, "usr", "local")
    installer = sorted(glob.glob(os.path.join(usr_local, "cuda"))) + sorted(
        glob.glob(os.path.join(usr_local, "cuda-*")))
    places = [Place("/usr/local", home) for home in installer]
    if os.path.isdir(os.path.join(root, *DISTRO_TOOLKIT, "bin")):
        places.append(Place("distro", os.path.join(root, "usr")))
    places.append(Place("/opt/cuda", os.path.join(root, "opt", "cuda")))
    return places


def conda_places(environ: dict[str, str], platform: str = sys.platform) -> list[Place]:
    prefix = environ.get("CONDA_PREFIX")
    if not prefix:
        return []
    return [Place("conda", os.path.join(prefix, "Library") if platform == "win32" else prefix)]


def pip_places(site_dirs: Sequence[str], nvcc_name: str) -> list[Place]:
    """Toolkits pip installed into these site-packages: ``nvidia/<folder>/bin/nvcc``, ``cu<major>`` first."""
    places = []
    for site_dir in site_dirs:
        places += [Place("pip", str(nvcc.parent.parent), str(nvcc))
                   for nvcc in nvidia_wheel_paths(site_dir, f"bin/{nvcc_name}") if nvcc.is_file()]
    return places


def all_places(environ: dict[str, str], nvcc_name: str, *, root: str = "/", site_dirs: Sequence[str] = (),
               platform: str = sys.platform) -> list[Place]:
    """Every place in the module docstring's order, before deduplication."""
    fixed = fixed_places(root) if platform != "win32" else []
    return (variable_places(environ, platform) + path_places(environ, nvcc_name) + fixed
            + conda_places(environ, platform) + pip_places(site_dirs, nvcc_name))
