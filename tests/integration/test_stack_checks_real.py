"""The stack checks of `mmbuild verify` on a real stack: the session's stack install (mmcv 2.1.0,
mmdet 3.3.0, and mmengine 0.10.7 and mmsegmentation 1.2.2 built from their sdists with mmbuild's
patches; tests/integration/conftest.py ``stack_venv``).
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

pytestmark = pytest.mark.integration

CHECKED = ("mmdet", "mmsegmentation")


def _verify(stack_venv, *extra: str) -> tuple[dict, float]:
    started = time.monotonic()
    argv = [stack_venv["python"], "-m", "mmbuild", "verify", "--device", "cpu", "--json", *extra]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, env=stack_venv["env"])
    return json.loads(done.stdout), time.monotonic() - started


def test_every_stack_check_passes_on_the_cpu(stack_venv):
    report, seconds = _verify(stack_venv)
    stack = [c for c in report["checks"] if c["kind"] == "stack"]
    for check in stack:
        print(f"{check['status']:4} {check['seconds']:6.1f}s {check['name']}: {check['message'][:120]}")
    print(f"mmbuild verify with stack checks: {seconds:.0f} s")
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert failed == [] and report["ok"], failed
    for package in CHECKED:
        names = {c["name"] for c in stack if c["name"].startswith(f"{package} ") and c["status"] == "pass"}
        assert {f"{package} bounds", f"{package} import", f"{package} runner resume"} <= names
        assert any(n.endswith(" inference") for n in names) and any(n.endswith(" train step") for n in names)
    ops = {name for c in stack for name in (c.get("data") or {}).get("ext_calls", {})}
    assert {"nms", "roi_align_forward", "roi_align_backward", "psamask_forward", "psamask_backward"} <= ops
    assert all(c["seconds"] > 0 for c in stack if c["name"].endswith(("inference", "train step", "resume")))


def test_no_stack_leaves_them_out(stack_venv):
    report, _ = _verify(stack_venv, "--no-stack", "--ops", "nms")
    assert report["checks"] and not [c for c in report["checks"] if c["kind"] == "stack"]


def test_the_patched_wheels_carry_their_patches(stack_venv):
    read = ("import json, importlib.resources as r\n"
            "for m in ('mmengine', 'mmseg'):\n"
            "    print(json.dumps(json.loads(r.files(m).joinpath('_mmbuild_patches.json').read_text())))\n")
    done = subprocess.run([stack_venv["python"], "-c", read], capture_output=True, text=True,
                          env=stack_venv["env"], check=True)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["package"] for r in records] == ["mmengine", "mmsegmentation"]
    assert "mmengine-checkpoint-safe-globals" in records[0]["patches"]
    assert all(len(r["sdist_sha256"]) == 64 for r in records)
