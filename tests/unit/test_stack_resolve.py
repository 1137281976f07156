"""The stack resolver against a real-format stand-in index (tests/stack_standin.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from stack_standin import StandInIndex, captured_bounds

from mmbuild.errors import UsageError
from mmbuild.model.environment import load_environment
from mmbuild.model.stack import DownstreamBounds
from mmbuild.stack.resolve import SCAN_DEPTH, resolve_stack

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"


def _env(name: str = "this-machine-cpu-torch-2.13", **packages: str | None):
    env = load_environment(ENVS / f"{name}.json")
    env.packages = {**env.packages, **{k.replace("_", "-"): v for k, v in packages.items()}}
    return env


def _resolve(*requests: str, env=None, index=None):
    return resolve_stack([Requirement(r) for r in requests], env or _env(), index or StandInIndex())


def _errors(resolution) -> list[str]:
    return [f"{f.id}: {f.message}" for f in resolution.findings if f.severity == "error"]


def test_the_newest_mmdet_and_mmseg_resolve_mmcv_2_1_0_from_their_own_bounds():
    resolution = _resolve("mmdet==3.3.0", "mmsegmentation==1.2.2")
    assert resolution.mmcv == "mmcv==2.1.0"
    assert [p.requirement for p in resolution.downstream] == ["mmdet==3.3.0", "mmsegmentation==1.2.2"]
    assert resolution.mmengine == "mmengine==0.10.7"     # newest in the captured page, < 1.0.0
    assert not _errors(resolution)
    bounds = resolution.downstream[0].bounds
    assert (bounds.mmcv_package, bounds.sources) == ("mmcv", ["metadata", "__init__.py"])


def test_no_versions_given_gives_the_newest_consistent_set_of_three():
    resolution = _resolve("mmdet", "mmpretrain", "mmaction2")
    assert [p.requirement for p in resolution.downstream] == ["mmdet==3.3.0", "mmpretrain==1.2.0",
                                                               "mmaction2==1.2.0"]
    assert resolution.mmcv == "mmcv==2.1.0"
    # mmpretrain alone accepts mmcv 2.2.0 (< 2.4.0): the others' caps decide
    assert _resolve("mmpretrain").mmcv == "mmcv==2.2.0"


def test_the_older_world_resolves_mmcv_full_and_the_torchvision_that_fits_torch():
    resolution = _resolve("mmdet==2.28.2")
    assert resolution.mmcv == "mmcv-full==1.7.2"
    assert resolution.mmengine is None
    assert (resolution.torchvision, resolution.torchvision_index) == (
        "torchvision==0.28.0", "https://download.pytorch.org/whl/cpu")
    assert not _errors(resolution)


def test_mmcv_full_with_the_fitting_torchvision_installed_needs_none():
    resolution = _resolve("mmdet==2.28.2", env=_env(torchvision="0.28.0+cpu"))
    assert resolution.torchvision is None and not _errors(resolution)


def test_mmcv_full_1_x_and_mmcv_2_x_conflict_names_every_bound_and_the_nearest_sets():
    resolution = _resolve("mmdet==2.28.2", "mmpretrain==1.2.0")
    assert resolution.blocked and resolution.downstream == [] and resolution.mmcv == ""
    (conflict,) = [f for f in resolution.findings if f.severity == "error"]
    assert conflict.id == "stack-conflict"
    assert "mmdet==2.28.2 requires mmcv-full<1.8.0,>=1.3.17 (metadata, __init__.py)" in conflict.message
    assert "mmpretrain==1.2.0 requires mmcv<2.4.0,>=2.0.0 (metadata, __init__.py)" in conflict.message
    nearest = "without the pin mmdet==2.28.2: mmdet==3.3.0, mmpretrain==1.2.0 with mmcv==2.1.0"
    assert nearest in conflict.message
    assert "without mmpretrain: mmdet==2.28.2 with mmcv-full==1.7.2" in conflict.message


def test_a_release_that_fits_only_an_mmcv_known_to_fail_with_this_torch_says_why_and_what_works():
    env = _env("win-torch-1.5-cuda-10.1-vs2017")      # torch 1.5: below every mmcv 2.x's minimum
    resolution = _resolve("mmdet==3.3.0", env=env)
    errors = _errors(resolution)
    assert errors and errors[0].startswith("mmcv-version-incompatible:")
    assert "known to fail with torch older than 1.8" in errors[0]
    assert "mmdet 3.3.0 requires mmcv<2.2.0,>=2.0.0rc4" in errors[0]


def test_installed_downstream_packages_that_stay_bound_the_set_too():
    env = _env(mmsegmentation="1.2.2")
    env.downstream_constraints = []           # its bound then comes from the table row
    resolution = _resolve("mmpretrain", env=env)
    assert resolution.mmcv == "mmcv==2.1.0"   # mmpretrain alone would take 2.2.0


def test_a_newer_release_than_the_tables_is_read_from_its_own_texts():
    newer = DownstreamBounds("mmdet", "3.4.0", "<2.3.0,>=2.0.0", "mmcv", "<1.0.0,>=0.7.1",
                             [], ["metadata", "__init__.py"], "mmengine")
    resolution = _resolve("mmdet", index=StandInIndex({("mmdet", "3.4.0"): newer}))
    assert [p.requirement for p in resolution.downstream] == ["mmdet==3.4.0"]
    assert resolution.mmcv == "mmcv==2.2.0"


def test_the_scan_stops_where_older_releases_need_older_mmcv():
    index = StandInIndex()
    _resolve("mmdet", "mmsegmentation", index=index)
    assert len(set(index.reads)) <= 2 * 2           # 3.3.0 and 1.2.2 decide: older ones cap lower still
    assert SCAN_DEPTH >= 4


def test_the_users_mmcv_requirement_is_honoured():
    assert _resolve("mmpretrain", "mmcv<2.2").mmcv == "mmcv==2.1.0"


def test_others_beside_a_mmcv_user_pass_through():
    index = StandInIndex({("requests", "2.32.3"): DownstreamBounds("requests", "2.32.3", "", "", "", [], [])})
    resolution = _resolve("mmdet==3.3.0", "requests", index=index)
    assert resolution.others == ["requests"]
    assert resolution.install_requirements() == ["mmdet==3.3.0", "mmengine==0.10.7", "requests"]


@pytest.mark.parametrize(("requests", "says"), [
    (["mmdet==9.9"], "mmdet==9.9: no such version of mmdet"),
    (["mmdetz"], "mmdetz is not on the package index"),
    (["requests"], "requests: nothing here uses mmcv"),
    (["mmengine"], "mmengine: nothing here uses mmcv"),
])
def test_bad_input_is_a_usage_error(requests, says):
    index = StandInIndex({("requests", "2.32.3"): DownstreamBounds("requests", "2.32.3", "", "", "", [], [])})
    with pytest.raises(UsageError) as caught:
        _resolve(*requests, index=index)
    assert caught.value.exit_code == 2
    assert says in caught.value.one_line() and "\n" not in caught.value.one_line()


def test_captured_texts_give_both_styles_of_the_import_check():
    seg = captured_bounds("mmsegmentation", "1.2.2")       # MMCV_MIN / MMCV_MAX / MMENGINE_MIN
    assert (seg.mmcv, seg.mmengine) == ("<2.2.0,>=2.0.0rc4", "<1.0.0,>=0.5.0")
    old = captured_bounds("mmdet", "2.28.2")                # mmcv_minimum_version, Requires-Dist mmcv-full
    assert dataclasses.astuple(old)[2:5] == ("<1.8.0,>=1.3.17", "mmcv-full", "")


def test_an_unlisted_openmmlab_package_is_judged_by_what_its_release_declares():
    mmfoo = DownstreamBounds("mmfoo", "0.2.0", ">=2.0.0,<2.2.0", "mmcv", "", [], ["__init__.py"])
    resolution = _resolve("mmfoo", index=StandInIndex({("mmfoo", "0.2.0"): mmfoo}))
    assert [p.requirement for p in resolution.downstream] == ["mmfoo==0.2.0"]
    assert resolution.mmcv == "mmcv==2.1.0" and resolution.mmengine == "mmengine==0.10.7"


def test_an_other_requirement_must_exist_too():
    with pytest.raises(UsageError, match="requestz is not on the package index"):
        _resolve("mmdet==3.3.0", "requestz")
