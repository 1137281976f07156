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


STACK_OPS = "nms,roi_align,psamask"  # what the stack checks' models run through (mmbuild.verify.stack)
STACK = {"mmdet": "3.3.0", "mmsegmentation": "1.2.2", "mmaction2": "1.2.0", "mmengine": "0.10.7"}


@pytest.fixture(scope="session")
def stack_venv(tmp_path_factory) -> dict:
    """A fresh venv with a subset mmcv 2.1.0 (the stack's ops only) and the downstream stack: mmdet as
    released, mmengine, mmsegmentation and mmaction2 as mmbuild's patched wheels of their sdists."""
    venv = make_venv(tmp_path_factory.mktemp("stack"))
    python, env = venv["python"], venv["env"]
    argv = [python, "-m", "mmbuild", "install", "--mmcv", "2.1.0", "--ops", STACK_OPS, "--no-verify",
            *sdist_arg("2.1.0")]
    result = run(argv, env)
    assert result.returncode == 0, result.stderr[-3000:]
    build = (
        "import sys\nfrom pathlib import Path\n"
        "from mmbuild.build.downstream_wheel import build_downstream_wheel\n"
        "from mmbuild.plan.downstream_patches import downstream_patches\n"
        "for spec in sys.argv[2:]:\n"
        "    name, version = spec.split('==')\n"
        "    print(build_downstream_wheel(name, version, downstream_patches(name, version),\n"
        "                                 python=sys.executable, work_dir=Path(sys.argv[1]) / name))\n"
    )
    patched = [f"{name}=={version}" for name, version in STACK.items() if name != "mmdet"]
    result = run([python, "-c", build, str(venv["root"] / "downstream"), *patched], env)
    assert result.returncode == 0, result.stderr[-3000:]
    wheels = result.stdout.split()
    constraints = venv["root"] / "constraints.txt"
    constraints.write_text("torch==2.13.0\nmmcv==2.1.0\n", encoding="utf-8")
    result = run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c", str(constraints),
                  f"mmdet=={STACK['mmdet']}", *wheels], env)
    assert result.returncode == 0, result.stderr[-3000:]
    # mmcv's install brought the released mmengine 0.10.7: the patched wheel has the same version, so
    # pip keeps the installed one unless told to replace it (what mmbuild's stack install does too).
    result = run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--force-reinstall",
                  "--no-deps", *wheels], env)
    assert result.returncode == 0, result.stderr[-3000:]
    return {**venv, "wheels": wheels}
