"""Which _ext functions have a CPU kernel: derived from the sources, kept as data, applied to a real _ext."""

import importlib.util
from pathlib import Path

import pytest
from mmcv_sources import extract_sdist

from mmbuild.knowledge import load_table
from mmbuild.verify.cpu_coverage import cpu_coverage, known_inventory

GENERATOR = Path(__file__).resolve().parents[2] / "scripts" / "tables" / "mmcv_cpu_kernels.py"


def _load_generator():
    spec = importlib.util.spec_from_file_location("mmcv_cpu_kernels", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
derive, main = generator.derive, generator.main

MINI = Path(__file__).parent.parent / "fixtures" / "verify" / "mini_mmcv"


def test_each_way_of_reaching_a_kernel_is_classified():
    inventory = derive(MINI)
    assert inventory.cpu == ["contour_expand", "hard_voxelize_forward", "nms"]
    assert inventory.no_cpu_kernel == ["get_indice_pairs_forward", "roi_pool_forward"]


def test_a_tree_without_ops_is_a_usage_error(tmp_path, capsys):
    assert main(["2.2.0", str(tmp_path)]) == 2
    assert "pybind.cpp" in capsys.readouterr().err


@pytest.mark.parametrize("package, version", [("mmcv", "2.2.0"), ("mmcv", "2.1.0"), ("mmcv-full", "1.7.2")])
def test_the_shipped_table_matches_the_real_sources(package, version, tmp_path):
    derived = derive(extract_sdist(package, version, tmp_path, only="/mmcv/ops"))
    entry = load_table("mmcv_cpu_kernels")[version]
    assert (entry["cpu"], entry["no_cpu_kernel"]) == (derived.cpu, derived.no_cpu_kernel)


def test_roi_pool_and_the_focal_losses_have_no_cpu_kernel_in_mmcv_2():
    _, inventory = known_inventory("2.2.0")
    assert {"roi_pool_forward", "sigmoid_focal_loss_forward", "ms_deform_attn_forward"} <= set(
        inventory.no_cpu_kernel)
    assert {"nms", "psamask_forward", "pixel_group"} <= set(inventory.cpu)


def test_a_newer_patch_release_uses_the_nearest_older_table():
    key, _ = known_inventory("2.2.3")
    assert key == "2.2.0"
    assert known_inventory("3.0.0") is None and known_inventory("not a version") is None


def test_coverage_lists_only_functions_of_the_real_ext():
    coverage = cpu_coverage(["nms", "roi_pool_forward", "brand_new_op"], "2.2.0")
    assert coverage.no_cpu_kernel == ["roi_pool_forward"]
    assert coverage.unknown == ["brand_new_op"]
    assert "2.2.0" in coverage.source


def test_without_a_table_only_what_this_run_saw_is_listed():
    coverage = cpu_coverage(["nms", "roi_pool_forward"], "9.0.0", seen_missing=["roi_pool_forward"])
    assert coverage.no_cpu_kernel == ["roi_pool_forward"]
    assert "no table" in coverage.source
