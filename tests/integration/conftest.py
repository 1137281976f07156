"""Session fixtures: the fresh venv and its one real ``mmbuild install`` (a full mmcv build)."""

from __future__ import annotations

import json
import resource
import time

import pytest
from real_install import make_venv, run, sdist_arg


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> dict:
    return make_venv(tmp_path_factory.mktemp("fresh"))


@pytest.fixture(scope="session")
def first_install(venv) -> dict:
    """``mmbuild install`` of mmcv 2.2.0 from cold: build, install, verify."""
    started = time.monotonic()
    argv = [venv["python"], "-m", "mmbuild", "install", "--json", *sdist_arg("2.2.0")]
    result = run(argv, venv["env"])
    seconds = time.monotonic() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    print(f"\ncold install: {seconds:.0f} s, peak RSS of one child process {peak_mib:.0f} MiB")
    return {"report": report, "seconds": seconds}


@pytest.fixture(scope="session")
def cuda_venv(tmp_path_factory) -> dict:
    """A fresh venv with the package index's CUDA torch (tests/cuda_venv.py)."""
    from cuda_venv import make_cuda_venv, system_nvcc

    if system_nvcc() is None:
        pytest.skip("no CUDA toolkit (nvcc) on this machine: the CUDA tier compiles .cu units with it")
    return make_cuda_venv(tmp_path_factory.mktemp("cuda"))
