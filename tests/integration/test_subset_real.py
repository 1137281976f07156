"""Subset builds compiled for real: mmcv 2.2.0's own setup.py on a 5-op CPU subset, and the
reduced CUDA sources compiled with nvcc (compile only: no GPU is needed).

Needs the mmcv 2.2.0 sdist (tests/mmcv_sources.py) and, for the CUDA
check, nvcc ($CUDA_HOME or /usr/local/cuda). A few minutes on one core (ccache helps:
set CCACHE_DIR to a warm cache).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mmcv_sources import extract_sdist

from mmbuild.subset import apply_subset, index_tree
from mmbuild.subset.index import CSRC

pytestmark = pytest.mark.integration

OPS = ["bbox_overlaps", "focal_loss", "nms", "roi_align", "roi_pool"]
CCACHE_DIR = Path("/usr/lib/ccache")


SETUP_PATCHES = ["mmcv-setup-pkg-resources", "mmcv-setup-cxx-std"]
CUDA_PATCHES = [*SETUP_PATCHES, "mmcv-threads-per-block", "mmcv-thc-atomics"]


def _tree(where: Path, patches: list[str] = SETUP_PATCHES) -> Path:
    root = extract_sdist("mmcv", "2.2.0", where)
    from mmbuild.patching import apply_patches

    apply_patches(root, patches, package="mmcv", version="2.2.0", platform="linux")
    return root


def _compiler_env() -> dict[str, str]:
    env = dict(os.environ, MMCV_WITH_OPS="1", FORCE_CUDA="0", MMBUILD_CXX_STD="c++20",
               MAX_JOBS=os.environ.get("MAX_JOBS", str(os.cpu_count() or 1)))
    if (CCACHE_DIR / "g++").exists():
        env.update(CXX=str(CCACHE_DIR / "g++"), CC=str(CCACHE_DIR / "gcc"), CCACHE_BASEDIR="/",
                   CCACHE_NOHASHDIR="1")
    return env


LOAD_AND_CALL = r"""
import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location("_ext", sys.argv[1])
ext = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ext)
boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=torch.float32)
scores = torch.tensor([0.9, 0.8, 0.7])
print("nms", ext.nms(boxes, scores, 0.5, 0).tolist())
ious = torch.zeros(3, 3)
ext.bbox_overlaps(boxes, boxes, ious, mode=0, aligned=False, offset=0)
print("iou", round(float(ious[0, 1]), 4))
try:
    ext.deform_conv_forward(boxes)
except RuntimeError as exc:
    print("stub", exc)
