"""What ``mmbuild env`` finds on saved reports and small variations of them.

``env`` reports the findings of the plan for default options, so ``env`` and ``plan`` agree.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mmbuild.commands.env import plan_findings
from mmbuild.model.environment import Compiler, load_environment
from mmbuild.plan.environment_checks import driver_finding

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"


def _env(name: str):
    return load_environment(ENVS / f"{name}.json")


def _by_id(env) -> dict:
    return {f.id: f for f in plan_findings(env)}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("this-machine-cpu-torch-2.13", {"not-compiled-with-gpu": "info"}),
        ("cpu-torch-on-gpu-machine", {"not-compiled-with-gpu": "info", "torch-cuda-unavailable": "warning"}),
        ("gcc-5.5-only", {"gcc-unsupported": "error"}),
        ("gcc-5.5-with-gcc-9", {"gcc-unsupported": "info"}),  # the plan takes GCC 9
        ("gcc-13-cuda-12.1-with-gcc-11", {"gcc-unsupported": "info"}),  # the plan takes GCC 11
        ("win-vs2019-cuda-9.2",
         {"msvc-unsupported": "error", "torchvision-missing": "error", "torch15-all-slots": "warning"}),
        ("torch-cu130-only-cuda-12.8", {"cuda-version-mismatch": "error"}),  # the machine has a GPU
        ("torch-cuda-no-toolkit", {"cuda-home-missing": "warning"}),
        ("cuda-home-points-nowhere", {"cuda-home-missing": "error"}),
        ("driver-565-with-cuda-13.0", {"driver-too-old": "error"}),
        ("mmcv-and-mmcv-full-installed", {"not-compiled-with-gpu": "info", "mmcv-dual-install": "warning"}),
        ("h100-cuda-13.0-torch-2.13", {}),
        ("two-toolkits-picks-matching-major", {}),
        ("this-machine-mmcv-2.2.0-under-mmseg-1.2.2",
         {"not-compiled-with-gpu": "info", "mmcv-version-incompatible": "warning",
          "untested-version": "warning"}),
    ],
)
def test_findings_of_saved_reports(name: str, expected: dict) -> None:
    found = {f.id: f.severity for f in plan_findings(_env(name))}
    assert found == expected


def test_every_finding_has_a_one_line_fix() -> None:
    for path in ENVS.glob("*.json"):
        for f in plan_findings(load_environment(path)):
            assert f.fix and "\n" not in f.fix and "\n" not in f.message, f


def test_finding_ids_are_in_the_catalogue() -> None:
    from mmbuild.knowledge import load_table

    catalogue = load_table("problems")
    known = {p["id"] for p in catalogue.get("problem", [])} or set(catalogue)
    for path in ENVS.glob("*.json"):
        for f in plan_findings(load_environment(path)):
            assert f.id in known, f.id


def test_gcc_5_4_passes_and_4_8_fails() -> None:
    env = _env("gcc-5.5-only")
    ok = dataclasses.replace(
        env, compilers=dataclasses.replace(env.compilers, cxx=Compiler("gcc", "5.4.0", "/usr/bin/g++"))
    )
    old = dataclasses.replace(
        env, compilers=dataclasses.replace(env.compilers, cxx=Compiler("gcc", "4.8.5", "/usr/bin/g++"))
    )
    assert "gcc-unsupported" not in _by_id(ok)
    assert _by_id(old)["gcc-unsupported"].severity == "error"


def test_gcc_too_new_matters_only_for_cuda_torch() -> None:
    env = _env("gcc-13-cuda-12.1-with-gcc-11")
    cpu = dataclasses.replace(env, torch=dataclasses.replace(env.torch, cuda=None))
    assert "gcc-unsupported" not in _by_id(cpu)


@pytest.mark.parametrize(
    ("driver", "cuda", "severity"),
    [
        ("565.57.01", "13.0", "error"),  # below CUDA 13's minor-version floor
        ("580.65.06", "13.0", None),
        ("580.65.06", "13.1", "warning"),  # SASS runs, PTX from 13.1 does not JIT
        ("590.44.01", "13.1", None),
        ("450.51.05", "11.0", None),
        ("418.87.00", "11.0", "error"),
    ],
)
def test_driver_minimums(driver: str, cuda: str, severity) -> None:
    finding = driver_finding(driver, cuda, "the toolkit")
    assert (finding.severity if finding else None) == severity


def test_windows_with_long_paths_disabled_is_warned_and_enabled_or_unknown_is_not():
    env = _env("win-torch-2.13-cuda-13.2-vs2022")
    assert "windows-long-paths" not in _by_id(env)
    env.os.long_paths = False
    finding = _by_id(env)["windows-long-paths"]
    assert finding.severity == "warning" and "LongPathsEnabled" in finding.fix
    env.os.long_paths = True
    assert "windows-long-paths" not in _by_id(env)


def test_gcc_other_compiler_is_named_in_the_finding() -> None:
    [gcc] = [f for f in plan_findings(_env("gcc-5.5-with-gcc-9")) if f.id == "gcc-unsupported"]
    assert "GCC 5.5.0" in gcc.message and "/usr/bin/g++-9" in gcc.message


def test_an_installed_mmcv_that_an_installed_package_refuses_is_named_with_its_bound() -> None:
    refusals = [f for f in plan_findings(_env("this-machine-mmcv-2.2.0-under-mmseg-1.2.2"))
                if f.id == "mmcv-version-incompatible"]
    assert [f.message.split(":")[0] for f in refusals] == [
        "mmsegmentation 1.2.2 refuses the installed mmcv 2.2.0"]
    assert "mmcv<2.2.0,>=2.0.0rc4" in refusals[0].message and "mmbuild install" in refusals[0].fix


def test_an_installed_mmcv_inside_every_bound_is_not_reported() -> None:
    env = _env("this-machine-mmcv-2.2.0-under-mmseg-1.2.2")
    env.packages["mmcv"] = "2.1.0+torch2.13cpu"
    assert "mmcv-version-incompatible" not in {f.id for f in plan_findings(env)}
