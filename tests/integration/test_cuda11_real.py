"""The CUDA 11 tier: Debian's own CUDA 11.8 toolkit with the package index's torch 2.0.1 (cu117).

Debian 12 packages CUDA 11.8 in its non-free component (scripts/ci/install_cuda11.sh installs it with
g++-11, the newest GCC that nvcc 11.8 accepts): nvcc is /usr/bin/nvcc, a wrapper for
/usr/lib/nvidia-cuda-toolkit/bin/nvcc, the headers are in /usr/include, so the toolkit's home is /usr.
With no CUDA_HOME set, ``mmbuild install --arch 8.6 --ops nms,roi_align`` must find it (beside the
machine's CUDA 13), pick g++-11 over the default g++-12, build, install and verify: SASS for sm_86
in ``_ext`` and registers checked. Debian's own cuobjdump 11.8 fails on every input here ("Support
for 'sm_4' has been removed"), so the venv has NVIDIA's cuobjdump wheel, which verify takes next.

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
from real_install import run, sdist_arg

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
                  *sdist_arg("2.2.0")], env, timeout=3600)
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
