"""The stack checks' own logic: bounds, the package table, counted op calls, the worker supervision."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from mmbuild.verify.stack import bounds, packages
from mmbuild.verify.stack.ext_calls import counted_ext_calls, describe_calls, missing_ops
from mmbuild.verify.stack.supervisor import _device_choice, _one_worker

FIXTURES = Path(__file__).parent.parent / "fixtures" / "verify" / "stack"


def _checks(name: str, mmcv: str | None, mmengine: str | None = "0.10.7") -> list[bounds.BoundCheck]:
    return bounds.bound_checks((FIXTURES / name).read_text(), {"mmcv": mmcv, "mmengine": mmengine})


def test_mmseg_refuses_mmcv_2_2_0_and_takes_2_1_0():
    status, message = bounds.bounds_verdict(_checks("mmseg-1.2.2-init-excerpt.py.txt", "2.2.0"))
    assert status == "fail"
    assert message == "mmcv 2.2.0 is outside >=2.0.0rc4, <2.2.0; mmengine 0.10.7 fits >=0.5.0, <1.0.0"
    assert bounds.bounds_verdict(_checks("mmseg-1.2.2-init-excerpt.py.txt", "2.1.0"))[0] == "pass"


def test_a_local_version_label_and_a_prerelease_are_judged_by_their_release():
    labelled = _checks("mmseg-1.2.2-init-excerpt.py.txt", "2.1.0+torch2.13cpu")
    assert bounds.bounds_verdict(labelled)[0] == "pass"
    assert bounds.bounds_verdict(_checks("mmseg-1.2.2-init-excerpt.py.txt", "2.0.0rc3"))[0] == "fail"
    assert bounds.bounds_verdict(_checks("mmpretrain-1.2.0-init-excerpt.py.txt", "2.2.0"))[0] == "pass"


def test_a_missing_dependency_fails_and_no_declared_bound_passes():
    checks = _checks("mmpretrain-1.2.0-init-excerpt.py.txt", "2.1.0", mmengine=None)
    assert [c.holds for c in checks] == [True, False]
    assert checks[1].describe() == "mmengine not installed is outside >=0.8.3, <1.0.0"
    assert bounds.bound_checks("import mmcv\n", {"mmcv": "2.2.0"})[0].describe() == "mmcv: no bound declared"


def test_every_check_model_names_a_config_and_forks_map_to_their_package():
    assert packages.model_for("onedl-mmdetection").distribution == "mmdet"
    assert packages.model_for("numpy") is None
    assert packages.stack_ops() == ["nms", "psamask", "roi_align"]
    assert packages.stack_ops(["mmpretrain", "mmdet"]) == ["nms", "roi_align"]
    assert all(m.config.endswith(".py") for m in packages.STACK_MODELS)


def test_mmdet_2_x_is_checked_through_mmcv_runner_and_3_x_through_mmengine():
    older = packages.model_for("mmdet", "2.28.2")
    assert (older.framework, older.config) == ("mmcv-runner", "faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py")
    assert older.ops == ("nms", "roi_align")
    for version in ("3.3.0", "3.0.0rc6", None, "not-a-version"):
        assert packages.model_for("mmdet", version).framework == "mmengine", version
    assert packages.model_for("mmdet", "2.25.0+local").framework == "mmcv-runner"
    assert packages.model_for("mmsegmentation", "0.30.0").framework == "mmengine"   # no 0.x model


def test_calls_into_ext_are_counted_and_the_originals_put_back():
    def nms(x):
        return x + 1

    ext = SimpleNamespace(nms=nms, nms_rotated=nms, roi_align_forward=nms, bbox_overlaps=nms)
    with counted_ext_calls(ext, ("nms", "roi_align")) as counts:
        ext.nms(1)
        ext.nms(2)
        ext.bbox_overlaps(3)
        assert ext.nms(0) == 1
    assert dict(counts) == {"nms": 3}
    assert ext.nms is nms and ext.roi_align_forward is nms
    assert describe_calls(counts) == "nms x3"
    assert missing_ops(counts, ("nms", "roi_align")) == ["roi_align"]


@pytest.mark.parametrize(("devices", "choice"), [
    (None, "all"), (["cpu"], "cpu"), (["cuda"], "cuda"), (["cuda:0", "cpu"], "all"),
])
def test_device_choice(devices, choice):
    assert _device_choice(devices) == choice


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "worker.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return [sys.executable, str(path)]


EMIT = """
import json, os, sys, time
def send(event, **kw):
    print(json.dumps({"event": event, **kw}), flush=True)
def result(name, status="pass"):
    send("result", check={"name": name, "kind": "stack", "device": "cpu", "status": status})
"""


def test_a_worker_killed_in_a_check_names_that_check(tmp_path):
    argv = _script(tmp_path, EMIT + """
result("mmdet import")
send("start", name="mmdet faster-rcnn inference", device="cpu")
sys.stderr.write("Fatal Python error: Segmentation fault\\n"); sys.stderr.flush()
os.kill(os.getpid(), 9)
""")
    results, done = [], set()
    in_flight, why = _one_worker(argv, None, time.monotonic() + 60, results, done)
    assert in_flight == ("mmdet faster-rcnn inference", "cpu")
    assert why == "killed by SIGKILL: Fatal Python error: Segmentation fault"
    assert done == {"mmdet import@cpu"}


def test_a_worker_past_its_time_limit_is_stopped(tmp_path):
    argv = _script(tmp_path, EMIT + """
send("start", name="mmdet runner resume", device="cpu")
time.sleep(60)
""")
    started = time.monotonic()
    in_flight, why = _one_worker(argv, None, time.monotonic() + 1.5, [], set())
    assert time.monotonic() - started < 30
    assert in_flight == ("mmdet runner resume", "cpu")
    assert why.startswith("timed out")


def _torch(cuda: str | None, gpus: int) -> SimpleNamespace:
    """A stand-in for torch's device queries (a CUDA torch, with or without GPUs, is not installed in
    the unit-test venv); the attributes are the ones the worker reads."""
    return SimpleNamespace(__version__=f"2.13.0+{'cu130' if cuda else 'cpu'}",
                           version=SimpleNamespace(cuda=cuda),
                           cuda=SimpleNamespace(is_available=lambda: gpus > 0, device_count=lambda: gpus))


def test_cuda_parts_are_skipped_without_a_gpu_and_run_on_every_gpu():
    from mmbuild.verify.stack.worker import devices_for

    assert devices_for("all", _torch(None, 0)) == (["cpu"], None)
    devices, absent = devices_for("all", _torch("13.0", 0))
    assert devices == ["cpu"] and "no GPU visible" in absent
    assert devices_for("cuda", _torch("13.0", 0))[0] == []
    assert devices_for("all", _torch("13.0", 2)) == (["cpu", "cuda:0", "cuda:1"], None)
    assert devices_for("cpu", _torch("13.0", 2)) == (["cpu"], None)
