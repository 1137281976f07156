"""CUDA toolkit probe: nvcc outputs of this machine, wrapper scripts, missing and hanging nvcc."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mmbuild.probe import cuda

FIXTURES = Path(__file__).parent.parent / "fixtures" / "probe" / "nvcc"


def test_parse_nvcc_version_13_0():
    assert cuda.parse_nvcc_version((FIXTURES / "version-13.0.txt").read_text()) == "13.0"


def test_parse_gpu_arch_list_sorts_and_names_sm():
    arches = cuda.parse_gpu_arch_list((FIXTURES / "list-gpu-arch-13.0.txt").read_text())
    assert arches[0] == "sm_75"
    assert arches.index("sm_103") < arches.index("sm_110")
    assert arches[-1] == "sm_121"
    assert arches == cuda.parse_gpu_arch_list((FIXTURES / "list-gpu-code-13.0.txt").read_text())


def test_parse_dryrun_top_finds_the_real_toolkit_behind_a_wrapper():
    top = cuda.parse_dryrun_top((FIXTURES / "dryrun-wrapper-13.0.txt").read_text())
    assert top == "/usr/local/cuda-13.0"


def _fake_toolkit(root: Path, script: str) -> Path:
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    nvcc = bin_dir / "nvcc"
    nvcc.write_text("#!/bin/sh\n" + script)
    nvcc.chmod(0o755)
    (root / "include").mkdir()
    (root / "include" / "cuda_runtime.h").write_text("")
    return nvcc


def test_fake_toolkit_from_cuda_home_is_probed(tmp_path):
    version = (FIXTURES / "version-13.0.txt").read_text()
    arches = (FIXTURES / "list-gpu-arch-13.0.txt").read_text()
    _fake_toolkit(tmp_path / "cuda", f'if [ "$1" = --version ]; then cat <<EOF\n{version}EOF\n'
                                     f'else cat <<EOF\n{arches}EOF\nfi\n')
    env = {"CUDA_HOME": str(tmp_path / "cuda"), "PATH": ""}
    found = [t for t in cuda.probe_cuda_toolkits(env)[0] if t.home == str(tmp_path / "cuda")]
    assert len(found) == 1
    assert found[0].version == "13.0" and found[0].arches[0] == "sm_75"


def test_same_toolkit_through_a_symlink_is_listed_once(tmp_path):
    _fake_toolkit(tmp_path / "cuda-12.8", "echo 'Cuda compilation tools, release 12.8, V12.8.93'\n")
    os.symlink(tmp_path / "cuda-12.8", tmp_path / "cuda")
    env = {"CUDA_HOME": str(tmp_path / "cuda"), "CUDA_PATH": str(tmp_path / "cuda-12.8"), "PATH": ""}
    homes = [h for h, _, _ in cuda.discover_toolkits(env)]
    assert homes.count(str(tmp_path / "cuda")) + homes.count(str(tmp_path / "cuda-12.8")) == 1


def test_missing_nvcc_gives_no_toolkit_and_no_exception(tmp_path):
    env = {"CUDA_HOME": str(tmp_path / "nothing-here"), "PATH": str(tmp_path)}
    homes = [h for h, _, _ in cuda.discover_toolkits(env)]
    assert str(tmp_path / "nothing-here") not in homes


def test_hanging_nvcc_gives_a_degraded_entry_and_a_finding(tmp_path):
    nvcc = _fake_toolkit(tmp_path / "cuda", "sleep 30\n")
    started = time.monotonic()
    toolkit, findings = cuda.probe_toolkit(str(tmp_path / "cuda"), str(nvcc), timeout=0.5)
    assert time.monotonic() - started < 5
    assert toolkit.version is None and toolkit.arches == []
    assert findings and findings[0].id == "probe-incomplete"
    assert "timed out" in findings[0].message


def test_failing_nvcc_gives_a_degraded_entry(tmp_path):
    script = "echo 'nvcc: error while loading shared libraries' >&2; exit 127\n"
    nvcc = _fake_toolkit(tmp_path / "cuda", script)
    toolkit, findings = cuda.probe_toolkit(str(tmp_path / "cuda"), str(nvcc))
    assert toolkit.version is None
    assert "error while loading shared libraries" in findings[0].message


@pytest.mark.skipif(not Path("/usr/local/cuda/bin/nvcc").exists(), reason="no CUDA toolkit on this machine")
def test_real_toolkit_of_this_machine():
    toolkits, _ = cuda.probe_cuda_toolkits()
    real = [t for t in toolkits if os.path.realpath(t.home) == os.path.realpath("/usr/local/cuda")]
    assert len(real) == 1 and real[0].version and real[0].arches
