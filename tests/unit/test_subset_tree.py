"""Subset builds on the real mmcv source trees (extracted from the sdists into a temp dir).

The sdists come from $MMBUILD_TEST_SDIST_DIR, else they are downloaded once (tests/mmcv_sources.py).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from mmcv_sources import extract_sdist

from mmbuild.errors import UsageError
from mmbuild.subset import apply_subset, index_tree
from mmbuild.subset.bindings import bound_functions
from mmbuild.subset.index import CSRC, candidate_files, cudabind_chunks, python_loader_groups
from mmbuild.subset.select import kept_cudabind_chunks, select_units

SDISTS = {"2.2.0": "mmcv", "2.1.0": "mmcv", "1.7.2": "mmcv-full"}
VERSIONS = list(SDISTS)


@pytest.fixture(scope="session")
def pristine(tmp_path_factory):
    """version -> extracted tree holding mmcv/ops (extracted once per session)."""
    cache = tmp_path_factory.mktemp("mmcv-sources")
    trees: dict[str, Path] = {}

    def get(version: str) -> Path:
        if version not in trees:
            trees[version] = extract_sdist(SDISTS[version], version, cache / version, only="/mmcv/ops")
        return trees[version]

    return get


@pytest.fixture
def tree(pristine, tmp_path):
    """A fresh, writable copy of a version's tree: tree(version) -> Path."""
    def copy(version: str) -> Path:
        source = pristine(version)
        target = tmp_path / version / source.name
        shutil.copytree(source, target)
        return target
    return copy


def csrc_files(root: Path) -> set[str]:
    return {p.relative_to(root / CSRC).as_posix() for p in (root / CSRC).rglob("*") if p.is_file()}


def m_def_names(text: str) -> list[str]:
    return re.findall(r'm\.def\(\s*"(\w+)"', text)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("target", ["cpu", "cuda"])
def test_all_ops_keep_every_source(pristine, version, target):
    """Selecting every op must reproduce the full build: no file, chunk or binding lost."""
    index = index_tree(pristine(version), target)
    selection = select_units(index, index.ops)
    kept_paths = {index.units[key].path for key in selection.kept}
    compiled = set(candidate_files(pristine(version), target)) - {"pybind.cpp"}
    # On CPU, mmcv's spconv ops raise "not implemented on CPU": the CPU functor files are dead code.
    dead = {"cpu/sparse_indice.cpp", "cpu/sparse_maxpool.cpp", "cpu/sparse_reordering.cpp"}
    assert compiled - kept_paths == (dead if target == "cpu" else set())
    assert kept_paths <= compiled
    if target == "cuda":
        assert len(kept_cudabind_chunks(index, selection)) == len(cudabind_chunks(index.cudabind_text))
    assert all(function in selection.available for _, function in bound_functions(index.pybind_text))


def test_cpu_subset_of_nms_keeps_exactly_its_sources(tree):
    root = tree("2.2.0")
    original_pybind = (root / CSRC / "pybind.cpp").read_text()
    result = apply_subset(root, ["nms"], target="cpu")

    assert result.built_ops == ["nms"]
    assert result.devices == {"nms": ["CPU"]}
    compiled_now = {f for f in csrc_files(root) if re.fullmatch(r"[^/]+\.cpp|cpu/[^/]+\.cpp", f)}
    assert compiled_now == {"nms.cpp", "cpu/nms.cpp", "info.cpp", "pybind.cpp"}
    assert (root / CSRC / "cuda" / "nms_cuda.cu").is_file()          # not compiled for cpu: left alone
    assert "mmcv/ops/csrc/pytorch/roi_align.cpp" in result.removed_files
    assert set(result.bound) == {"nms", "softnms", "nms_match", "get_compiler_version",
                                 "get_compiling_cuda_version"}

    new_pybind = (root / CSRC / "pybind.cpp").read_text()
    assert m_def_names(new_pybind) == m_def_names(original_pybind)     # same names, same order
    assert "&nms," in new_pybind and "&roi_pool_forward" not in new_pybind
    assert ("mmcv op 'roi_pool' was not built by this mmbuild subset (built: nms); "
            "rebuild with: mmbuild install --ops nms,roi_pool") in new_pybind
    assert len(result.stubbed) == len(set(m_def_names(original_pybind))) - 5


