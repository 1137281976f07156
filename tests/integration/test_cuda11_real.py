"""The CUDA 11 tier: Debian's own CUDA 11.8 toolkit with the package index's torch 2.0.1 (cu117).

Debian 12 packages CUDA 11.8 in its non-free component (scripts/ci/install_cuda11.sh installs it with
g++-11, the newest GCC that nvcc 11.8 accepts): nvcc is /usr/bin/nvcc, a wrapper for
/usr/lib/nvidia-cuda-toolkit/bin/nvcc, the headers are in /usr/include, so the toolkit's home is /usr.
With no CUDA_HOME set, ``mmbuild install --arch 8.6 --ops nms,roi_align`` must find it (beside the
machine's CUDA 13), pick g++-11 over the default g++-12, build, install and verify: SASS for sm_86
in ``_ext`` and registers checked. Debian's own cuobjdump 11.8 fails on every input here ("Support
for 'sm_4' has been removed"), so the venv has NVIDIA's cuobjdump wheel, which verify takes next.

The older world on the same stack: ``mmbuild install mmdet==2.28.2`` resolves mmcv-full 1.7.2 and the
torchvision that fits torch 2.0.1 (0.15.2, the package index's cu117 build), builds mmcv-full's ops
for sm_86 with the same toolkit, installs mmcv-full, torchvision and mmdet, and the stack checks run
mmdet 2.28.2's Faster R-CNN through mmcv-full's RoIAlign and nms (mmcv.runner era, no mmengine).

Skipped where Debian's 11.8 toolkit is not installed. ``MMBUILD_TEST_CUDA11_VENV`` names a venv that
already holds torch 2.0.1+cu117, numpy<2, nvidia-cuda-cuobjdump and this project, instead of
making one (about 4.5 GB of downloads). About 15 minutes on 2 cores with empty compiler caches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mmcv_sources import configured_sdist
from real_install import mmcv_args, run

from mmbuild.probe.cuda import parse_nvcc_version
from mmbuild.verify.fatbin import read_embedded_code

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEBIAN_NVCC = Path("/usr/lib/nvidia-cuda-toolkit/bin/nvcc")
REQUIREMENTS = ["torch==2.0.1", "numpy<2", "nvidia-cuda-cuobjdump>=13,<14"]


def _debian_cuda() -> str | None:
    if not DEBIAN_NVCC.is_file():
        return None
    out = subprocess.run(["/usr/bin/nvcc", "--version"], capture_output=True, text=True, check=False).stdout
    return parse_nvcc_version(out)


@pytest.fixture(scope="module")
def cuda11_venv(tmp_path_factory) -> dict:
    version = _debian_cuda()
    if not version or not version.startswith("11."):
        pytest.skip("Debian's CUDA 11 toolkit is not installed (scripts/ci/install_cuda11.sh)")
    root = tmp_path_factory.mktemp("cuda11")
    folder = Path(os.environ.get("MMBUILD_TEST_CUDA11_VENV") or root / "venv")
    python = str(folder / "bin" / "python")
    if not os.environ.get("MMBUILD_TEST_CUDA11_VENV"):
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "--isolated", "--disable-pip-version-check",
                        *REQUIREMENTS, "-e", str(REPO)], check=True, timeout=3600)
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_HOME", "CUDA_PATH", "PYTHONPATH")}
    env.update(MMBUILD_CACHE_DIR=str(root / "cache"), PATH=f"{folder / 'bin'}:{env['PATH']}")
    return {"python": python, "env": env}


def test_debians_cuda_11_8_is_found_without_cuda_home_and_builds_installs_verifies(cuda11_venv):
    python, env = cuda11_venv["python"], cuda11_venv["env"]
    started = time.monotonic()
    result = run([python, "-m", "mmbuild", "install", "--json", "--arch", "8.6", "--ops", "nms,roi_align",
                  *mmcv_args("2.2.0")], env, timeout=3600)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout)
    plan = report["plan"]
    assert plan["target"] == "cuda" and plan["cuda_home"] == "/usr"
    assert plan["env"]["CXX"].endswith("g++-11") and plan["cxx_std"] == "c++14"
    target = next(d["reason"] for d in plan["decisions"] if d["name"] == "target")
    assert "found by PATH and distro" in target
    checks = {c["name"]: c for c in report["verify"]["checks"]}
    assert checks["arches in _ext"]["data"]["sass"] == ["sm_86"]
    registers = checks["registers per block"]
    assert registers["status"] == "pass" and registers["data"]["arches"] == ["sm_86"], registers["message"]
    assert report["verify"]["ok"]
    ext = run([python, "-c", "import mmcv._ext as e; print(e.__file__)"], env, timeout=300).stdout.strip()
    assert read_embedded_code(ext).sass == [86]
    print(f"\nCUDA 11.8 (Debian) + torch 2.0.1+cu117, nms+roi_align for sm_86: {seconds:.0f} s")


def test_mmdet_2_28_2_gets_mmcv_full_1_7_2_and_torchvision_and_its_faster_rcnn_runs(cuda11_venv):
    python, env = cuda11_venv["python"], cuda11_venv["env"]
    sdist = configured_sdist("mmcv-full", "1.7.2")
    started = time.monotonic()
    result = run([python, "-m", "mmbuild", "install", "mmdet==2.28.2", "--json", "--arch", "8.6",
                  "--ops", "nms,roi_align", *(["--source", str(sdist)] if sdist else [])], env, timeout=3600)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout)
    stack = report["stack"]
    assert [(p["name"], p["version"]) for p in stack["downstream"]] == [("mmdet", "2.28.2")]
    assert (stack["mmcv"], stack["torchvision"], stack["mmengine"]) == (
        "mmcv-full==1.7.2", "torchvision==0.15.2", None)
    plan = report["plan"]
    assert plan["target"] == "cuda" and plan["cuda_home"] == "/usr" and plan["env"]["CXX"].endswith("g++-11")
    checks = {c["name"]: c for c in report["verify"]["checks"]}
    assert checks["arches in _ext"]["data"]["sass"] == ["sm_86"]
    rows = [c for c in report["verify"]["checks"] if c["kind"] == "stack"]
    on_cpu = {c["name"]: c for c in rows if c["device"] in ("cpu", "-")}
    assert sorted(on_cpu) == ["mmdet bounds", "mmdet checkpoint reload", "mmdet faster-rcnn inference",
                              "mmdet faster-rcnn train step", "mmdet import"]
    assert all(c["status"] == "pass" for c in on_cpu.values()), on_cpu
    for step in ("inference", "train step"):
        calls = on_cpu[f"mmdet faster-rcnn {step}"]["data"]["ext_calls"]
        assert calls.get("nms") and calls.get("roi_align_forward"), calls
    assert not [c for c in rows if c["device"].startswith("cuda") and c["status"] == "pass"
                and not _gpu_present(python, env)]
    versions = run([python, "-c", "import mmcv, mmdet, torchvision; "
                    "print(mmcv.__version__, mmdet.__version__, torchvision.__version__)"], env, timeout=300)
    public = [v.split("+")[0] for v in versions.stdout.split()]
    assert public == ["1.7.2", "2.28.2", "0.15.2"], versions.stderr[-2000:]
    numpy = run([python, "-c", "import numpy; print(numpy.__version__)"], env, timeout=300).stdout
    assert numpy.startswith("1."), f"numpy {numpy} replaced the 1.x that torch 2.0.1 was built against"
    print(f"\nmmdet 2.28.2 + mmcv-full 1.7.2 (CUDA 11.8, sm_86) + torchvision 0.15.2: {seconds:.0f} s; "
          + "; ".join(f"{c['name']} ({c['device']}): {c['status']}" for c in rows))


def _gpu_present(python: str, env: dict) -> bool:
    done = run([python, "-c", "import torch; print(torch.cuda.is_available())"], env, timeout=300)
    return done.stdout.strip() == "True"
