"""`mmbuild verify` against a really built mmcv.

The interpreter checked is ``$MMBUILD_VERIFY_PYTHON`` when set, else the fresh venv of the session's
one real ``mmbuild install`` (tests/integration/conftest.py; running this file alone builds it).
"""

import json
import os
import subprocess
import time

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def python(request) -> str:
    configured = os.environ.get("MMBUILD_VERIFY_PYTHON")
    if configured:
        return configured
    request.getfixturevalue("first_install")
    return request.getfixturevalue("venv")["python"]


def test_mmcv_with_compiled_ops_is_there(python):
    done = subprocess.run([python, "-c", "from mmcv import _ext"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_cpu_check_passes_within_a_minute(python):
    started = time.monotonic()
    done = subprocess.run([python, "-m", "mmbuild", "verify", "--device", "cpu", "--no-stack", "--json"],
                          capture_output=True, text=True, timeout=300)
    seconds = time.monotonic() - started
    report = json.loads(done.stdout)
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert failed == [] and done.returncode == 0, failed
    assert seconds < 60
    numeric = [c for c in report["checks"] if c["kind"] == "numeric" and c["status"] == "pass"]
    assert len({c["name"].split(":")[0] for c in numeric}) >= 20
    skipped = {c["name"] for c in report["checks"] if c["status"] == "skip" and c["kind"] == "numeric"}
    assert {"roi_pool", "sigmoid_focal_loss", "multi_scale_deformable_attn"} <= skipped
    assert {"roi_pool_forward", "sigmoid_focal_loss_forward", "ms_deform_attn_forward"} <= set(
        report["no_cpu_kernel"])
    assert not {"nms", "roi_align_forward", "psamask_forward"} & set(report["no_cpu_kernel"])


def test_a_replayed_seed_gives_the_same_inputs_and_results(python):
    runs = [subprocess.run([python, "-m", "mmbuild", "verify", "--device", "cpu", "--ops",
                            "nms_rotated,pixel_group", "--seed", "4242", "--no-stack", "--json"],
                           capture_output=True, text=True, timeout=120) for _ in range(2)]
    reports = [json.loads(r.stdout) for r in runs]
    assert reports[0]["seed"] == reports[1]["seed"] == 4242
    results = [[(c["name"], c["status"], c["max_error"]) for c in r["checks"] if c["kind"] == "numeric"]
               for r in reports]
    assert results[0] == results[1] and results[0]
