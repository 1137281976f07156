"""mmcv-full imports torchvision: the plan checks for the torchvision of the installed torch first.

Environments are saved reports (tests/fixtures/envs) with their torch or torchvision changed.
The pairing data is mmbuild/knowledge/torchvision.toml (torchvision's README table and each
release's ``torch`` pin on the package index).
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

import pytest

from mmbuild.knowledge import torchvision_pairs
from mmbuild.model.environment import Environment, load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan

ROOT = Path(__file__).resolve().parents[2]
ENVS = ROOT / "tests" / "fixtures" / "envs"
FULL = BuildOptions(mmcv="mmcv-full==1.7.2")


def _env(name: str, torchvision: str | None, torch: str | None = None) -> Environment:
    env = load_environment(ENVS / f"{name}.json")
    env = dataclasses.replace(env, packages={**env.packages, "torchvision": torchvision})
    if torch is not None:
        env = dataclasses.replace(env, torch=dataclasses.replace(env.torch, version=torch))
    return env


def _torchvision(plan):
    findings = [f for f in plan.findings if f.id == "torchvision-missing"]
    rows = [d for d in plan.decisions if d.name == "torchvision"]
    return findings, rows


# ---------------------------------------------------------------- the table


@pytest.mark.parametrize(
    ("torch", "torchvision"),
    [("1.5", "0.6"), ("1.6", "0.7"), ("1.7", "0.8"), ("1.8", "0.9"), ("1.9", "0.10"), ("1.10", "0.11"),
     ("1.11", "0.12"), ("1.12", "0.13"), ("1.13", "0.14"), ("2.0", "0.15"), ("2.1", "0.16"), ("2.2", "0.17"),
     ("2.3", "0.18"), ("2.4", "0.19"), ("2.5", "0.20"), ("2.6", "0.21"), ("2.7", "0.22"), ("2.8", "0.23"),
     ("2.9", "0.24"), ("2.10", "0.25"), ("2.11", "0.26"), ("2.12", "0.27"), ("2.13", "0.28"),
     ("2.14", "0.29"), ("2.15", "0.30")],
)
def test_published_pairs(torch: str, torchvision: str) -> None:
    pair = torchvision_pairs.pair_for_torch(f"{torch}.0+cu999")
    assert pair is not None and pair.torchvision_label == torchvision and pair.basis
    assert torchvision_pairs.pair_for_torchvision(f"{torchvision}.0").torch_label == torch


def test_every_release_belongs_to_its_pair_and_checked_rows_have_releases() -> None:
    for pair in torchvision_pairs.pairs():
        assert pair.checked == bool(pair.releases), pair
        for r in pair.releases:
            assert tuple(r.version.release[:2]) == pair.torchvision
            assert any(r.admits(f"{pair.torch_label}.{patch}") for patch in range(4)), (pair, r)


@pytest.mark.parametrize(
    ("torch", "recommended"),
    [("2.13.0+cu130", "0.28.0"), ("2.12.1", "0.27.1"), ("2.12.0+cpu", "0.27.0"), ("2.14.1", "0.29.2"),
     ("2.0.0", "0.15.1"), ("1.10.0", "0.11.1"), ("1.7.0", "0.8.1"), ("1.7.1+cu110", "0.8.2"),
     ("2.13.1", None)],
)
def test_recommended_release_keeps_torch(torch: str, recommended: str | None) -> None:
    wanted = torchvision_pairs.pair_for_torch(torch).recommended(torch)
    assert (str(wanted.version) if wanted else None) == recommended


# ---------------------------------------------------------------- the plan


def test_mmcv_full_without_torchvision_is_blocked_with_the_exact_command() -> None:
    plan = make_plan(_env("h100-cuda-13.0-torch-2.13", None), FULL)
    findings, rows = _torchvision(plan)
    assert plan.ok is False and len(findings) == 1 and findings[0].severity == "error"
    assert "torch 2.13.0+cu130" in findings[0].message and "0.28.0" in findings[0].message
    assert re.search(r"torchvision==[\d.]+", findings[0].fix).group(0) == "torchvision==0.28.0"
    assert findings[0].fix.startswith("pip install torchvision==0.28.0")
    assert "download.pytorch.org/whl/cu130" in findings[0].fix  # the same CUDA variant as torch
    assert rows and rows[0].value == "missing (needs 0.28.0)"


def test_matching_torchvision_gives_no_finding() -> None:
    plan = make_plan(_env("h100-cuda-13.0-torch-2.13", "0.28.0"), FULL)
    findings, rows = _torchvision(plan)
    assert findings == [] and plan.ok, [f"{f.severity} {f.id}: {f.message}" for f in plan.findings]
    assert rows[0].value == "0.28.0"


def test_torchvision_of_another_torch_is_an_error_naming_both() -> None:
    plan = make_plan(_env("h100-cuda-13.0-torch-2.13", "0.27.0"), FULL)
    (finding,), _ = _torchvision(plan)
    assert plan.ok is False and finding.severity == "error"
    assert "torchvision 0.27.0" in finding.message and "torch 2.13.0+cu130" in finding.message
    assert "torch 2.12" in finding.message and "torchvision==0.28.0" in finding.fix


def test_cpu_torch_gets_the_cpu_torchvision() -> None:
    plan = make_plan(_env("this-machine-cpu-torch-2.13", None), FULL)
    (finding,), _ = _torchvision(plan)
    assert finding.fix.startswith(
        "pip install torchvision==0.28.0 --index-url https://download.pytorch.org/whl/cpu"
    )
    assert make_plan(_env("this-machine-cpu-torch-2.13", "0.28.0+cpu"), FULL).ok


def test_mmcv_2_needs_no_torchvision() -> None:
    plan = make_plan(_env("h100-cuda-13.0-torch-2.13", None), BuildOptions(mmcv="2.2.0"))
    assert _torchvision(plan) == ([], []) and plan.ok


def test_chosen_mmcv_full_is_checked_too() -> None:
    plan = make_plan(_env("mmdet-2.28-needs-mmcv-full", None), BuildOptions())
    assert plan.mmcv.package == "mmcv-full" and plan.ok is False
    assert _torchvision(plan)[0][0].severity == "error"


def test_torch_newer_than_the_table() -> None:
    plan = make_plan(_env("h100-cuda-13.0-torch-2.13", None, torch="2.16.0+cu130"), FULL)
    (finding,), _ = _torchvision(plan)
    assert finding.severity == "error"
    assert "unknown to mmbuild" in finding.message
    assert "the torchvision released with torch 2.16.0" in finding.message
    assert '"torch==2.16.0"' in finding.fix  # pip picks the torchvision whose pin admits it

    older = make_plan(_env("h100-cuda-13.0-torch-2.13", "0.29.2", torch="2.16.0+cu130"), FULL)
    (finding,), _ = _torchvision(older)
    assert finding.severity == "warning" and "released with torch 2.16.0" in finding.message

    unknown = make_plan(_env("h100-cuda-13.0-torch-2.13", "0.31.0", torch="2.16.0+cu130"), FULL)
    assert _torchvision(unknown)[0] == []  # cannot judge: no finding


def test_expected_row_does_not_block_a_mismatch() -> None:
    plan = make_plan(_env("h100-cuda-13.0-torch-2.13", "0.29.2", torch="2.15.0+cu130"), FULL)
    (finding,), _ = _torchvision(plan)
    assert finding.severity == "warning" and "0.30.x" in finding.message


def test_unknown_patch_release_pins_torch() -> None:
    plan = make_plan(_env("h100-cuda-13.0-torch-2.13", None, torch="2.13.1+cu130"), FULL)
    (finding,), _ = _torchvision(plan)
    assert '"torchvision==0.28.*" "torch==2.13.1"' in finding.fix


@pytest.mark.parametrize(
    ("torchvision", "severity"),
    [("0.28.0+cu126", "error"), ("0.28.0+cpu", "warning"), ("0.28.0+cu130", None)],
)
def test_build_variant_of_torchvision(torchvision: str, severity: str | None) -> None:
    plan = make_plan(_env("h100-cuda-13.0-torch-2.13", torchvision), FULL)
    findings, _ = _torchvision(plan)
    assert [f.severity for f in findings] == ([severity] if severity else [])
    if severity:
        assert "--index-url https://download.pytorch.org/whl/cu130" in findings[0].fix


def test_module_is_pure_and_the_table_ships() -> None:
    source = Path(importlib.import_module("mmbuild.plan.torchvision").__file__).read_text(encoding="utf-8")
    imports = re.findall(r"^(?:from|import) (\S+)", source, re.MULTILINE)
    assert not [m for m in imports if m.split(".")[0] in ("subprocess", "torch", "torchvision", "os")]
    assert not [m for m in imports if m.startswith(("mmbuild.probe", "mmbuild.util.process"))]
    assert "open(" not in source
    assert (ROOT / "mmbuild" / "knowledge" / "torchvision.toml").is_file()
    assert '"knowledge/*.toml"' in (ROOT / "setup.py").read_text(encoding="utf-8")


def test_a_stack_with_mmpretrain_gets_the_torchvision_of_torch_even_with_mmcv_2() -> None:
    from mmbuild.model.build_plan import MmcvChoice
    from mmbuild.plan.torchvision import torchvision_to_install

    env = _env("h100-cuda-13.0-torch-2.13", None)
    mmcv2 = MmcvChoice("mmcv", "2.1.0", "")
    assert torchvision_to_install(env, mmcv2, ("mmdet", "mmsegmentation")) is None
    assert torchvision_to_install(env, mmcv2, ("mmdet", "mmpretrain")) == (
        "torchvision==0.28.0", "https://download.pytorch.org/whl/cu130")
    assert torchvision_to_install(_env("h100-cuda-13.0-torch-2.13", "0.28.0"), mmcv2, ("mmpretrain",)) is None
