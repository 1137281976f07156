"""Provisioning scripts: which wheelhouse wheel fits a node, bad input, shellcheck."""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmbuild.model.environment import load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.wheels.choose import choose_wheel
from mmbuild.wheels.fit import NodeFacts, arch_runs_on, rejection_reasons
from mmbuild.wheels.metadata import build_metadata

ROOT = Path(__file__).resolve().parents[2]
PROVISION = ROOT / "scripts" / "provision"
ENVS = ROOT / "tests" / "fixtures" / "envs"


def _load_node_install():
    spec = importlib.util.spec_from_file_location("node_install", PROVISION / "node_install.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["node_install"] = module
    spec.loader.exec_module(module)
    return module


node_install = _load_node_install()


@pytest.fixture(scope="module")
def fleet_wheel_meta():
    """Metadata of a wheel built on a GPU-less build node for the fleet's arches 8.9 and 9.0."""
    env = load_environment(ENVS / "build-node-no-gpu-cuda-13.0.json")
    plan = make_plan(env, BuildOptions(arch="8.9,9.0"))
    assert plan.ok and plan.target == "cuda"
    return build_metadata(plan, env)


def node(fixture: str, **changes) -> object:
    facts = NodeFacts.from_environment(load_environment(ENVS / f"{fixture}.json"))
    return dataclasses.replace(facts, **changes)


@pytest.mark.parametrize(("arch", "capability", "runs"), [
    ("8.0", "8.6", True),        # SASS runs on later minors of its major
    ("8.6", "8.0", False),
    ("8.0", "9.0", False),       # ... not on another major
    ("8.0+PTX", "9.0", True),    # PTX is JIT-compiled for later arches
    ("9.0+PTX", "8.9", False),
    ("9.0a", "9.0", True),       # arch-specific features run only on that arch
    ("9.0a", "10.0", False),
])
def test_arch_runs_on(arch, capability, runs):
    assert arch_runs_on(arch, capability) is runs


def test_fleet_wheel_fits_h100_and_l4_nodes(fleet_wheel_meta):
    for fixture in ("h100-cuda-13.0-torch-2.13", "fleet-node-l4"):
        assert rejection_reasons(fleet_wheel_meta, node(fixture, python="3.11")) == []


@pytest.mark.parametrize(("changes", "reason"), [
    ({"capabilities": ["8.6"]}, "do not run on compute capability 8.6"),
    ({"python": "3.10"}, "built for Python 3.11, node runs 3.10"),
    ({"torch": "2.12.0+cu130"}, "built for torch 2.13.0+cu130, node has 2.12.0+cu130"),
    ({"machine": "aarch64"}, "node is Linux/aarch64"),
])
def test_mismatches_are_explained(fleet_wheel_meta, changes, reason):
    h100 = node("h100-cuda-13.0-torch-2.13", **{"python": "3.11", **changes})
    reasons = rejection_reasons(fleet_wheel_meta, h100)
    assert any(reason in r for r in reasons), reasons


def test_cpu_wheel_is_not_used_on_a_gpu_node():
    env = load_environment(ENVS / "this-machine-cpu-torch-2.13.json")
    meta = build_metadata(make_plan(env, BuildOptions()), env)
    assert rejection_reasons(meta, node("this-machine-cpu-torch-2.13")) == []
    gpu_node = node("this-machine-cpu-torch-2.13", torch_cuda="13.0", capabilities=["9.0"])
    assert "CPU-only build, node has GPUs" in rejection_reasons(meta, gpu_node)


def test_choose_wheel_prefers_the_newest_fit(fleet_wheel_meta):
    older = dict(fleet_wheel_meta, built_at="2026-01-01T00:00:00+00:00")
    newer = dict(fleet_wheel_meta, built_at="2026-02-01T00:00:00+00:00")
    wrong = dict(fleet_wheel_meta, arch_list=["8.0"])
    choice = choose_wheel(
        [(Path("a.whl"), older), (Path("b.whl"), newer), (Path("c.whl"), wrong), (Path("d.whl"), None)],
        node("h100-cuda-13.0-torch-2.13", python="3.11"))
    assert choice.wheel == Path("b.whl")
    assert [r["wheel"] for r in choice.rejected] == ["c.whl", "d.whl"]


def test_node_installer_uses_the_shared_rule():
    assert node_install.choose_wheel is choose_wheel


def test_node_install_without_wheelhouse_is_bad_input(tmp_path):
    report = tmp_path / "r.json"
    code = node_install.main(["--wheelhouse", str(tmp_path / "missing"), "--report", str(report)])
    assert code == 2
    assert '"exit_code": 2' in report.read_text()


def test_build_node_requires_a_wheelhouse():
    result = subprocess.run(["bash", str(PROVISION / "build-node.sh")], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "--wheelhouse DIR is required" in result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_are_shellcheck_clean():
    scripts = [PROVISION / "build-node.sh", PROVISION / "node-install.sh", PROVISION / "slurm-array.sbatch"]
    result = subprocess.run(["shellcheck", "--shell=bash", *map(str, scripts)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
