"""Unity units in a real CPU build of mmcv 2.2.0 (the fresh venv's torch, g++, ccache where installed).

``--ops roi_align,bezier_align,nms`` built twice: with unity units (the default) and with
``--no-unity``. cpu/roi_align.cpp and cpu/bezier_align.cpp define the same ``PreCalc`` and
``bilinear_interpolate_gradient``, so they must land in different unity units; every group must
compile as one (no fallback), and the ``_ext`` of both wheels must define the same strong symbols
(mmcv's own functions). Weak ones (inline functions and template instances of the headers) may
differ: the compiler inlines differently in a larger translation unit.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from ext_exports import wheel_exports, wheel_metadata
from real_install import build_mmcv

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("nm") is None, reason="nm (binutils) is not installed")]

OPS = "roi_align,bezier_align,nms"


def _build(venv: dict, out: Path, *extra: str) -> dict:
    return build_mmcv(venv["python"], venv["env"], out, "--ops", OPS, *extra)


def _unity_report(wheel: str) -> dict | None:
    return wheel_metadata(wheel).get("unity_report")


def test_unity_units_build_with_the_strong_exports_of_unit_by_unit(venv, tmp_path):
    unity = _build(venv, tmp_path / "unity")
    assert unity["plan"]["unity"] is True
    stages = {s["stage"]: s for s in unity["steps"]}
    # roi_align.cpp and nms.cpp include <torch/csrc/utils/pybind.h> too: a group of their own
    assert stages["unity"]["detail"].endswith("in 3 unity units, 1 alone (pybind.cpp)"), stages["unity"]
    assert "unit by unit" not in stages["build"]["detail"], stages["build"]["detail"]
    groups = _unity_report(unity["wheel"])["groups"]
    apart = [[u for u in units if u.endswith(("cpu/roi_align.cpp", "cpu/bezier_align.cpp"))]
             for units in groups.values()]
    assert sorted(len(a) for a in apart) == [0, 1, 1], groups
    pybind_units = ["mmcv/ops/csrc/pytorch/nms.cpp", "mmcv/ops/csrc/pytorch/roi_align.cpp"]
    assert pybind_units in [sorted(units) for units in groups.values()], groups
    with zipfile.ZipFile(unity["wheel"]) as archive:          # the wheel keeps every source it was built from
        shipped = set(archive.namelist())
    assert {f"{unit}.inc" for units in groups.values() for unit in units} <= shipped
    assert set(groups) <= shipped

    alone = _build(venv, tmp_path / "alone", "--no-unity")
    assert alone["plan"]["unity"] is False and "unity" not in {s["stage"] for s in alone["steps"]}
    assert alone["plan"]["fingerprint"] != unity["plan"]["fingerprint"]
    assert _unity_report(alone["wheel"]) is None
    strong = wheel_exports(unity["wheel"], tmp_path / "unity-ext", kinds="TDBR")
    assert strong and strong == wheel_exports(alone["wheel"], tmp_path / "alone-ext", kinds="TDBR")
    for name in ("ROIAlignForwardCPULauncher", "BezierAlignForwardCPULauncher", "nms_cpu"):
        assert any(name in symbol for symbol in strong), name
