"""Which wheelhouse wheel an install takes (mmbuild/wheels/choose.py), on real-format wheelhouses.

Each wheel is a real wheel file (a .dist-info and RECORD) with the build metadata mmbuild embeds
(``build_metadata`` of a real plan for a captured machine), placed with ``Wheelhouse.add`` as
``mmbuild build --out`` does.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from mmbuild.model.environment import load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.plan.fingerprint import with_source
from mmbuild.wheels.choose import (
    Wanted,
    choose_wheel,
    missing_wants,
    plan_capabilities,
    wheel_from_wheelhouse,
    wheelhouse_candidates,
)
from mmbuild.wheels.metadata import METADATA_MEMBER, build_metadata, embed_in_wheel
from mmbuild.wheels.store import CacheEntry, Wheelhouse

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"
SDIST_SHA = "5d" * 32
BUILD_NODE = "build-node-no-gpu-cuda-13.0"       # CUDA torch 2.13, nvcc 13.0, no GPU
CPU_MACHINE = "this-machine-cpu-torch-2.13"
PYTHON_CFLAGS = "-Wsign-compare -DNDEBUG -g -fwrapv -O3 -Wall"    # this machine's Python 3.11.7


def _plan(fixture: str, **options):
    env = load_environment(ENVS / f"{fixture}.json")
    env = dataclasses.replace(env, python=dataclasses.replace(env.python, cflags=PYTHON_CFLAGS))
    plan = with_source(make_plan(env, BuildOptions(**options)), SDIST_SHA)
    assert plan.ok, [f.message for f in plan.findings if f.severity == "error"]
    return env, plan


def _add_wheel(house: Path, fixture: str, built_at: str = "2026-12-05T10:00:00+00:00", **options) -> Path:
    """Build-metadata of a real plan embedded in a wheel, added to the wheelhouse as ``build --out`` does."""
    env, plan = _plan(fixture, **options)
    work = house.parent / f"work-{plan.fingerprint[:12]}"
    work.mkdir(parents=True, exist_ok=True)
    name = f"{plan.mmcv.package.replace('-', '_')}-{plan.mmcv.version}-cp311-cp311-linux_x86_64.whl"
    wheel = work / name
    dist_info = f"{plan.mmcv.package.replace('-', '_')}-{plan.mmcv.version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mmcv/__init__.py", "")
        archive.writestr(f"{dist_info}/METADATA",
                         f"Name: {plan.mmcv.package}\nVersion: {plan.mmcv.version}\n")
        archive.writestr(f"{dist_info}/RECORD", "")
    document = dict(build_metadata(plan, env, source_sha256=SDIST_SHA), built_at=built_at)
    embed_in_wheel(wheel, METADATA_MEMBER, json.dumps(document).encode())
    entry = CacheEntry(fingerprint=plan.fingerprint, wheel="", sha256="", package=plan.mmcv.package,
                       version=plan.mmcv.version, target=plan.target, arch_list=list(plan.arch_list),
                       plan=plan.to_dict())
    return Wheelhouse(house).add(wheel, entry)


def _install(house: Path, fixture: str, **options):
    env, plan = _plan(fixture, **options)
    return wheel_from_wheelhouse(house, plan, env, arch_given=bool(options.get("arch")))


def test_a_wheel_for_older_arches_of_the_same_major_serves_a_node_planned_for_8_6(tmp_path):
    house = tmp_path / "house"
    built = _add_wheel(house, BUILD_NODE, arch="7.5,8.0,9.0", ops=["nms", "roi_align"])
    found = _install(house, BUILD_NODE, arch="8.6", ops=["nms", "roi_align"])
    assert found is not None
    assert found[0] == built
    assert "arches 7.5, 8.0, 9.0 run on compute capability 8.6" in found[1]


def test_no_wheel_serves_an_arch_it_has_no_kernel_for(tmp_path, capsys):
    house = tmp_path / "house"
    _add_wheel(house, BUILD_NODE, arch="8.0,9.0", ops=["nms", "roi_align"])
    assert _install(house, BUILD_NODE, arch="7.5", ops=["nms", "roi_align"]) is None
    said = capsys.readouterr().err + capsys.readouterr().out
    assert "do not run on compute capability 7.5" in said
    assert "building one" in said


def test_a_wheel_with_more_ops_serves_a_node_asking_for_fewer(tmp_path):
    house = tmp_path / "house"
    built = _add_wheel(house, CPU_MACHINE, ops=["nms", "roi_align"])
    assert _install(house, CPU_MACHINE, ops=["nms"])[0] == built
    assert _install(house, CPU_MACHINE, ops=["nms", "deform_conv"]) is None
    assert _install(house, CPU_MACHINE) is None            # all ops asked for


@pytest.mark.parametrize(("wanted", "reason"), [
    (Wanted(ops=("nms", "deform_conv")), "lacks the ops deform_conv"),
    (Wanted(), "holds only the ops nms, roi_align, node asks for all"),
    (Wanted(package="mmcv", version="2.1.0"), "node asks for 2.1.0"),
    (Wanted(package="mmcv-full", version="1.7.2"), "node asks for mmcv-full 1.7.2"),
    (Wanted(target="cuda"), "cpu ops, node asks for cuda ops"),
    (Wanted(debug_symbols=True), "built without debug info"),
    (Wanted(source_sha256="00" * 32), "built from another source"),
])
def test_what_a_wheel_lacks_is_said(tmp_path, wanted, reason):
    wheel = _add_wheel(tmp_path / "house", CPU_MACHINE, ops=["nms", "roi_align"])
    (_, meta), = wheelhouse_candidates(wheel.parent)
    assert any(reason in text for text in missing_wants(meta, wanted)), missing_wants(meta, wanted)


def test_a_wheel_of_exactly_this_plan_comes_before_a_newer_fit(tmp_path):
    house = tmp_path / "house"
    exact = _add_wheel(house, CPU_MACHINE, built_at="2026-01-01T00:00:00+00:00", ops=["nms"])
    newer = _add_wheel(house, CPU_MACHINE, built_at="2026-12-01T00:00:00+00:00", ops=["nms", "roi_align"])
    found = _install(house, CPU_MACHINE, ops=["nms"])
    assert found == (exact, "built from this node's plan (same fingerprint)")
    env, plan = _plan(CPU_MACHINE, ops=["nms"])
    from mmbuild.wheels.choose import node_for_plan, wanted_by_plan

    other = replace(wanted_by_plan(plan), fingerprint=None)
    assert choose_wheel(wheelhouse_candidates(house), node_for_plan(env, plan, False), other).wheel == newer


def test_a_wheel_without_build_metadata_serves_no_one(tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    with zipfile.ZipFile(house / "mmcv-2.2.0-cp311-cp311-linux_x86_64.whl", "w") as archive:
        archive.writestr("mmcv/__init__.py", "")
    env, plan = _plan(CPU_MACHINE, ops=["nms"])
    assert wheel_from_wheelhouse(house, plan, env, arch_given=False) is None


def test_the_capabilities_a_plan_builds_for():
    assert plan_capabilities(["7.5", "8.6+PTX", "9.0a", "9.0"]) == ["7.5", "8.6", "9.0"]
