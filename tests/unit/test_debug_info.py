"""Debug info in the C++ units: -g0 by default, --debug-symbols keeps -g (mmbuild/plan/debug_info.py).

PYTHON_CFLAGS is ``sysconfig.get_config_var("CFLAGS")`` of this machine's Python 3.11.7 (pyenv build).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mmbuild.model.environment import load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.plan.debug_info import choose_debug_info
from mmbuild.wheels.metadata import build_metadata

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"
PYTHON_CFLAGS = "-Wsign-compare -DNDEBUG -g -fwrapv -O3 -Wall"


def _env(fixture: str = "this-machine-cpu-torch-2.13", cflags: str | None = PYTHON_CFLAGS, **env_vars):
    env = load_environment(ENVS / f"{fixture}.json")
    python = dataclasses.replace(env.python, cflags=cflags)
    return dataclasses.replace(env, python=python, env_vars={**env.env_vars, **env_vars})


def _decision(plan, name: str) -> str:
    return next(d.value for d in plan.decisions if d.name == name)


def test_units_drop_debug_info_by_default():
    plan = make_plan(_env(), BuildOptions())
    # Python's flags less -g (setuptools 84 puts $CFLAGS in their place), -g0 last.
    assert plan.env["CFLAGS"] == "-Wsign-compare -DNDEBUG -fwrapv -O3 -Wall -g0"
    assert plan.env["CXXFLAGS"] == plan.env["CFLAGS"]        # setuptools >= 75.7 links C++ with these
    assert plan.debug_symbols is False
    assert _decision(plan, "debug info") == "none (-g0)"
    assert build_metadata(plan, _env())["debug_symbols"] is False


def test_debug_symbols_keep_the_inherited_flags():
    plan = make_plan(_env(CFLAGS="-march=native"), BuildOptions(debug_symbols=True))
    assert "CFLAGS" not in plan.env and "CXXFLAGS" not in plan.env   # the user's reach the build as they are
    assert plan.debug_symbols is True
    assert _decision(plan, "debug info") == "kept (-g)"
    assert build_metadata(plan, _env())["debug_symbols"] is True


def test_the_users_cflags_are_kept_without_their_debug_options():
    plan = make_plan(_env(CFLAGS="-march=native -ggdb -O2 -gdwarf-4"), BuildOptions())
    assert plan.env["CFLAGS"] == "-march=native -O2 -g0"
    assert plan.env["CXXFLAGS"] == "-Wsign-compare -DNDEBUG -fwrapv -O3 -Wall -g0"   # no CXXFLAGS of yours


def test_g0_goes_after_the_flags_the_python_flags_step_stripped():
    # A clang-built Python's flag GCC rejects (python_flags.py), as in uv's managed CPython 3.11.6.
    plan = make_plan(_env(cflags=f"{PYTHON_CFLAGS} -fdebug-default-version=4"), BuildOptions())
    assert plan.env["CFLAGS"] == "-Wsign-compare -DNDEBUG -fwrapv -O3 -Wall -g0"


def test_unknown_python_flags_are_left_alone():
    plan = make_plan(_env(cflags=None), BuildOptions())
    assert "CFLAGS" not in plan.env and "CXXFLAGS" not in plan.env
    assert plan.debug_symbols is True
    assert "older mmbuild" in next(d.reason for d in plan.decisions if d.name == "debug info")


def test_the_fingerprint_tells_the_two_apart():
    without = make_plan(_env(), BuildOptions())
    kept = make_plan(_env(), BuildOptions(debug_symbols=True))
    assert without.fingerprint_inputs["debug_symbols"] is False
    assert kept.fingerprint_inputs["debug_symbols"] is True
    assert without.fingerprint != kept.fingerprint


def test_cuda_plans_drop_debug_info_too():
    env = _env("build-node-no-gpu-cuda-13.0")
    plan = make_plan(env, BuildOptions(arch="9.0"))
    assert plan.target == "cuda" and plan.env["CFLAGS"].endswith("-O3 -Wall -g0")


def test_msvc_builds_are_left_alone():
    choice = choose_debug_info("Windows", PYTHON_CFLAGS, {}, {}, keep=False)
    assert choice.env == {} and not choice.keep
    assert "/Zi" in choice.reason
