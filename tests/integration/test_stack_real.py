"""The stack for real, in the session's fresh venv (CPU torch 2.13.0; tests/integration/conftest.py):

- before: mmcv 2.2.0 under mmsegmentation 1.2.2, the FAQ's first trouble: env, plan and verify name
  it before the user meets the AssertionError (fixture ``stale_mmcv``);
- ``mmbuild install mmdet==3.3.0 mmsegmentation==1.2.2`` repairs it: mmcv 2.1.0 built, both packages
  installed beside it, their models run through mmcv's ops (fixture ``first_install``);
- a conflicting request and bad input change nothing.
"""

from __future__ import annotations

import json

import pytest
from real_install import run

pytestmark = pytest.mark.integration

REFUSAL = "mmsegmentation 1.2.2 refuses the installed mmcv 2.2.0"


def _refusals(report: dict) -> list[str]:
    return [f["message"] for f in report.get("findings", []) if f["id"] == "mmcv-version-incompatible"]


def test_env_plan_and_verify_name_the_stale_mmcv(stale_mmcv):
    said = stale_mmcv["said"]
    assert "MMCV==2.2.0 is used but incompatible" in "".join(stale_mmcv["import_mmseg"])
    for command in ("env", "plan", "verify"):
        assert any(m.startswith(REFUSAL) for m in _refusals(said[command]["report"])), command
    assert said["env"]["returncode"] == 0 and said["plan"]["returncode"] == 0
    assert said["plan"]["report"]["mmcv"]["version"] == "2.1.0"
    stack = [c for c in said["verify"]["report"]["checks"] if c["kind"] == "stack"]
    assert any(c["status"] == "fail" and "mmsegmentation" in c["name"] for c in stack), stack
    assert said["verify"]["returncode"] == 5


def _freeze(venv) -> list[str]:
    done = run([venv["python"], "-m", "pip", "freeze", "--all"], venv["env"], timeout=300)
    assert done.returncode == 0, done.stderr
    return sorted(done.stdout.splitlines())


def test_the_stack_install_repairs_it_and_runs_each_package_model(venv, first_install):
    report = first_install["report"]
    assert [(p["name"], p["version"]) for p in report["stack"]["downstream"]] == [
        ("mmdet", "3.3.0"), ("mmsegmentation", "1.2.2")]
    assert report["stack"]["mmcv"] == "mmcv==2.1.0"
    stack = [c for c in report["verify"]["checks"] if c["kind"] == "stack"]
    assert stack and all(c["status"] == "pass" for c in stack if c["device"] == "cpu"), stack
    assert not [c for c in stack if c["device"].startswith("cuda") and c["status"] == "pass"]
    names = " ".join(c["name"] for c in stack)
    for package in ("mmdet", "mmsegmentation"):
        assert package in names
    done = run([venv["python"], "-c", "import mmdet, mmseg, mmcv; print(mmcv.__version__)"],
               venv["env"],
               timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    env = run([venv["python"], "-m", "mmbuild", "env", "--json"], venv["env"], timeout=300)
    assert _refusals(json.loads(env.stdout)) == []


def test_a_conflicting_request_exits_3_naming_the_bounds_and_changes_nothing(venv, first_install):
    before = _freeze(venv)
    done = run([venv["python"], "-m", "mmbuild", "install", "mmdet==2.28.2", "mmpretrain==1.2.0"],
               venv["env"], timeout=900)
    assert done.returncode == 3, done.stderr[-3000:]
    assert "mmdet==2.28.2 requires mmcv-full" in done.stderr
    assert "mmpretrain==1.2.0 requires mmcv" in done.stderr
    assert _freeze(venv) == before


@pytest.mark.parametrize("request_", ["mmdetz", "mmdet==9.9", "requests"])
def test_bad_requests_exit_2_in_one_line_and_change_nothing(venv, first_install, request_):
    before = _freeze(venv)
    done = run([venv["python"], "-m", "mmbuild", "install", request_], venv["env"], timeout=900)
    assert done.returncode == 2, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("mmbuild: error")]
    assert len(errors) == 1, done.stderr
    assert _freeze(venv) == before


def test_no_network_exits_2(venv, first_install, tmp_path):
    env = {**venv["env"], "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_EXTRA_INDEX_URL": "",
           "MMBUILD_CACHE_DIR": str(tmp_path / "cache")}
    done = run([venv["python"], "-m", "mmbuild", "install", "mmpretrain"], env, timeout=900)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "mmbuild: error" in done.stderr
