"""The CUDA 12 tier: torch 2.6.0 (cu124) and the CUDA 12.4 toolkit fetched from a redist mirror.

Gated by ``MMBUILD_TEST_CUDA12_MIRROR``: a folder laid out like NVIDIA's redist folder holding
release 12.4.1 (``redistrib_12.4.1.json`` and the cuda_nvcc, cuda_cudart and cuda_cccl archives),
made from NVIDIA's binaries by scripts/mirror/make_cuda_redist_mirror.py. The test serves it on
127.0.0.1, so the fetch goes over HTTP as it would from NVIDIA's server. The venv is
``MMBUILD_TEST_CUDA12_VENV`` when set (a venv holding torch 2.6.0 from the package index; this
project is installed into it), else a new one (pip downloads about 3 GB). No GPU: the build is for
``--arch 9.0`` and verify runs the CPU checks and reads the SASS.

No toolkit of CUDA 12 may be on the machine (CUDA 11 or 13 ones are fine: torch's major is 12), so
``auto`` has to fetch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from real_install import mmcv_args, run
from redist_mirror import serve

from mmbuild.verify.fatbin import read_embedded_code

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MIRROR = os.environ.get("MMBUILD_TEST_CUDA12_MIRROR")
OPS = "nms,roi_align,deform_conv"


@pytest.fixture(scope="module")
def cu124_venv(tmp_path_factory) -> dict:
    if not MIRROR or not (Path(MIRROR) / "redistrib_12.4.1.json").is_file():
        pytest.skip("MMBUILD_TEST_CUDA12_MIRROR does not name a redist mirror holding redistrib_12.4.1.json")
    root = tmp_path_factory.mktemp("cu124")
    folder = Path(os.environ.get("MMBUILD_TEST_CUDA12_VENV") or root / "venv")
    if not (folder / "bin" / "python").is_file():
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = str(folder / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--isolated", "--disable-pip-version-check",
                    "torch==2.6.0", "-e", str(REPO)], check=True, timeout=3600)
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_HOME", "CUDA_PATH", "PYTHONPATH")}
    env.update(MMBUILD_CACHE_DIR=str(root / "cache"), PATH=f"{folder / 'bin'}:{env['PATH']}")
    return {"python": python, "env": env, "root": root}


@pytest.fixture(scope="module")
def redist_install(cu124_venv) -> dict:
    with serve(Path(MIRROR)) as server:
        env = {**cu124_venv["env"], "MMBUILD_CUDA_REDIST_URL": server.url}
        argv = [cu124_venv["python"], "-m", "mmbuild", "install", "--json", "--arch", "9.0", "--ops", OPS,
                "--jobs", "2", *mmcv_args("2.2.0")]
        started = time.monotonic()
        result = run(argv, env, timeout=3600)
        seconds = time.monotonic() - started
        requests = server.archive_requests()
    assert result.returncode == 0, result.stderr[-4000:]
    print(f"\nCUDA 12.4 from the redist mirror, torch 2.6.0, sm_90, {OPS}: {seconds:.0f} s")
    return {"report": json.loads(result.stdout), "seconds": seconds, "requests": requests,
            "stderr": result.stderr, "url": server.url}


def test_the_plan_fetches_cuda_12_4_from_the_mirror(cu124_venv, redist_install):
    report = redist_install["report"]
    plan = report["plan"]
    home = str(cu124_venv["root"] / "cache" / "toolkits" / "cuda-12.4" / "home")
    assert plan["target"] == "cuda" and plan["cuda_home"] == plan["env"]["CUDA_HOME"] == home
    assert (plan["provision"], plan["provision_from"]) == ("12.4", "redist")
    assert plan["gencode"] == ["-gencode=arch=compute_90,code=sm_90"]
    assert len(redist_install["requests"]) == 3
    record = json.loads((Path(home).parent / "toolkit.json").read_text())
    assert record["source"] == "redist" and record["release"] == "12.4.1"
    assert record["url"] == redist_install["url"] and "torch's CUDA runtime" in record["release_choice"]
    assert "release 12.4, V12.4.131" in " ".join(record["nvcc"])


def test_the_build_uses_the_fetched_nvcc_installs_and_verifies(cu124_venv, redist_install):
    report = redist_install["report"]
    home = report["plan"]["cuda_home"]
    stages = [s["stage"] for s in report["steps"]]
    assert stages[-5:] == ["toolkit", "preflight", "build", "install", "verify"]
    log = Path(report["log"]).read_text(errors="replace")
    assert f"{home}/bin/nvcc" in log and "nvcc fatal" not in log
    verify = report["verify"]
    assert verify["ok"] and not [c for c in verify["checks"] if c["status"] == "fail"]
    found = run([cu124_venv["python"], "-c", "import glob, os, mmcv; print(glob.glob(os.path.join("
                 "os.path.dirname(mmcv.__file__), '_ext*.so'))[0])"], cu124_venv["env"], timeout=300)
    assert found.returncode == 0, found.stderr[-2000:]
    assert read_embedded_code(Path(found.stdout.strip().splitlines()[-1])).sass == [90]
