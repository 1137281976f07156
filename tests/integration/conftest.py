"""Session fixtures: the fresh venv and its one real ``mmbuild install`` (a full mmcv build)."""

from __future__ import annotations

import json
import resource
import time

import pytest
from json_schemas import assert_valid
from real_install import make_venv, mmcv_args, run, sdist_arg


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> dict:
    return make_venv(tmp_path_factory.mktemp("fresh"))


# The acceptance form: mmdet 3.3.0 with mmsegmentation 1.2.2.
STACK = ["mmdet==3.3.0", "mmsegmentation==1.2.2"]


@pytest.fixture(scope="session")
def stale_mmcv(venv) -> dict:
    """The FAQ's first trouble, made for real before the stack install repairs it: mmcv 2.2.0 (only
    nms, a subset build of minutes) under mmsegmentation 1.2.2, which caps mmcv below 2.2.0.
    What env, plan and verify said of it is kept for test_stack_real.py."""
    argv = [venv["python"], "-m", "mmbuild", "install", "--json", "--ops", "nms", *mmcv_args("2.2.0")]
    built = run(argv, venv["env"])
    assert built.returncode == 0, built.stderr[-3000:]
    assert_valid("pipeline", json.loads(built.stdout))
    pip = run([venv["python"], "-m", "pip", "install", "-q", "mmsegmentation==1.2.2"], venv["env"])
    assert pip.returncode == 0, pip.stderr[-3000:]
    said = {}
    for command in (["env"], ["plan"], ["verify", "--device", "cpu"]):
        done = run([venv["python"], "-m", "mmbuild", *command, "--json"], venv["env"], timeout=900)
        said[command[0]] = {"returncode": done.returncode, "report": json.loads(done.stdout)}
        assert_valid(command[0], said[command[0]]["report"])      # docs/schemas/: env, plan, verify
    imported = run([venv["python"], "-c", "import mmseg"], venv["env"], timeout=300)
    return {"said": said, "import_mmseg": imported.stderr.strip().splitlines()[-1:]}


@pytest.fixture(scope="session")
def first_install(venv, stale_mmcv) -> dict:
    """``mmbuild install mmdet==3.3.0 mmsegmentation==1.2.2`` from cold over the stale mmcv: resolve,
    build mmcv 2.1.0 (all ops), install it and the stack, verify with the stack checks."""
    started = time.monotonic()
    argv = [venv["python"], "-m", "mmbuild", "install", "--json", *STACK, *sdist_arg("2.1.0")]
    result = run(argv, venv["env"])
    seconds = time.monotonic() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert_valid("pipeline", report)
    print(f"\ncold stack install: {seconds:.0f} s, peak RSS of one child process {peak_mib:.0f} MiB")
    return {"report": report, "seconds": seconds}


@pytest.fixture(scope="session")
def cuda_venv(tmp_path_factory) -> dict:
    """A fresh venv with the package index's CUDA torch (tests/cuda_venv.py)."""
    from cuda_venv import make_cuda_venv, system_nvcc

    if system_nvcc() is None:
        pytest.skip("no CUDA toolkit (nvcc) on this machine: the CUDA tier compiles .cu units with it")
    return make_cuda_venv(tmp_path_factory.mktemp("cuda"))


@pytest.fixture(scope="session")
def stack_venv(venv, first_install) -> dict:
    """The session's venv after the stack install: mmcv 2.1.0 with every op, mmdet 3.3.0 as released,
    mmengine 0.10.7 and mmsegmentation 1.2.2 as mmbuild's patched wheels of their sdists."""
    return venv
