"""Register use parsed from real tool output, against THREADS_PER_BLOCK."""

import shutil
import subprocess
from pathlib import Path

import pytest

from mmbuild.verify.resource_usage import (
    KernelRegisters,
    largest_block,
    parse_cuobjdump_resource_usage,
    parse_ptxas_verbose,
)
from mmbuild.verify.supervisor import resource_check_for_device

FIXTURES = Path(__file__).parent.parent / "fixtures" / "verify"
H100 = {"index": 0, "name": "NVIDIA H100 80GB HBM3", "capability": "9.0", "regs_per_block": 65536}


def test_parses_real_cuobjdump_resource_usage():
    text = (FIXTURES / "cuobjdump_res_usage_sm52.txt").read_text()
    assert parse_cuobjdump_resource_usage(text) == [KernelRegisters("sm_52", "_Z1kPfS_", 17),
                                                    KernelRegisters("sm_52", "_Z1ff", 14)]


def test_parses_ptxas_verbose_from_a_real_build(tmp_path):
    nvcc = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    if not Path(nvcc).exists():
        pytest.skip("nvcc not installed")
    done = subprocess.run([nvcc, "-c", "-Xptxas", "-v", "-gencode", "arch=compute_80,code=sm_80", "-o",
                           str(tmp_path / "k.o"), str(FIXTURES / "tiny_kernel.cu")],
                          capture_output=True, text=True)
    [kernel] = parse_ptxas_verbose(done.stderr)
    assert kernel.arch == "sm_80" and kernel.kernel.startswith("_Z5heavy") and 1 <= kernel.registers <= 255


def test_largest_block_is_a_multiple_of_32_that_fits():
    assert largest_block(17, 65536) == 1024
    assert largest_block(128, 65536) == 512
    assert largest_block(255, 65536) == 256


def test_heavy_kernel_at_1024_threads_is_an_invalid_configuration_risk():
    kernels = [KernelRegisters("sm_90", "_Z13light_kernelPf", 32), KernelRegisters("sm_90", "_Z5heavyPf", 96)]
    result = resource_check_for_device(kernels, H100, 1024)
    assert (result.status, result.id) == ("fail", "invalid-configuration-argument")
    assert "_Z5heavyPf" in result.message and "light" not in result.message
    assert "THREADS_PER_BLOCK=672" in result.message  # 21 warps of 96 x 32 registers
    assert resource_check_for_device(kernels, H100, 512).status == "pass"


def test_kernels_launched_with_half_a_block_are_judged_at_half_a_block():
    """mmcv launches convex_giou_cuda_kernel with THREADS_PER_BLOCK / 2 threads (convex_iou.cu):
    its 255 registers (real cuobjdump figure for sm_90, mmcv 2.2.0) fit 256 threads, not 512."""
    from mmbuild.verify.resource_usage import KernelRegisters, kernels_over_budget, launch_threads

    giou = KernelRegisters("sm_90", "_Z23convex_giou_cuda_kernelIfEviiPKT_S2_PS0_", 255)
    other = KernelRegisters("sm_90", "_Z10some_kernelIfEviPKT_", 255)
    assert launch_threads(giou.kernel, 512) == 256 and launch_threads(other.kernel, 512) == 512
    assert kernels_over_budget([giou, other], 512) == [other]
    assert kernels_over_budget([giou], 1024) == [giou]