"""


@pytest.fixture(scope="module")
def built_cpu_subset(tmp_path_factory):
    root = _tree(tmp_path_factory.mktemp("subset-cpu"))
    mmcv_symbols = set(index_tree(root, "cpu").providers)        # before the subset removes files
    result = apply_subset(root, OPS, target="cpu")
    log = root / "build.log"
    with open(log, "w") as out:
        build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=root,
                               env=_compiler_env(), stdout=out, stderr=subprocess.STDOUT, timeout=3600)
    code = build.returncode
    assert code == 0, log.read_text()[-3000:]
    (extension,) = (root / "mmcv").glob("_ext*.so")
    return mmcv_symbols, result, extension, log.read_text()


def test_subset_compiles_only_the_kept_units(built_cpu_subset):
    _, result, _, log = built_cpu_subset
    units = re.findall(r"\[\d+/(\d+)\]", log)
    kept_sources = [f for f in result.kept_files if re.search(r"pytorch/([^/]+|cpu/[^/]+)\.cpp$", f)]
    assert units and int(units[-1]) == len(kept_sources)
    assert len(kept_sources) == 10


@pytest.mark.skipif(shutil.which("nm") is None, reason="nm (binutils) is not installed")
def test_no_mmcv_symbol_left_undefined(built_cpu_subset):
    mmcv_symbols, _, extension, _ = built_cpu_subset
    undefined = subprocess.run(["nm", "-D", "--undefined-only", "--demangle", str(extension)],
                               capture_output=True, text=True, check=True).stdout
    assert "nms_impl" not in undefined and "U " in undefined          # torch's symbols are undefined
    missing = sorted(name for name in mmcv_symbols if re.search(rf"\b{re.escape(name)}\(", undefined))
    assert missing == []


def test_built_op_runs_and_unbuilt_op_explains(built_cpu_subset):
    _, _, extension, _ = built_cpu_subset
    run = subprocess.run([sys.executable, "-c", LOAD_AND_CALL, str(extension)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "nms [0, 2]" in run.stdout
    assert "iou 0.6807" in run.stdout     # (9*9) / (100 + 100 - 81)
    assert ("stub mmcv op 'deform_conv' was not built by this mmbuild subset (built: bbox_overlaps, "
            "focal_loss, nms, roi_align, roi_pool); rebuild with: mmbuild install --ops "
            "bbox_overlaps,deform_conv,focal_loss,nms,roi_align,roi_pool") in run.stdout


def _nvcc() -> Path:
    nvcc = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "bin" / "nvcc"
    if not nvcc.exists():
        pytest.skip(f"{nvcc} not found")
    return nvcc


def _cuda_library_includes(nvcc: Path) -> list[str]:
    """Include dirs holding the CUDA library headers torch's CUDA headers need (cusparse.h, ...):
    the toolkit's, the nvidia-* wheels' next to torch, and $MMBUILD_TEST_CUDA_INCLUDE."""
    import torch

    candidates = [nvcc.parent.parent / "include"]
    candidates += sorted((Path(torch.__file__).parent.parent / "nvidia").glob("*/include"))
    candidates += [Path(p) for p in os.environ.get("MMBUILD_TEST_CUDA_INCLUDE", "").split(os.pathsep) if p]
    found = [c for c in candidates if c.is_dir()]
    for header in ("cusparse.h", "cublas_v2.h", "cusolverDn.h"):
        if not any((c / header).is_file() for c in found):
            pytest.skip(f"{header} not found: install the nvidia-cusparse/cublas/cusolver wheels of the "
                        "toolkit's CUDA or set MMBUILD_TEST_CUDA_INCLUDE to their include dir")
    return [f"-I{c}" for c in found]


def _torch_cuda_config_shim(nvcc: Path, folder: Path) -> list[str]:
    """A CPU torch wheel lacks the one header CUDA builds of torch generate at configure time,
    c10/cuda/impl/cuda_cmake_macros.h (from PyTorch's cuda_cmake_macros.h.in). For this
    compile-only check it is written from that template with the toolkit's version."""
    import torch.utils.cpp_extension as cpp

    if any((Path(p) / "c10/cuda/impl/cuda_cmake_macros.h").is_file() for p in cpp.include_paths()):
        return []
    banner = subprocess.run([str(nvcc), "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = re.search(r"release (\d+)\.(\d+)", banner).groups()
    header = folder / "c10" / "cuda" / "impl" / "cuda_cmake_macros.h"
    header.parent.mkdir(parents=True)
    header.write_text("#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n"
                      f"#define TORCH_CUDA_VERSION_MAJOR {major}\n#define TORCH_CUDA_VERSION_MINOR {minor}\n"
                      "#define TORCH_CUDA_VERSION_PATCH 0\n#define TORCH_CUDA_VERSION_BUILD 0\n")
    return [f"-I{folder}"]


def test_cuda_subset_units_compile_and_close_over_symbols(tmp_path):
    """Compile every kept CUDA-target unit (host C++ with g++, kernels with nvcc for sm_90) and
    check that each mmcv symbol one object needs is defined by another: the link would succeed."""
    nvcc = _nvcc()
    import torch.utils.cpp_extension as cpp

    if shutil.which("nm") is None:
        pytest.skip("nm (binutils) is not installed")
    root = _tree(tmp_path, CUDA_PATCHES)
    mmcv_symbols = set(index_tree(root, "cuda").providers)
    result = apply_subset(root, ["nms", "roi_align"], target="cuda")
    includes = [f"-I{p}" for p in cpp.include_paths()] + \
        [f"-I{root / 'mmcv/ops/csrc/common'}", f"-I{root / 'mmcv/ops/csrc/common/cuda'}",
         f"-I{root / CSRC}", *_cuda_library_includes(nvcc), *_torch_cuda_config_shim(nvcc, tmp_path / "shim")]
    import sysconfig

    includes.append(f"-I{sysconfig.get_paths()['include']}")
    defines = ["-DMMCV_WITH_CUDA", "-DTORCH_API_INCLUDE_EXTENSION_H", "-DTORCH_EXTENSION_NAME=_ext"]
    cxx = str(CCACHE_DIR / "g++") if (CCACHE_DIR / "g++").exists() else "g++"
    objects = []
    for rel in result.kept_files:
        source = root / rel
        if source.suffix not in (".cpp", ".cu"):
            continue
        obj = tmp_path / (rel.replace("/", "_") + ".o")
        if source.suffix == ".cu":
            argv = [str(nvcc), "-c", str(source), "-o", str(obj), "-std=c++20", "-O1",
                    "-gencode=arch=compute_90,code=sm_90", *cpp.COMMON_NVCC_FLAGS, "-Xcompiler", "-fPIC",
                    "-ccbin", cxx, *includes, *defines]
        else:
            argv = [cxx, "-c", str(source), "-o", str(obj), "-std=c++20", "-O0", "-fPIC", *includes, *defines]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, f"{rel}:\n{done.stderr[-3000:]}"
        objects.append(obj)

    def symbols(flag: str) -> set[str]:
        out = subprocess.run(["nm", flag, "--demangle", *map(str, objects)], capture_output=True, text=True,
                             check=True).stdout
        return {line.split(None, 2)[-1].split("(")[0] for line in out.splitlines() if line.strip()
                and not line.endswith(":")}

    defined = symbols("--defined-only")
    undefined = symbols("--undefined-only")
    assert "nms_impl" in defined and "NMSCUDAKernelLauncher" in defined
    assert {name for name in undefined if name in mmcv_symbols} - defined == set()
