"""Arches read from a real fatbinary built here, against captured device capabilities."""

import shutil
import subprocess
from pathlib import Path

import pytest

from mmbuild.verify.fatbin import EmbeddedCode, read_embedded_code
from mmbuild.verify.supervisor import arch_check_for_device

FIXTURES = Path(__file__).parent.parent / "fixtures" / "verify"
_CUDA_NVCC = Path("/usr/local/cuda/bin/nvcc")
NVCC = shutil.which("nvcc") or (str(_CUDA_NVCC) if _CUDA_NVCC.exists() else None)
# Capabilities as nvidia-smi reports them: Tesla T4 (7.5), NVIDIA A10 (8.6), H100 (9.0).
T4 = {"index": 0, "name": "Tesla T4", "capability": "7.5"}
A10 = {"index": 0, "name": "NVIDIA A10", "capability": "8.6"}
H100 = {"index": 0, "name": "NVIDIA H100 80GB HBM3", "capability": "9.0"}


def _build(tmp_path, *gencode):
    if NVCC is None:
        pytest.skip("nvcc not installed")
    out = tmp_path / "tiny.so"
    subprocess.run([NVCC, "-shared", "-Xcompiler", "-fPIC", "-cudart", "shared", *gencode,
                    "-o", str(out),
                    str(FIXTURES / "tiny_kernel.cu")], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def sm80(tmp_path_factory):
    library = _build(tmp_path_factory.mktemp("sm80"), "-gencode", "arch=compute_80,code=sm_80")
    return read_embedded_code(library)


def test_fatbinary_lists_the_one_arch_built(sm80):
    assert sm80 == EmbeddedCode(sass=[80], ptx=[])


def test_sass_for_80_runs_on_86_but_not_on_75_or_90(sm80):
    assert arch_check_for_device(sm80, A10).status == "pass"
    for gpu in (T4, H100):
        result = arch_check_for_device(sm80, gpu)
        assert (result.status, result.id) == ("fail", "no-kernel-image")


def test_ptx_is_jit_compiled_for_newer_devices(tmp_path):
    code = read_embedded_code(_build(tmp_path, "-gencode", "arch=compute_80,code=compute_80"))
    assert code == EmbeddedCode(sass=[], ptx=[80])
    assert arch_check_for_device(code, H100).status == "pass"
    assert arch_check_for_device(code, T4).status == "fail"


def test_cpu_only_library_has_no_gpu_code():
    torch = pytest.importorskip("torch")
    lib = next(Path(torch.__file__).parent.joinpath("lib").glob("libtorch_cpu.so"), None)
    if lib is None:
        pytest.skip("no libtorch_cpu.so")
    assert read_embedded_code(lib).empty
