"""Narrow torch includes in a real CUDA build (nvcc 13, the index's CUDA torch 2.13.0, no GPU).

``--ops nms,voxelization,bias_act`` for sm_90, built twice from the mmcv 2.2.0 sdist: with narrow
includes (the default) and with ``--no-narrow-includes``. nms_cuda.cu compiles narrow, and so does
bias_act_cuda.cu, which names ``torch::`` (torch's ``torch/types.h`` without ``<ATen/ATen.h>`` in
front); voxelization_cuda.cu uses Tensor operators (``coors_map - 1``), which only the full headers
declare, so its narrow compile fails and the wrapper compiles it as it was. Both wheels' ``_ext``
must export the same symbols.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ext_exports import wheel_exports, wheel_metadata
from real_install import build_mmcv

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("nm") is None, reason="nm (binutils) is not installed")]

OPS = "nms,voxelization,bias_act"


def _build(cuda_venv: dict, out: Path, *extra: str) -> dict:
    return build_mmcv(cuda_venv["python"], cuda_venv["env"], out, "--arch", "9.0", "--ops", OPS, *extra)


def test_narrowed_units_build_with_the_exports_of_the_full_includes(cuda_venv, tmp_path):
    narrow = _build(cuda_venv, tmp_path / "narrow")
    assert narrow["plan"]["narrow_includes"] is True
    stages = {s["stage"]: s for s in narrow["steps"]}
    assert stages["narrow-includes"]["detail"] == ".cu units: 3 narrowed, 0 left as they are"
    build = stages["build"]["detail"]
    assert "narrow includes: 1 unit(s) compiled as they were (voxelization_cuda.cu)" in build, build
    report = wheel_metadata(narrow["wheel"])["narrow_report"]
    assert report["narrowed"]["pytorch/cuda/nms_cuda.cu"] == ["empty", "zeros"]
    assert report["narrowed"]["pytorch/cuda/bias_act_cuda.cu"] == ["empty_like"]
    assert "unique_dim" in report["narrowed"]["pytorch/cuda/voxelization_cuda.cu"]

    full = _build(cuda_venv, tmp_path / "full", "--no-narrow-includes")
    assert full["plan"]["narrow_includes"] is False
    assert full["plan"]["fingerprint"] != narrow["plan"]["fingerprint"]
    assert "narrow-includes" not in {s["stage"] for s in full["steps"]}
    assert "narrow_report" not in wheel_metadata(full["wheel"])
    exports = wheel_exports(narrow["wheel"], tmp_path / "narrow-ext")
    assert exports and exports == wheel_exports(full["wheel"], tmp_path / "full-ext")
    assert any("nms" in name for name in exports) and any("voxel" in name.lower() for name in exports)
    assert any("bias_act" in name for name in exports)
