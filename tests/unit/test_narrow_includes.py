"""Narrow torch includes (build/narrow_includes.py): the transform, checked with the real preprocessor.

The trees here are small stand-ins in mmcv's layout (mmcv/ops/csrc/{common,pytorch/cuda}) and the
torch include folder a stand-in with the same header paths; each header defines a macro that says it
was included, so ``g++ -E`` shows which ones a transformed unit reads with and without the fallback
define.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mmbuild.build.narrow_includes import (
    NARROW_DEFINE,
    TORCH_TYPES,
    NarrowReport,
    guard_full_includes,
    narrow_header_of,
    narrow_tree,
    op_headers,
    ops_named,
    torch_namespace,
    unit_ops,
    why_not_narrow,
)

HEADERS = ["ATen/ATen.h", "ATen/core/Tensor.h", "ATen/Dispatch.h", "torch/types.h",
           "ATen/ops/empty.h", "ATen/ops/zeros.h", "ATen/ops/unique_dim.h", "ATen/ops/empty_ops.h",
           "ATen/ops/empty_like.h", "ATen/ops/mm.h", "torch/csrc/autograd/generated/variable_factories.h"]

# torch 2.13's torch/csrc/api/include/torch/types.h, cut to its shape: the guard, the includes, the namespace
TORCH_TYPES_TEXT = """#if !defined(TORCH_STABLE_ONLY) && !defined(TORCH_TARGET_VERSION)
#pragma once
#include <ATen/ATen.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
namespace torch {
using namespace at; // NOLINT
constexpr auto kInt32 = at::kInt;
} // namespace torch
#endif
"""

HELPER = """#ifndef PYTORCH_CUDA_HELPER
#define PYTORCH_CUDA_HELPER
#include <ATen/ATen.h>
#include "common_cuda_helper.hpp"
using at::Tensor;
#endif
"""


def _macro(header: str) -> str:
    return "SEEN_" + header.replace("/", "_").replace(".", "_").upper()


@pytest.fixture
def torch_include(tmp_path: Path) -> Path:
    root = tmp_path / "torch-include"
    for header in HEADERS:
        path = root / header
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"int {_macro(header)}_{abs(hash(header))};\n", encoding="utf-8")
    return root


@pytest.fixture
def torch_include_with_types(torch_include: Path) -> Path:
    (torch_include / TORCH_TYPES).parent.mkdir(parents=True)
    (torch_include / TORCH_TYPES).write_text(TORCH_TYPES_TEXT, encoding="utf-8")
    return torch_include


def _tree(tmp_path: Path, units: dict[str, str], headers: dict[str, str] | None = None) -> Path:
    csrc = tmp_path / "mmcv-x" / "mmcv" / "ops" / "csrc"
    files = {"common/pytorch_cuda_helper.hpp": HELPER, "common/common_cuda_helper.hpp": "#define X 1\n",
             **{f"pytorch/cuda/{k}": v for k, v in units.items()}, **(headers or {})}
    for name, text in files.items():
        (csrc / name).parent.mkdir(parents=True, exist_ok=True)
        (csrc / name).write_text(text, encoding="utf-8")
    return tmp_path / "mmcv-x"


def _preprocess(unit: Path, tree: Path, torch_include: Path, *more: str) -> str:
    csrc = tree / "mmcv" / "ops" / "csrc"
    argv = ["g++", "-E", "-P", "-x", "c++", f"-I{csrc / 'common'}", f"-I{torch_include}", str(unit), *more]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def _seen(text: str) -> set[str]:
    return {h for h in HEADERS if _macro(h) in text}


def _narrow_one(tmp_path: Path, name: str, text: str,
                torch_include: Path) -> tuple[Path, Path, NarrowReport, str, str]:
    """A tree with the one unit ``name``, preprocessed as it is, narrowed, then preprocessed with its
    narrow header in front: (tree, unit, report, original, narrow)."""
    tree = _tree(tmp_path, {name: text})
    unit = tree / "mmcv/ops/csrc/pytorch/cuda" / name
    original = _preprocess(unit, tree, torch_include)
    report = narrow_tree(tree, torch_include)
    narrow = _preprocess(unit, tree, torch_include, "-include", str(narrow_header_of(unit)))
    return tree, unit, report, original, narrow


needs_gcc = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")

NMS = """// nms
#include "pytorch_cuda_helper.hpp"
Tensor nms(Tensor boxes) {
  auto keep = at::zeros({1}, boxes.options());
  int line = __LINE__;
  return at::empty({0});   // not at::sort(: a comment
}
"""


@needs_gcc
def test_a_narrowed_unit_reads_the_narrow_headers_and_without_its_header_compiles_as_it_was(
        tmp_path: Path, torch_include: Path) -> None:
    tree, unit, report, original, narrow = _narrow_one(tmp_path, "nms_cuda.cu", NMS, torch_include)
    assert report.narrowed == {"pytorch/cuda/nms_cuda.cu": ["empty", "zeros"]}
    assert report.headers == ["common/pytorch_cuda_helper.hpp"]
    assert unit.read_text() == NMS
    assert _seen(narrow) == {"ATen/core/Tensor.h", "ATen/Dispatch.h", "ATen/ops/empty.h", "ATen/ops/zeros.h"}
    assert _preprocess(unit, tree, torch_include) == original
    assert _seen(original) == {"ATen/ATen.h"}
    assert "int line = 5;" in narrow and "int line = 5;" in original


def test_units_naming_torch_without_torch_types_or_without_a_full_header_are_left_as_they_are(
        tmp_path: Path, torch_include: Path) -> None:
    factories = '#include "pytorch_cuda_helper.hpp"\nauto t = torch::zeros({1});\n'
    plain = "#include <cuda_runtime.h>\n__global__ void k() {}\n"
    tree = _tree(tmp_path, {"a_cuda.cu": factories, "b_cuda.cu": plain})
    report = narrow_tree(tree, torch_include)
    assert report.narrowed == {} and not list(tree.rglob("*.narrow.h"))
    assert "torch::" in report.left["pytorch/cuda/a_cuda.cu"]
    assert report.left["pytorch/cuda/b_cuda.cu"] == "includes no full torch header"
    assert (tree / "mmcv/ops/csrc/pytorch/cuda/a_cuda.cu").read_text() == factories
    assert (tree / "mmcv/ops/csrc/pytorch/cuda/b_cuda.cu").read_text() == plain


BIAS_ACT = """#include <torch/types.h>
#include "pytorch_cuda_helper.hpp"
torch::Tensor f(torch::Tensor x) {
  int line = __LINE__;
  auto y = torch::empty_like(x);
  return torch::mm_out(y, x, x);
}
"""


@needs_gcc
def test_a_unit_naming_torch_gets_torch_types_without_the_all_operator_header(
        tmp_path: Path, torch_include_with_types: Path) -> None:
    tree, unit, report, original, narrow = _narrow_one(tmp_path, "bias_act_cuda.cu", BIAS_ACT,
                                                       torch_include_with_types)
    assert report.narrowed == {"pytorch/cuda/bias_act_cuda.cu": ["empty_like", "mm"]}
    header = narrow_header_of(unit).read_text()
    assert "#define AT_PER_OPERATOR_HEADERS" in header and "constexpr auto kInt32 = at::kInt;" in header
    assert "#include <ATen/ATen.h>" not in header and "#pragma once" not in header
    assert _seen(narrow) == {"ATen/core/Tensor.h", "ATen/Dispatch.h", "ATen/ops/empty_like.h",
                             "ATen/ops/mm.h", "torch/csrc/autograd/generated/variable_factories.h"}
    assert _preprocess(unit, tree, torch_include_with_types) == original
    assert {"ATen/ATen.h", "torch/types.h"} <= _seen(original)
    assert "int line = 4;" in narrow and "int line = 4;" in original


def test_torch_namespace_needs_torch_types_with_the_all_operator_include(
        tmp_path: Path, torch_include_with_types: Path) -> None:
    assert "namespace torch" in torch_namespace(torch_include_with_types)
    assert torch_namespace(tmp_path / "no-such-include") is None
    (torch_include_with_types / TORCH_TYPES).write_text("namespace torch {}\n", encoding="utf-8")
    assert torch_namespace(torch_include_with_types) is None


def test_a_unit_naming_indexing_gets_the_indexing_header(tmp_path: Path, torch_include: Path) -> None:
    iou3d = '#include "pytorch_cuda_helper.hpp"\nvoid f(Tensor t) {\n  using namespace at::indexing;\n}\n'
    tree = _tree(tmp_path, {"iou3d_cuda.cu": iou3d})
    narrow_tree(tree, torch_include)
    header = narrow_header_of(tree / "mmcv/ops/csrc/pytorch/cuda/iou3d_cuda.cu").read_text()
    assert "#include <ATen/TensorIndexing.h>" in header and "#define AT_PER_OPERATOR_HEADERS" in header
    assert "namespace torch" not in header


def test_the_operators_of_the_units_in_tree_headers_count(tmp_path: Path, torch_include: Path) -> None:
    unit = '#include "voxel_kernel.cuh"\n#include "pytorch_cuda_helper.hpp"\nvoid f() {}\n'
    kernel = "#pragma once\ninline void g() { auto u = at::unique_dim(t, 0); }\n"
    tree = _tree(tmp_path, {"voxelization_cuda.cu": unit}, {"common/cuda/voxel_kernel.cuh": kernel})
    assert narrow_tree(tree, torch_include).narrowed == {"pytorch/cuda/voxelization_cuda.cu": ["unique_dim"]}


def test_the_tree_is_left_alone_without_the_torch_operator_headers(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"nms_cuda.cu": NMS})
    report = narrow_tree(tree, tmp_path / "no-such-include")
    assert report.summary() == "0 narrowed, 0 left as they are"
    assert (tree / "mmcv/ops/csrc/pytorch/cuda/nms_cuda.cu").read_text() == NMS
    assert not list(tree.rglob("*.narrow.h"))


def test_operators_are_found_qualified_and_under_using_namespace_at() -> None:
    ops = frozenset({"empty", "zeros", "sort", "max"})
    code = 'auto a = at::empty({1}); auto b = zeros({2}); t.sort(0); "at::max(";  // at::sort(\n'
    assert ops_named(code, ops, unqualified=False) == {"empty"}
    assert ops_named(code, ops, unqualified=True) == {"empty", "zeros"}
    assert unit_ops(['#include "h.hpp"\n', "using namespace at;\nauto z = zeros({1});\n"], ops) == ["zeros"]
    assert unit_ops(['#include "h.hpp"\n', "auto z = zeros({1});\n"], ops) == []
    assert ops_named("torch::max_out(a, b); at::sort_outf(c); torch::Tensor t; x.empty();", ops,
                     unqualified=False) == {"max", "sort"}


def test_the_guard_keeps_the_full_include_and_the_line_numbers() -> None:
    text = "// a\n#include <ATen/ATen.h>\n#include <ATen/cuda/CUDAContext.h>\n#include <vector>\n"
    guarded = guard_full_includes(text)
    assert guard_full_includes(guarded) == guarded
    assert "#include <ATen/ATen.h>" in guarded and "#include <ATen/core/Tensor.h>" in guarded
    assert "#line 3\n#include <ATen/cuda/CUDAContext.h>" in guarded
    assert guard_full_includes("#include \"ATen/ATen.h\"\n") == "#include \"ATen/ATen.h\"\n"


def test_why_not_narrow_reads_code_not_comments() -> None:
    assert why_not_narrow(["// torch::zeros\n#include <torch/types.h>\n"]) is None
    assert why_not_narrow(["torch::zeros({1});\n#include <torch/types.h>\n"], "namespace torch {}") is None
    assert "torch::" in why_not_narrow(["torch::zeros({1});\n#include <torch/types.h>\n"])
    assert "torch::" in why_not_narrow(["#include <torch/types.h>\nusing namespace torch;\n"])
    assert why_not_narrow(["/* #include <ATen/ATen.h> */\n"]) == "includes no full torch header"


def test_op_headers_are_the_per_operator_headers(tmp_path: Path, torch_include: Path) -> None:
    assert {"empty", "zeros", "unique_dim"} <= op_headers(torch_include)
    tree = _tree(tmp_path, {"nms_cuda.cu": NMS})
    narrow_tree(tree, torch_include)
    header = narrow_header_of(tree / "mmcv/ops/csrc/pytorch/cuda/nms_cuda.cu").read_text()
    assert f"#define {NARROW_DEFINE}" in header and "#include <ATen/ops/zeros.h>" in header
