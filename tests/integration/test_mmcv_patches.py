"""Every mmcv spec on the real mmcv 2.1.0, 2.2.0 and mmcv-full 1.7.2 sdists, and every
onedl-mmcv spec on the real onedl-mmcv 2.3.6 sdist.

Sdists come from MMBUILD_TEST_SDIST_DIR (files named like ``mmcv-2.2.0.tar.gz`` or
``onedl_mmcv-2.3.6.tar.gz``), else they are downloaded once (tests/mmcv_sources.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mmcv_sources import extract_sdist

from mmbuild.patching import apply_patches
from mmbuild.source.sdist import identify_tree

pytestmark = pytest.mark.integration

MMCV_IDS = ["mmcv-setup-pkg-resources", "mmcv-setup-cxx-std", "mmcv-setup-cuda-args",
            "mmcv-threads-per-block", "mmcv-thc-atomics"]
SDISTS = [("mmcv", "2.1.0"), ("mmcv", "2.2.0"), ("mmcv-full", "1.7.2")]
ONEDL_IDS = ["onedl-mmcv-setup-cxx-std", "onedl-mmcv-setup-cuda-args", "onedl-mmcv-threads-per-block",
             "onedl-mmcv-thc-atomics"]
ONEDL_SDISTS = [("onedl-mmcv", "2.3.6")]
PATCHED_FILES = {
    "setup.py", "mmcv/ops/csrc/common/cuda/common_cuda_helper.hpp",
    "mmcv/ops/csrc/common/pytorch_cuda_helper.hpp", "mmcv/ops/csrc/pytorch/cuda/ms_deform_attn_cuda.cu"}



@pytest.mark.parametrize(("package", "version"), SDISTS)
def test_all_mmcv_specs_on_real_sdist(tmp_path: Path, package: str, version: str) -> None:
    root = extract_sdist(package, version, tmp_path)
    kw = {"package": package, "version": version, "platform": "linux"}

    report = apply_patches(root, MMCV_IDS, **kw)
    assert [h.status for h in report.hunks] == ["applied"] * 9, report.to_dict()
    assert {f.file for f in report.files} == PATCHED_FILES
    setup = (root / "setup.py").read_text()
    assert "pkg_resources" not in setup
    assert "[cuda_args]" not in setup and "shlex.split(cuda_args" in setup
    sources = [p for p in root.rglob("*") if p.suffix in (".cu", ".cuh", ".hpp", ".h", ".cpp")]
    assert not [p for p in sources if "THC/THCAtomics.cuh" in p.read_text(errors="replace")]

    compiled = subprocess.run([sys.executable, "-m", "py_compile", "setup.py"], cwd=root,
                              capture_output=True, text=True, timeout=60)
    assert compiled.returncode == 0, compiled.stderr
    shown = subprocess.run([sys.executable, "setup.py", "--version"], cwd=root, capture_output=True,
                           text=True, timeout=120, env={**os.environ, "MMBUILD_CXX_STD": "c++20"})
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.strip().splitlines()[-1] == version

    again = apply_patches(root, MMCV_IDS, **kw)
    assert {h.status for h in again.hunks} == {"already-applied"} and not again.changed


@pytest.mark.parametrize(("package", "version"), ONEDL_SDISTS)
def test_all_onedl_specs_on_real_sdist(tmp_path: Path, package: str, version: str) -> None:
    root = extract_sdist(package, version, tmp_path)
    assert identify_tree(root) == (package, version)
    kw = {"package": package, "version": version, "platform": "linux"}

    report = apply_patches(root, ONEDL_IDS, **kw)
    assert [h.status for h in report.hunks] == ["applied"] * 8, report.to_dict()
    assert {f.file for f in report.files} == PATCHED_FILES
    setup = (root / "setup.py").read_text()
    assert "[cuda_args]" not in setup and "shlex.split(cuda_args" in setup and "MMBUILD_CXX_STD" in setup
    sources = [p for p in root.rglob("*") if p.suffix in (".cu", ".cuh", ".hpp", ".h", ".cpp")]
    assert not [p for p in sources if "THC/THCAtomics.cuh" in p.read_text(errors="replace")]

    # Its version comes from pyproject.toml (setuptools >= 77 reads its license expression).
    shown = subprocess.run([sys.executable, "setup.py", "--version"], cwd=root, capture_output=True,
                           text=True, timeout=120, env={**os.environ, "MMBUILD_CXX_STD": "c++20"})
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.strip().splitlines()[-1] == version

    again = apply_patches(root, ONEDL_IDS, **kw)
    assert {h.status for h in again.hunks} == {"already-applied"} and not again.changed
