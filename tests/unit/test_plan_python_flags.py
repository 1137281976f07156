"""The plan strips the flags GCC rejects from a Python's own compiler flags (sysconfig CFLAGS)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mmbuild.model.environment import Compiler, OSInfo, load_environment
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.plan.python_flags import choose_python_flags, clang_only_flags, without_clang_only_flags

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"
# The sysconfig CFLAGS of python-build-standalone's CPython 3.12.0 (release 20231002, uv's managed
# Python), as its compile line in astral-sh/uv#12613 shows them.
PBS_CFLAGS = ("-fno-strict-overflow -Wsign-compare -Wunreachable-code -DNDEBUG -g -O3 -Wall "
              "-fdebug-default-version=4 -fPIC -I/tools/deps/include -I/tools/deps/include/ncursesw "
              "-I/tools/deps/libedit/include")
GCC = Compiler("gcc", "12.2.0", "/usr/bin/g++-12")


def _env(cflags: str | None = PBS_CFLAGS, setuptools: str = "84.2.1", user_cflags: str | None = None,
         user_cxxflags: str | None = None):
    env = load_environment(ENVS / "this-machine-cpu-torch-2.13.json")
    env.python = dataclasses.replace(env.python, cflags=cflags)
    env.packages = {**env.packages, "setuptools": setuptools}
    env.env_vars = {**env.env_vars, "CFLAGS": user_cflags, "CXXFLAGS": user_cxxflags}
    return env


def test_clang_only_flags_are_found_and_stripped_keeping_the_rest_in_order():
    assert clang_only_flags(PBS_CFLAGS) == ["-fdebug-default-version=4"]
    assert clang_only_flags("-Wsign-compare -DNDEBUG -g -fwrapv -O3 -Wall") == []
    stripped = without_clang_only_flags(PBS_CFLAGS)
    assert "-fdebug-default-version" not in stripped
    assert stripped.startswith("-fno-strict-overflow -Wsign-compare") and stripped.endswith("libedit/include")


def test_gcc_build_gets_cflags_and_cxxflags_without_them_and_an_info_finding():
    # $CFLAGS replaces sysconfig's CFLAGS when compiling, $CXXFLAGS when linking C++ (setuptools >= 75.7)
    choice = choose_python_flags(_env(), GCC)
    stripped = without_clang_only_flags(PBS_CFLAGS)
    assert choice.env == {"CFLAGS": stripped, "CXXFLAGS": stripped}
    assert [(f.id, f.severity) for f in choice.findings] == [("python-flags-gcc-rejects", "info")]
    assert "-fdebug-default-version=4" in choice.findings[0].message


def test_setuptools_that_appends_cflags_is_an_error():
    choice = choose_python_flags(_env(setuptools="75.6.0"), GCC)
    assert choice.env == {}
    assert [(f.id, f.severity) for f in choice.findings] == [("python-flags-gcc-rejects", "error")]
    assert "setuptools>=75.7" in choice.findings[0].fix


def test_nothing_to_do_for_clang_windows_clean_flags_or_the_users_own_cflags():
    assert choose_python_flags(_env(), Compiler("clang", "17.0", "/usr/bin/clang++")) == choose_python_flags(
        _env(cflags="-O2"), GCC)
    assert choose_python_flags(_env(cflags="-O2"), GCC).env == {}
    windows = _env()
    windows.os = OSInfo("Windows", "10", "AMD64")
    assert choose_python_flags(windows, GCC).env == {}
    assert choose_python_flags(_env(user_cflags="-O2 -g", user_cxxflags="-O2"), GCC).env == {}
    users = _env(user_cflags="-O2 -fdebug-default-version=4", user_cxxflags="-O2")
    assert choose_python_flags(users, GCC).env == {"CFLAGS": "-O2"}
    linking = choose_python_flags(_env(user_cflags="-O2"), GCC).env     # sysconfig's still links
    assert linking == {"CXXFLAGS": without_clang_only_flags(PBS_CFLAGS)}


def test_the_plan_sets_cflags_and_says_why():
    # --debug-symbols: the flags as this step leaves them (without it, -g goes and -g0 follows:
    # test_debug_info.py).
    keep_g = BuildOptions(debug_symbols=True)
    plan = make_plan(_env(), keep_g)
    assert plan.env["CFLAGS"] == plan.env["CXXFLAGS"] == without_clang_only_flags(PBS_CFLAGS)
    assert "python-flags-gcc-rejects" in {f.id for f in plan.findings}
    assert plan.ok
    clean = make_plan(_env(cflags="-Wsign-compare -DNDEBUG -g -fwrapv -O3 -Wall"), keep_g)
    assert not {"CFLAGS", "CXXFLAGS"} & set(clean.env)
    stripped = make_plan(_env(), BuildOptions()).env["CFLAGS"]
    assert "-fdebug-default-version=4" not in stripped and stripped.endswith(" -g0")
    assert not make_plan(_env(setuptools="70.0.0"), BuildOptions()).ok
