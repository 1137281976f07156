"""onedl-mmcv, the maintained fork of mmcv 2.x: request, source tree, plan, downstream forks, conflicts.

The fake trees and downstream files below copy the text of the real sdists: onedl-mmcv 2.3.6
(PKG-INFO, mmcv/version.py, the [project] table of pyproject.toml) and onedl-mmpretrain 1.3.6
(the mmcv bounds of mmpretrain/__init__.py), as published on the package index.
"""

from __future__ import annotations

import dataclasses
import tarfile
from pathlib import Path

import pytest

from mmbuild.commands.env import plan_findings
from mmbuild.errors import UsageError
from mmbuild.knowledge import mmcv_versions
from mmbuild.model.environment import MMCV_DISTRIBUTIONS, DownstreamConstraint, load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.plan.mmcv_version import parse_mmcv_request
from mmbuild.probe import packages
from mmbuild.source import sdist as source

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"
CPU = "this-machine-cpu-torch-2.13"
CUDA = "h100-cuda-13.0-torch-2.13"
ONEDL_PATCHES = ["onedl-mmcv-setup-cxx-std", "onedl-mmcv-setup-cuda-args", "onedl-mmcv-threads-per-block",
                 "onedl-mmcv-thc-atomics"]
PKG_INFO = "Metadata-Version: 2.4\nName: onedl-mmcv\nVersion: 2.3.6\nRequires-Python: >=3.10\n"
VERSION_PY = ("# Copyright (c) OpenMMLab. All rights reserved.\nfrom importlib.metadata import version\n\n"
              "__version__ = version('onedl-mmcv')\n")
PYPROJECT = '[project]\nname = "onedl-mmcv"\nversion = "2.3.6"\nrequires-python = ">=3.10"\n'
MMPRETRAIN_INIT = ("mmcv_minimum_version = '2.0.0'\nmmcv_maximum_version = '2.4.0'\n"
                   "mmcv_version = digit_version(mmcv.__version__)\n")


def _env(name: str = CPU, python: str | None = None, **packages: str | None):
    env = load_environment(ENVS / f"{name}.json")
    if python:
        env.python = dataclasses.replace(env.python, version=python)
    env.packages = {**env.packages, **{k.replace("_", "-"): v for k, v in packages.items()}}
    return env


def _ids(plan) -> dict[str, str]:
    return {f.id: f.severity for f in plan.findings}


# -- request and source tree ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("onedl-mmcv==2.3.6", ("onedl-mmcv", "2.3.6")),
    ("onedl_mmcv==2.3.6", ("onedl-mmcv", "2.3.6")),
    ("ONEDL-MMCV 2.3.6", ("onedl-mmcv", "2.3.6")),
    ("onedl-mmcv", ("onedl-mmcv", None)),
])
def test_parse_onedl_request(text, expected):
    package, version = parse_mmcv_request(text)
    assert (package, str(version) if version else None) == expected


def test_onedl_below_2_is_a_usage_error():
    with pytest.raises(UsageError, match="fork of mmcv 2.x"):
        parse_mmcv_request("onedl-mmcv==1.7.2")


def test_identify_tree_of_the_sdist(tmp_path):
    (tmp_path / "mmcv").mkdir()
    (tmp_path / "mmcv" / "version.py").write_text(VERSION_PY)
    (tmp_path / "PKG-INFO").write_text(PKG_INFO)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    assert source.identify_tree(tmp_path) == ("onedl-mmcv", "2.3.6")


def test_identify_tree_of_a_checkout_without_pkg_info(tmp_path):
    (tmp_path / "mmcv").mkdir()
    (tmp_path / "mmcv" / "version.py").write_text(VERSION_PY)
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    assert source.identify_tree(tmp_path) == ("onedl-mmcv", "2.3.6")
    (tmp_path / "pyproject.toml").unlink()
    with pytest.raises(UsageError, match="no version"):
        source.identify_tree(tmp_path)


def test_a_cached_sdist_with_the_pep_625_name_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(tmp_path))
    (tmp_path / "sdists").mkdir()
    (tmp_path / "sdists" / "onedl_mmcv-2.3.6.tar.gz").write_bytes(b"sdist")
    archive = source.cached_sdist("onedl-mmcv", "2.3.6")
    assert archive is not None and archive.path.name == "onedl_mmcv-2.3.6.tar.gz"


