"""Build metadata vs the running torch."""

import json

from mmbuild.verify.build_vs_runtime import RuntimeTorch, check_build_vs_runtime, read_metadata

RUNTIME = RuntimeTorch("2.13.0+cpu", None, True)


def _statuses(results):
    return {r.name: (r.status, r.id) for r in results}


def test_metadata_for_another_torch_fails(tmp_path):
    (tmp_path / "_mmbuild.json").write_text(json.dumps(
        {"torch": {"version": "2.4.1+cu121", "cuda": "12.1", "cxx11_abi": False}, "target": "cuda"}))
    results = _statuses(check_build_vs_runtime(read_metadata(tmp_path), RUNTIME))
    assert results["torch version"] == ("fail", "undefined-symbol")
    assert results["torch CUDA"] == ("fail", "cuda-version-mismatch")
    assert results["C++ ABI"] == ("fail", "undefined-symbol")


def test_matching_metadata_passes(tmp_path):
    (tmp_path / "_mmbuild.json").write_text(json.dumps(
        {"torch": {"version": "2.13.0+cpu", "cuda": None, "cxx11_abi": True}, "target": "cpu"}))
    assert {r.status for r in check_build_vs_runtime(read_metadata(tmp_path), RUNTIME)} == {"pass"}


def test_mmcv_installed_without_mmbuild_is_a_skip(tmp_path):
    [result] = check_build_vs_runtime(read_metadata(tmp_path), RUNTIME)
    assert result.status == "skip" and "_mmbuild.json" in result.message
