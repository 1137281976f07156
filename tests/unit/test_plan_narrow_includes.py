"""When the plan gives the .cu units narrow torch includes (plan/narrow_includes.py), on saved env reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbuild.model.environment import load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.plan.narrow_includes import choose_narrow_includes

ENVS = Path(__file__).parent.parent / "fixtures" / "envs"


def _env(name: str):
    return load_environment(ENVS / f"{name}.json")


def test_on_for_a_linux_cuda_build_with_a_torch_that_reads_pytorch_nvcc() -> None:
    choice = choose_narrow_includes(_env("h100-cuda-13.0-torch-2.13"), "cuda", True)
    assert choice.enabled and "<ATen/core/Tensor.h>" in choice.reason


@pytest.mark.parametrize(("name", "target", "wanted", "why"), [
    ("h100-cuda-13.0-torch-2.13", "cuda", False, "--no-narrow-includes"),
    ("this-machine-cpu-torch-2.13", "cpu", True, "a CPU build has no .cu units"),
    ("win-torch-2.13-cuda-13.2-vs2022", "cuda", True, "not wired on Windows"),
    ("this-machine-debian-cuda-11.8-and-13.0-torch-2.0.1-cu117", "cuda", True, "PYTORCH_NVCC from torch 2.1"),
])
def test_off_and_why(name: str, target: str, wanted: bool, why: str) -> None:
    choice = choose_narrow_includes(_env(name), target, wanted)
    assert not choice.enabled and why in choice.reason


def test_the_plan_and_its_fingerprint_say_which() -> None:
    env = _env("h100-cuda-13.0-torch-2.13")
    narrow = make_plan(env, BuildOptions())
    full = make_plan(env, BuildOptions(narrow_includes=False))
    assert narrow.narrow_includes and not full.narrow_includes
    assert narrow.fingerprint_inputs["narrow_includes"] is True
    assert "narrow_includes" not in full.fingerprint_inputs       # fingerprints from before hold
    assert narrow.fingerprint != full.fingerprint
    decisions = {d.name: d.value for d in narrow.decisions}
    assert decisions["narrow includes"] == "yes"
