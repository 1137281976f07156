"""Lookups over the knowledge tables, checked against toolchain facts from NVIDIA and PyTorch."""

from __future__ import annotations

import pytest

from mmbuild.errors import UsageError
from mmbuild.knowledge import compilers, cuda, gpus, mmcv_versions, torch_facts
from mmbuild.plan.arch_list import format_arch_list, parse_arch_list


@pytest.mark.parametrize(
    ("version", "has", "lacks"),
    [
        ("11.0", ["8.0", "3.5"], ["8.6"]),
        ("11.1", ["8.6"], ["8.9"]),
        ("12.4", ["5.0", "9.0"], ["3.7", "12.0"]),
        ("12.8", ["10.0", "12.0"], ["10.3"]),
        ("13.0", ["7.5", "11.0", "12.1"], ["7.0", "10.1", "5.2"]),
    ],
)
def test_toolkit_arches_from_the_table(version: str, has: list, lacks: list) -> None:
    arches = cuda.toolkit_arches(version)
    assert set(has) <= set(arches) and not set(lacks) & set(arches)


def test_listed_arches_win_over_the_table() -> None:
    assert cuda.toolkit_arches("13.0", ["sm_90", "sm_75", "sm_120"]) == ["7.5", "9.0", "12.0"]


@pytest.mark.parametrize(
    ("kind", "cuda_version", "limit"),
    [
        ("gcc", "11.0", 9),
        ("gcc", "11.4", 10),
        ("gcc", "11.4.1", 11),
        ("gcc", "12.1", 12),
        ("gcc", "12.6", 13),
        ("gcc", "13.0", 15),
        ("clang", "12.8", 19),
    ],
)
def test_max_host_compiler(kind: str, cuda_version: str, limit: int) -> None:
    assert compilers.max_host_major(kind, cuda_version) == limit


def test_msvc_ranges_follow_the_faq() -> None:
    assert compilers.msvc_range("9.2").msc_max == 1913  # VS 2019 (1929) refused: C1189
    assert compilers.msvc_range("11.8").msc_max == 1939
    assert compilers.vs_name(1929) == "VS 2019" and compilers.vs_name(1941) == "VS 2022"


def test_gcc_rules_of_the_faq() -> None:
    assert compilers.gcc_faq_problem("5.5.0") and compilers.gcc_faq_problem("4.9.2")
    assert compilers.gcc_faq_problem("5.4.0") is None and compilers.gcc_faq_problem("12.2.0") is None


@pytest.mark.parametrize(
    ("torch", "std"),
    [
        ("1.7.1+cu110", "c++14"),
        ("2.0.1", "c++14"),
        ("2.1.0", "c++17"),
        ("2.11.0", "c++17"),
        ("2.12.0", "c++20"),
        ("2.13.0+cpu", "c++20"),
        ("2.14.0", "c++20"),
    ],
)
def test_cxx_standard_per_torch(torch: str, std: str) -> None:
    assert torch_facts.cxx_std_rule(torch).std == std


def test_cxx20_fallback_ends_with_torch_2_14() -> None:
    assert torch_facts.cxx_std_rule("2.13.0").fallback == "c++17"
    assert "msvc" in torch_facts.cxx_std_rule("2.13.0").fallback_fails_with
    assert torch_facts.cxx_std_rule("2.14.0").fallback is None


@pytest.mark.parametrize(
    ("name", "capability"),
    [
        ("NVIDIA GeForce RTX 3090", "8.6"),
        ("Tesla K80", "3.7"),
        ("NVIDIA A100-SXM4-80GB", "8.0"),
        ("NVIDIA A10", "8.6"),
        ("NVIDIA L4", "8.9"),
        ("NVIDIA H100 80GB HBM3", "9.0"),
        ("NVIDIA TITAN V", "7.0"),
        ("GeForce RTX 2080", "7.5"),
        ("NVIDIA RTX 5880 Ada Generation", "8.9"),
        ("Some Unknown Accelerator", None),
    ],
)
def test_gpu_names(name: str, capability) -> None:
    assert gpus.capability_for_name(name) == capability


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8.6", "8.6"),
        ("sm_86", "8.6"),
        ("86", "8.6"),
        ("8.6+PTX", "8.6+PTX"),
        ("9.0a", "9.0a"),
        ("sm_120", "12.0"),
        ("compute_90a", "9.0a"),
        ("Ampere", "8.0;8.6+PTX"),
        ("hopper", "9.0+PTX"),
        ("7.5, 8.0;9.0 8.0", "7.5;8.0;9.0"),
        ("Kepler+Tesla", "3.7"),
    ],
)
def test_arch_list_parsing(text: str, expected: str) -> None:
    assert format_arch_list(parse_arch_list(text, "2.13.0")) == expected


def test_blackwell_name_depends_on_torch() -> None:
    assert format_arch_list(parse_arch_list("Blackwell", "2.13.0")) == "10.0;10.3;12.0;12.1+PTX"
    assert format_arch_list(parse_arch_list("Blackwell", "2.7.0")) == "10.0;12.0+PTX"


@pytest.mark.parametrize("text", ["banana", "8.3", "10.0f", "9.0a+PTX", "7.5a", "", "sm_", "8.6+ptx+ptx"])
def test_nonsense_arch_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_arch_list(text)
    assert info.value.exit_code == 2 and "\n" not in info.value.one_line()


def test_mmcv_releases_and_downstream_tables() -> None:
    newest = mmcv_versions.mmcv_releases()[0]
    assert (newest.package, str(newest.version)) == ("mmcv", "2.2.0")
    assert newest.judge_torch("2.13.0+cpu").status == "tested"
    assert mmcv_versions.find_release("mmcv-full", "1.7.2").judge_torch("2.13.0").status == "tested"
    assert mmcv_versions.find_release("mmcv-full", "1.6.2").judge_torch("2.13.0").status == "untested"
    assert mmcv_versions.find_release("mmcv-full", "1.5.3").judge_torch("2.13.0").blocks
    cap = mmcv_versions.downstream_requirement("mmdet", "3.3.0")
    assert cap.package == "mmcv" and "2.1.0" in cap.spec and "2.2.0" not in cap.spec
    seg = mmcv_versions.downstream_requirement("mmsegmentation", "0.24.1")
    assert seg.package == "mmcv-full" and "1.6.0" in seg.spec and "1.4.3" not in seg.spec
    assert mmcv_versions.downstream_requirement("mmdet", "2.28.2").package == "mmcv-full"
