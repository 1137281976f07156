"""What mmbuild has not seen is tried; only a combination known to fail blocks (knowledge/bounds.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mmbuild.knowledge import compilers, mmcv_versions
from mmbuild.knowledge.bounds import Bounds
from mmbuild.knowledge.versions import parse_version
from mmbuild.model.environment import Compiler, DownstreamConstraint, load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"


def _env(name: str = "h100-cuda-13.0-torch-2.13", torch: str | None = None, cuda: str | None = None):
    env = load_environment(ENVS / f"{name}.json")
    if torch:
        env.torch = dataclasses.replace(env.torch, version=torch, cuda=cuda or env.torch.cuda)
    return env


def _ids(plan) -> dict[str, str]:
    return {f.id: f.severity for f in plan.findings}


def test_bounds_judge_each_kind() -> None:
    bounds = Bounds("torch", "mmcv 9", fails_below=parse_version("1.8"), fails_below_because="too old",
                    tested_up_to=parse_version("2.13"), fails_from=parse_version("3.0"),
                    fails_from_because="it breaks")
    assert bounds.judge("2.13.5+cu130").status == "tested"
    assert bounds.judge("1.7.1").status == "fails" and "too old" in bounds.judge("1.7.1").reason
    untested = bounds.judge("2.15.0+cu132")
    assert untested.status == "untested" and not untested.blocks and "up to 2.13" in untested.reason
    failed = bounds.judge("3.1.0")
    assert failed.blocks and "3.0 and newer: it breaks" in failed.reason
    assert bounds.judge(None).status == "unknown"


@pytest.mark.parametrize("torch, cuda", [("2.15.0+cu132", "13.2"), ("2.14.1+cu130", "13.0"),
                                         ("2.99.0+cu139", "13.9")])
def test_newer_torch_is_planned_untested_not_blocked(torch: str, cuda: str) -> None:
    plan = make_plan(_env(torch=torch, cuda=cuda), BuildOptions())
    assert plan.ok, [f.message for f in plan.findings]
    untested = [f for f in plan.findings if f.id == "untested-version"]
    assert (plan.mmcv.package, plan.mmcv.version) == ("mmcv", "2.2.0")
    judgement = mmcv_versions.find_release("mmcv", "2.2.0").judge_torch(torch)
    assert judgement.status in ("tested", "untested")
    assert bool(untested) == (judgement.status == "untested")
    assert all(f.severity == "warning" and "newer" in f.message for f in untested)
    assert "mmcv-version-incompatible" not in _ids(plan)


def test_unknown_mmcv_release_is_tried_like_a_new_torch() -> None:
    plan = make_plan(_env(), BuildOptions(mmcv="9.9.9"))
    assert plan.ok and _ids(plan)["untested-version"] == "warning"
    assert (plan.mmcv.package, plan.mmcv.version) == ("mmcv", "9.9.9")


def test_known_to_fail_row_blocks_with_its_reason() -> None:
    # mmcv-full 1.5.3's setup.py forces -std=c++14 and torch >= 2.1 needs C++17.
    plan = make_plan(_env(), BuildOptions(mmcv="mmcv-full==1.5.3"))
    assert not plan.ok
    error = next(f for f in plan.findings if f.id == "mmcv-version-incompatible")
    assert error.severity == "error" and "-std=c++14" in error.message and "2.1 and newer" in error.message
    assert error.message[0].isalnum()
    # Below upstream's oldest torch: known to fail too.
    old = make_plan(_env(torch="1.7.1", cuda="11.0"), BuildOptions(mmcv="2.2.0"))
    assert _ids(old)["mmcv-version-incompatible"] == "error"


def test_automatic_choice_blocks_only_when_every_fitting_release_is_known_to_fail() -> None:
    env = _env()
    env.downstream_constraints = [DownstreamConstraint("mmdet", "2.19.0", "1.3.17", "1.5.0")]
    plan = make_plan(env, BuildOptions())
    error = next(f for f in plan.findings if f.id == "mmcv-version-incompatible")
    assert error.severity == "error" and not plan.ok
    assert error.message.startswith("mmcv-full 1.4.8 is known to fail with torch 2.1 and newer")
    assert "mmdet 2.19.0 requires mmcv-full" in error.message


def test_newest_release_inside_every_bound_with_its_reason() -> None:
    env = _env()
    env.downstream_constraints = [DownstreamConstraint("mmdet", "3.3.0", "2.0.0rc4", "2.2.0")]
    plan = make_plan(env, BuildOptions())
    assert (plan.mmcv.package, plan.mmcv.version) == ("mmcv", "2.1.0")
    assert "mmdet 3.3.0 requires mmcv" in plan.mmcv.reason


def _with_compiler(env, version: str):
    gcc = Compiler("gcc", version, "/usr/bin/g++")
    env.compilers = dataclasses.replace(env.compilers, cxx=gcc, candidates=[gcc])
    return env


def test_host_compiler_limit_known_fails_untested_is_tried() -> None:
    # CUDA 13.0 is in the table: GCC 16 is known to fail (nvcc's host_config.h refuses it).
    known = make_plan(_with_compiler(_env(), "16.1.0"), BuildOptions())
    assert _ids(known)["gcc-unsupported"] == "error"
    # A CUDA newer than the table knows: GCC 16 is tried, nvcc's own check decides.
    env = _env(torch="2.99.0+cu139", cuda="13.9")
    env.cuda_toolkits = [dataclasses.replace(env.cuda_toolkits[0], version="13.9")]
    newer = make_plan(_with_compiler(env, "16.1.0"), BuildOptions())
    assert "gcc-unsupported" not in _ids(newer) and newer.ok
    assert any(f.id == "untested-version" and "GCC 16.1.0" in f.message for f in newer.findings)
    assert compilers.host_compiler_too_new("gcc", "16.1.0", "13.3.1") == 15
    assert compilers.host_compiler_too_new("gcc", "16.1.0", "13.4") is None


@pytest.mark.parametrize(
    "installed, expected",
    [
        ({"mmdet": "3.3.0", "mmpretrain": "1.2.0", "mmaction2": "1.2.0"}, ("mmcv", "2.1.0")),
        ({"mmdet": "3.3.0", "mmpretrain": "1.0.0"}, ("mmcv", "2.0.1")),
        ({"mmpretrain": "1.2.0"}, ("mmcv", "2.2.0")),
        ({"mmsegmentation": "0.30.0", "mmdet": "2.28.2"}, ("mmcv-full", "1.6.2")),
    ],
)
def test_several_downstream_pins_give_the_newest_release_inside_every_bound(installed, expected) -> None:
    env = _env()
    env.packages = {**env.packages, **installed}
    plan = make_plan(env, BuildOptions())
    assert (plan.mmcv.package, plan.mmcv.version) == expected
    for name in installed:
        assert name in plan.mmcv.reason


def test_downstream_conflict_blocks_naming_both_packages() -> None:
    env = _env()
    env.packages = {**env.packages, "mmpretrain": "1.0.0", "mmdet": "2.28.2"}
    plan = make_plan(env, BuildOptions())
    error = next(f for f in plan.findings if f.id == "mmcv-version-incompatible")
    assert error.severity == "error" and not plan.ok
    assert "mmpretrain 1.0.0 requires mmcv" in error.message
    assert "mmdet 2.28.2 requires mmcv-full" in error.message