def test_every_python_loader_name_still_bound(tree):
    root = tree("2.2.0")
    apply_subset(root, ["nms", "roi_align"], target="cpu")
    bound = set(m_def_names((root / CSRC / "pybind.cpp").read_text()))
    loaded = {name for group in python_loader_groups(root) for name in group}
    assert len(loaded) > 100, "mmcv/ops/*.py load_ext lists were not found"
    assert loaded <= bound


def test_python_module_companions_are_built(tree):
    """points_in_boxes_cpu_forward lives in cpu/points_in_boxes.cpp, loaded by the op's Python module."""
    root = tree("2.2.0")
    result = apply_subset(root, ["points_in_boxes"], target="cpu")
    assert "mmcv/ops/csrc/pytorch/cpu/points_in_boxes.cpp" in result.kept_files
    assert "points_in_boxes_cpu_forward" in result.bound


@pytest.mark.parametrize("version", VERSIONS)
def test_cuda_subset_rewrites_cudabind_consistently(tree, version):
    root = tree(version)
    result = apply_subset(root, ["nms", "roi_align", "focal_loss"], target="cuda")
    kept = {f for f in csrc_files(root) if f.startswith("cuda/")}
    assert kept == {"cuda/cudabind.cpp", "cuda/nms_cuda.cu", "cuda/roi_align_cuda.cu",
                    "cuda/focal_loss_cuda.cu"}
    assert result.devices["focal_loss"] == ["CUDA"]
    assert result.devices["nms"] == ["CPU", "CUDA"]

    cudabind = (root / CSRC / "cuda" / "cudabind.cpp").read_text()
    registered = set(re.findall(r"REGISTER_DEVICE_IMPL\((\w+),", cudabind))
    assert registered == {"nms_impl", "roi_align_forward_impl", "roi_align_backward_impl",
                          "sigmoid_focal_loss_forward_impl", "sigmoid_focal_loss_backward_impl",
                          "softmax_focal_loss_forward_impl", "softmax_focal_loss_backward_impl"}
    launchers = set(re.findall(r"\b(\w+CUDAKernelLauncher)\(", cudabind))
    defined_in_cu = set()
    for cu in kept - {"cuda/cudabind.cpp"}:
        defined_in_cu |= set(re.findall(r"\b(\w+CUDAKernelLauncher)\(", (root / CSRC / cu).read_text()))
    assert launchers and launchers <= defined_in_cu
    assert "ROIPool" not in cudabind and "Carafe" not in cudabind


def test_spconv_cuda_pulls_functor_specialisations(tree):
    """spconv's launchers use functor templates specialised in other .cu files through macros."""
    root = tree("2.2.0")
    result = apply_subset(root, ["spconv_ops"], target="cuda")
    for needed in ("cuda/spconv_ops_cuda.cu", "cuda/sparse_indice.cu", "cuda/sparse_reordering.cu"):
        assert f"mmcv/ops/csrc/pytorch/{needed}" in result.kept_files
    assert "mmcv/ops/csrc/pytorch/cuda/sparse_maxpool.cu" in result.removed_files


def test_unknown_op_suggests_close_matches(tree):
    root = tree("2.2.0")
    with pytest.raises(UsageError, match=r"unknown op 'roi_algin'.*did you mean: roi_align"):
        apply_subset(root, ["nms", "roi_algin"], target="cpu")
    assert (root / CSRC / "roi_align.cpp").is_file()          # nothing touched


@pytest.mark.parametrize(("ops", "target", "pattern"), [
    ([], "cpu", "no ops given"),
    (["nms"], "rocm", "unknown build target"),
])
def test_bad_input_is_a_usage_error(tree, ops, target, pattern):
    with pytest.raises(UsageError, match=pattern):
        apply_subset(tree("2.2.0"), ops, target=target)


def test_not_an_mmcv_tree(tmp_path):
    with pytest.raises(UsageError, match="not an mmcv source tree"):
        apply_subset(tmp_path, ["nms"], target="cpu")


def test_applying_twice(tree):
    root = tree("2.2.0")
    first = apply_subset(root, ["roi_align", "nms"], target="cpu")
    again = apply_subset(root, "nms, roi-align", target="cpu")
    assert again == first
    with pytest.raises(UsageError, match="already reduced"):
        apply_subset(root, ["nms"], target="cpu")


def test_unwritable_tree_is_a_clear_error(tree, monkeypatch):
    root = tree("2.2.0")

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(UsageError, match="cannot reduce the source tree .*Permission denied"):
        apply_subset(root, ["nms"], target="cpu")
