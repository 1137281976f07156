"""``mmbuild install`` for real in a fresh venv: mmcv 2.1.0 CPU ops built, installed and verified.

One full build for the whole suite: ``mmbuild install mmdet==3.3.0 mmsegmentation==1.2.2``, which
builds the mmcv both accept (2.1.0) and installs them beside it (test_stack_real.py checks the
stack). Then a second install from the wheel cache, and, with mmdet 3.3.0 installed, the plan of
mmcv 2.1.x and its patched source.

The fresh venv and the build are session fixtures (tests/real_install.py, wired in
tests/integration/conftest.py), so verify's own integration test checks the same mmcv.
The sdist comes from MMBUILD_TEST_SDIST_DIR when set (``mmcv-2.2.0.tar.gz`` and
``mmcv-2.1.0.tar.gz``), else mmbuild downloads it from the package index.
"""

from __future__ import annotations

import json
import py_compile
import subprocess
import time

import pytest
from json_schemas import assert_valid
from real_install import mmcv_args
from real_install import run as _run
from real_install import sdist_arg as _sdist_arg

from mmbuild.model.build_plan import BuildPlan
from mmbuild.patching import apply_patches, current_platform
from mmbuild.source.sdist import download_sdist, locate_user_source, prepare_tree

pytestmark = pytest.mark.integration
def test_cold_install_builds_installs_and_verifies(venv, first_install):
    report = first_install["report"]
    assert report["ok"] and report["cache"] == "built"
    assert report["plan"]["mmcv"] == {**report["plan"]["mmcv"], "package": "mmcv", "version": "2.1.0"}
    assert report["plan"]["target"] == "cpu"
    assert report["verify"]["ok"]
    stages = [s["stage"] for s in report["steps"]]
    assert stages[-5:] == ["preflight", "build", "install", "stack", "verify"]
    check = _run([venv["python"], "-c",
                  "import json, torch, mmcv, mmcv.ops, importlib.resources as r\n"
                  "boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30.]])\n"
                  "dets, keep = mmcv.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)\n"
                  "meta = json.loads(r.files('mmcv').joinpath('_mmbuild.json').read_text())\n"
                  "print(json.dumps({'keep': keep.tolist(), 'fingerprint': meta['fingerprint'],"
                  " 'torch': torch.__version__}))"], venv["env"], timeout=300)
    assert check.returncode == 0, check.stderr
    out = json.loads(check.stdout.strip().splitlines()[-1])
    assert out["keep"] == [0, 2]
    assert out["fingerprint"] == report["plan"]["fingerprint"]
    assert out["torch"].startswith("2.13.0"), "pip must never change torch"
    verify = _run([venv["python"], "-m", "mmbuild", "verify", "--device", "cpu", "--no-stack"], venv["env"],
                  timeout=900)
    assert verify.returncode == 0, verify.stderr[-3000:]


def test_second_install_comes_from_the_cache_in_seconds(venv, first_install):
    started = time.monotonic()
    argv = [venv["python"], "-m", "mmbuild", "install", "--json", "--no-verify", *mmcv_args("2.1.0")]
    result = _run(argv, venv["env"], timeout=900)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert_valid("pipeline", report)
    print(f"\ncache-hit reinstall: {seconds:.1f} s (cold: {first_install['seconds']:.0f} s)")
    assert report["cache"] == "hit"
    assert report["plan"]["fingerprint"] == first_install["report"]["plan"]["fingerprint"]
    assert "build" not in [s["stage"] for s in report["steps"]]
    assert seconds < 120


def test_with_mmdet_3_3_it_plans_mmcv_2_1_and_prepares_its_patched_source(venv, first_install, tmp_path):
    pip = [venv["python"], "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check"]
    subprocess.run([*pip, "mmdet==3.3.0"], check=True, env=venv["env"])
    argv = [venv["python"], "-m", "mmbuild", "install", "--dry-run", "--json"]
    result = _run(argv, venv["env"], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    plan = BuildPlan.from_dict(json.loads(result.stdout)["plan"])
    assert plan.mmcv.package == "mmcv" and plan.mmcv.version.startswith("2.1."), plan.mmcv
    assert "mmdet" in plan.mmcv.reason

    source = _sdist_arg(plan.mmcv.version)
    archive = locate_user_source(source[1]) if source else \
        download_sdist(plan.mmcv.package, plan.mmcv.version, folder=venv["root"] / "cache" / "sdists")
    tree = prepare_tree(archive, tmp_path / "src")
    report = apply_patches(tree.root, plan.patches, package=tree.package, version=tree.version,
                           platform=current_platform())
    assert not report.conflicts
    assert {h.patch for h in report.hunks if h.status == "applied"} >= {"mmcv-setup-pkg-resources",
                                                                        "mmcv-setup-cxx-std"}
    py_compile.compile(str(tree.root / "setup.py"), doraise=True)
    version = _run([venv["python"], "setup.py", "--version"], {**venv["env"], "MMCV_WITH_OPS": "0"},
                   timeout=300, cwd=tree.root)
    assert version.returncode == 0, version.stderr[-2000:]
    assert version.stdout.strip().splitlines()[-1] == plan.mmcv.version
