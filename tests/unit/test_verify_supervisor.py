"""A crashing kernel is recorded and the others still run (real worker processes)."""

import os
import sys
from pathlib import Path

import pytest

from mmbuild.verify.supervisor import run_worker

# The worker processes import torch.
pytest.importorskip("torch")

FAKE = Path(__file__).parent.parent / "fixtures" / "verify" / "fake_mmcv"
ROOT = Path(__file__).parent.parent.parent


def _env(**extra):
    path = os.pathsep.join([str(FAKE), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, **extra}


def test_abort_in_one_op_is_a_segfault_result_and_the_next_op_runs():
    info, results = run_worker("cpu", ["nms", "bbox_overlaps"], 7, python=sys.executable,
                               env=_env(FAKE_MMCV_NMS="abort"))
    by_name = {r.name: r for r in results}
    assert (by_name["nms"].status, by_name["nms"].id) == ("fail", "segfault")
    assert by_name["bbox_overlaps"].status == "pass"
    assert info["mmcv"]["version"] == "0.0.0+fake"
    assert sum(r.name == "import mmcv" for r in results) == 1


def test_wrong_result_from_a_real_worker_fails():
    _, results = run_worker("cpu", ["nms"], 7, python=sys.executable, env=_env(FAKE_MMCV_NMS="wrong"))
    assert [r.status for r in results if r.name == "nms"] == ["fail"]


def test_the_worker_lists_the_real_ext_functions_for_the_cpu_inventory():
    from mmbuild.verify.report import CheckResult
    from mmbuild.verify.supervisor import coverage_of

    info, _ = run_worker("cpu", ["nms"], 7, python=sys.executable, env=_env())
    assert info["ext_functions"] == ["bbox_overlaps", "nms"]
    info = {**info, "mmcv": {"version": "2.2.0"}, "ext_functions": ["nms", "roi_pool_forward"]}
    skipped = CheckResult("roi_align", "numeric", "cpu", "skip", message="no CPU kernel in this mmcv")
    coverage = coverage_of(info, [skipped])
    assert coverage.no_cpu_kernel == ["roi_pool_forward"]
