"""Which patch specs mmcv's sources need (torch's headers on Windows: plan/toolchain/msvc.py)."""

from __future__ import annotations

from packaging.version import Version

from mmbuild.knowledge.mmcv_versions import FORK
from mmbuild.knowledge.versions import parse_version
from mmbuild.model.environment import Environment


def mmcv_patches(env: Environment, target: str, package: str = "mmcv") -> list[str]:
    """Patch ids for the sources of ``package`` (mmcv, mmcv-full or onedl-mmcv).

    Every supported mmcv imports pkg_resources in setup.py and hard-codes its C++ standard; on Python
    3.13 and newer its setup.py's get_version() reads exec's result through locals(), which no longer
    sees it (PEP 667). CUDA builds also get MMCV_CUDA_ARGS split into separate nvcc arguments, an
    overridable THREADS_PER_BLOCK and, when torch ships no THC headers, ATen's atomics.
    onedl-mmcv's setup.py imports no pkg_resources and reads no locals(); it gets the other changes
    from its own specs (patches/onedl-mmcv).
    """
    if package == FORK:
        patches = ["onedl-mmcv-setup-cxx-std"]
        if target == "cuda":
            patches += ["onedl-mmcv-setup-cuda-args", "onedl-mmcv-threads-per-block"]
            if env.torch is not None and env.torch.thc_headers is False:
                patches.append("onedl-mmcv-thc-atomics")
        return patches
    patches = ["mmcv-setup-pkg-resources", "mmcv-setup-cxx-std"]
    python = parse_version(env.python.version)
    if python is not None and python >= Version("3.13"):
        patches.append("mmcv-setup-version-locals")
    if target == "cuda":
        patches += ["mmcv-setup-cuda-args", "mmcv-threads-per-block"]
        if env.torch is not None and env.torch.thc_headers is False:
            patches.append("mmcv-thc-atomics")
    return patches