def test_prepare_tree_of_an_onedl_sdist(tmp_path):
    top = tmp_path / "onedl_mmcv-2.3.6"
    (top / "mmcv").mkdir(parents=True)
    (top / "mmcv" / "version.py").write_text(VERSION_PY)
    (top / "PKG-INFO").write_text(PKG_INFO)
    (top / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    sdist = tmp_path / "onedl_mmcv-2.3.6.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        archive.add(top, arcname=top.name)
    tree = source.prepare_tree(source.SourceArchive(sdist, "0" * 64, "sdist", "user"), tmp_path / "work")
    assert (tree.package, tree.version) == ("onedl-mmcv", "2.3.6")


# -- the plan -------------------------------------------------------------------------------

def test_explicit_plan_on_this_machine():
    plan = make_plan(_env(), BuildOptions(mmcv="onedl-mmcv==2.3.6"))
    assert (plan.mmcv.package, plan.mmcv.version) == ("onedl-mmcv", "2.3.6")
    assert plan.patches == ["onedl-mmcv-setup-cxx-std"]
    assert plan.ok and "untested-version" not in _ids(plan)
    assert plan.env["MMBUILD_CXX_STD"] == "c++20"


def test_explicit_plan_for_cuda_gets_every_onedl_patch():
    plan = make_plan(_env(CUDA), BuildOptions(mmcv="onedl-mmcv", arch="9.0"))
    assert (plan.mmcv.package, plan.mmcv.version) == ("onedl-mmcv", "2.3.6")
    assert plan.patches == ONEDL_PATCHES  # the fixture's torch has no THC headers
    assert plan.ok


def test_the_fork_is_a_different_package_in_the_fingerprint():
    env = _env()
    assert make_plan(env, BuildOptions(mmcv="onedl-mmcv==2.3.6")).fingerprint != make_plan(
        env, BuildOptions(mmcv="mmcv==2.2.0")).fingerprint


def test_automatic_choice_stays_mmcv_without_forks():
    assert make_plan(_env(), BuildOptions()).mmcv.requirement == "mmcv==2.2.0"


@pytest.mark.parametrize("downstream", ["onedl-mmdetection", "onedl-mmsegmentation", "onedl-mmpretrain"])
def test_an_installed_onedl_downstream_chooses_the_fork(downstream):
    versions = {"onedl-mmdetection": "3.5.1", "onedl-mmsegmentation": "1.4.2", "onedl-mmpretrain": "1.3.6"}
    plan = make_plan(_env(**{downstream: versions[downstream]}), BuildOptions())
    assert plan.mmcv.requirement == "onedl-mmcv==2.3.6" and plan.ok
    assert f"{downstream} {versions[downstream]} requires onedl-mmcv" in plan.mmcv.reason


def test_a_fork_downstream_outside_its_rows_still_requires_the_fork():
    requirement = mmcv_versions.downstream_requirement("onedl-mmdetection", "3.1.0")
    assert requirement.package == "onedl-mmcv" and str(requirement.spec) == ""


def test_probed_onedl_bounds_are_read_like_mmdets():
    env = _env(onedl_mmpretrain="1.3.6")
    env.downstream_constraints = [DownstreamConstraint("onedl-mmpretrain", "1.3.6", "2.0.0", "2.4.0")]
    plan = make_plan(env, BuildOptions())
    assert plan.mmcv.requirement == "onedl-mmcv==2.3.6"
    assert "onedl-mmpretrain 1.3.6 requires onedl-mmcv<2.4.0,>=2.0.0" in plan.mmcv.reason


def test_an_installed_fork_is_kept():
    plan = make_plan(_env(onedl_mmcv="2.3.5"), BuildOptions())
    assert plan.mmcv.requirement == "onedl-mmcv==2.3.6"
    assert "onedl-mmcv 2.3.5 is installed" in plan.mmcv.reason


def test_mmcv_and_onedl_downstreams_together_conflict():
    plan = make_plan(_env(mmdet="3.3.0", onedl_mmpretrain="1.3.6"), BuildOptions())
    error = next(f for f in plan.findings if f.id == "mmcv-version-incompatible")
    assert error.severity == "error" and not plan.ok
    assert "mmdet 3.3.0 requires mmcv" in error.message and "requires onedl-mmcv" in error.message


def test_plain_mmcv_requested_beside_an_onedl_downstream_warns_that_it_replaces_the_fork():
    plan = make_plan(_env(onedl_mmdetection="3.5.1"), BuildOptions(mmcv="2.2.0"))
    warning = next(f for f in plan.findings if f.id == "mmcv-version-incompatible")
    assert warning.severity == "warning" and "mmcv replaces onedl-mmcv" in warning.message


def test_python_3_9_blocks_the_fork():
    plan = make_plan(_env(python="3.9.18"), BuildOptions(mmcv="onedl-mmcv==2.3.6"))
    assert _ids(plan).get("python-unsupported") == "error" and not plan.ok
    finding = next(f for f in plan.findings if f.id == "python-unsupported")
    assert "Python >= 3.10" in finding.message and "3.9.18" in finding.message
    # A version missing from the table needs what the newest known onedl-mmcv needs.
    newer = make_plan(_env(python="3.9.18"), BuildOptions(mmcv="onedl-mmcv==2.3.7"))
    assert "onedl-mmcv 2.3.7 requires Python >= 3.10" in next(
        f.message for f in newer.findings if f.id == "python-unsupported")


def test_python_3_9_with_an_onedl_downstream_blocks_and_without_one_falls_back():
    blocked = make_plan(_env(python="3.9.18", onedl_mmdetection="3.5.1"), BuildOptions())
    assert _ids(blocked).get("python-unsupported") == "error" and not blocked.ok
    fallback = make_plan(_env(python="3.9.18", onedl_mmcv="2.3.6"), BuildOptions())
    assert fallback.mmcv.requirement == "mmcv==2.2.0" and fallback.ok


@pytest.mark.parametrize(("installed", "wanted"), [
    ({"setuptools": "76.1.0"}, "setuptools>=77"),
    ({"setuptools": None}, "setuptools>=77"),
    ({"packaging": "24.1"}, "packaging>=24.2"),
])
def test_old_build_requirements_block_with_the_pip_command(installed, wanted):
    plan = make_plan(_env(**installed), BuildOptions(mmcv="onedl-mmcv==2.3.6"))
    finding = next(f for f in plan.findings if f.id == "build-requirement-missing")
    assert finding.severity == "error" and not plan.ok
    assert finding.fix == f'pip install "{wanted}"'


def test_build_requirements_met_or_unknown_pass():
    assert "packaging" not in _env().packages  # a report saved before mmbuild tracked it
    ok = make_plan(_env(setuptools="77.0.3", packaging="26.0"), BuildOptions(mmcv="onedl-mmcv==2.3.6"))
    assert "build-requirement-missing" not in _ids(ok)
    plain = make_plan(_env(setuptools="60.0.0"), BuildOptions(mmcv="2.2.0"))
    assert "build-requirement-missing" not in _ids(plain)


def test_the_other_mmengine_is_warned_about():
    plan = make_plan(_env(mmengine="0.10.7"), BuildOptions(mmcv="onedl-mmcv==2.3.6"))
    finding = next(f for f in plan.findings if f.id == "mmengine-dual-install")
    assert finding.severity == "warning" and "onedl-mmengine" in finding.message
    same = make_plan(_env(onedl_mmengine="0.10.8"), BuildOptions(mmcv="onedl-mmcv==2.3.6"))
    assert "mmengine-dual-install" not in _ids(same)
    back = make_plan(_env(onedl_mmengine="0.10.8"), BuildOptions(mmcv="2.2.0"))
    assert "mmengine-dual-install" in _ids(back)


# -- installed distributions ----------------------------------------------------------------

def test_onedl_mmcv_is_one_of_the_distributions_an_install_replaces():
    assert "onedl-mmcv" in MMCV_DISTRIBUTIONS


def test_mmcv_and_onedl_mmcv_installed_together_is_a_dual_install():
    env = _env(mmcv="2.2.0", onedl_mmcv="2.3.6")
    [finding] = [f for f in plan_findings(env) if f.id == "mmcv-dual-install"]
    assert "both mmcv 2.2.0 and onedl-mmcv 2.3.6" in finding.message
    assert finding.fix.startswith("pip uninstall -y mmcv onedl-mmcv")


def test_onedl_mmcv_without_ext_and_lite_beside_it():
    files = {"onedl-mmcv": ["mmcv/__init__.py", "mmcv/ops/nms.py"]}
    findings = packages.mmcv_findings({"onedl-mmcv": "2.3.6", "mmcv-lite": "2.2.0"},
                                      files_of=lambda n: files.get(n, []))
    assert [f.id for f in findings] == ["mmcv-ops-missing", "mmcv-dual-install"]
    assert "onedl-mmcv" in findings[1].message


def test_probe_reads_onedl_mmpretrain_bounds(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "mmpretrain").mkdir(parents=True)
    (site / "mmpretrain" / "__init__.py").write_text(MMPRETRAIN_INIT)
    info = site / "onedl_mmpretrain-1.3.6.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.4\nName: onedl-mmpretrain\nVersion: 1.3.6\n")
    (info / "RECORD").write_text("mmpretrain/__init__.py,,\nonedl_mmpretrain-1.3.6.dist-info/METADATA,,\n")
    monkeypatch.syspath_prepend(str(site))
    versions = packages.installed_versions(("onedl-mmpretrain",))
    assert versions == {"onedl-mmpretrain": "1.3.6"}
    [constraint] = packages.downstream_constraints(versions)
    bounds = (constraint.package, constraint.mmcv_min, constraint.mmcv_max)
    assert bounds == ("onedl-mmpretrain", "2.0.0", "2.4.0")
