"""The host toolchain interface (plan/toolchain/): each method on a Linux and a Windows environment report."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from mmbuild.model.environment import Compiler, Environment, load_environment
from mmbuild.plan.toolchain import HostToolchain, PlatformSettings, host_toolchain, toolchain_for
from mmbuild.plan.toolchain.msvc import MsvcToolchain
from mmbuild.plan.toolchain.unix import UnixToolchain

ENVS = Path(__file__).parent.parent / "fixtures" / "envs"
GCC = Compiler("gcc", "11.4.0", "/usr/bin/g++-11")
CLANG = Compiler("clang", "17.0.6", "/usr/bin/clang++")


def _env(name: str) -> Environment:
    return load_environment(ENVS / f"{name}.json")


@pytest.fixture
def linux() -> Environment:
    """GCC 13 (the default) and GCC 11, torch 2.1.2 with CUDA 12.1, whose nvcc takes GCC 12 at most."""
    return _env("gcc-13-cuda-12.1-with-gcc-11")


@pytest.fixture
def windows_old() -> Environment:
    """VS 2019 (MSVC 1926), torch 1.6 with CUDA 10.1: torch's headers need a patch for nvcc."""
    return _env("win-torch-1.6-cuda-10.1-vs2019")


@pytest.fixture
def windows_new() -> Environment:
    """VS 2022 (MSVC 1941), torch 2.13 with CUDA 13.2: C++20 and MSVC's conforming preprocessor."""
    return _env("win-torch-2.13-cuda-13.2-vs2022")


def test_the_operating_system_picks_the_toolchain(linux, windows_old) -> None:
    assert isinstance(host_toolchain(linux), UnixToolchain)
    assert isinstance(host_toolchain(windows_old), MsvcToolchain)
    assert isinstance(toolchain_for("Darwin"), UnixToolchain)


@pytest.mark.parametrize("toolchain", [UnixToolchain(), MsvcToolchain()], ids=["unix", "msvc"])
def test_each_toolchain_has_every_method_of_the_interface(toolchain) -> None:
    wanted = {name: inspect.signature(member) for name, member in vars(HostToolchain).items()
              if callable(member) and not name.startswith("_")}
    assert wanted
    for name, signature in wanted.items():
        assert inspect.signature(getattr(type(toolchain), name)) == signature, name
    assert isinstance(toolchain.name, str) and toolchain.path_separator in (":", ";")


def test_unix_chooses_a_gcc_the_toolkit_accepts(linux) -> None:
    choice = host_toolchain(linux).choose_compiler(linux, "12.1", None)
    assert (choice.cxx_std, choice.compiler.path) == ("c++17", "/usr/bin/g++-11")
    assert choice.env == {"CC": "/usr/bin/gcc-11", "CXX": "/usr/bin/g++-11"}
    assert [(f.id, f.severity) for f in choice.findings] == [("gcc-unsupported", "info")]
    assert host_toolchain(linux).choose_compiler(linux, None, None).compiler.path == "/usr/bin/g++"


def test_msvc_chooses_the_installed_msvc_and_its_standard(windows_old, windows_new) -> None:
    old = host_toolchain(windows_old).choose_compiler(windows_old, "10.1", "/usr/bin/g++")
    assert (old.cxx_std, old.compiler.kind, old.reason) == ("c++14", "msvc", "VS 2019 (MSVC 1926)")
    assert old.compiler.path.endswith("cl.exe") and old.findings == []
    outside = host_toolchain(windows_new).choose_compiler(windows_new, "12.1", None)
    assert [f.id for f in outside.findings] == ["msvc-unsupported"]
    windows_new.compilers.msvc = None
    missing = host_toolchain(windows_new).choose_compiler(windows_new, "13.2", None)
    assert missing.compiler is None and [f.id for f in missing.findings] == ["msvc-unsupported"]


def test_the_compiler_id_names_the_compiler_the_build_uses(linux, windows_old) -> None:
    unix = host_toolchain(linux)
    assert unix.compiler_id(linux, "/usr/bin/g++-11") == {"kind": "gcc", "version": "11.4.0"}
    assert unix.compiler_id(linux, "/opt/cxx") == {"path": "/opt/cxx"}
    msvc = host_toolchain(windows_old)
    assert msvc.compiler_id(windows_old, None) == {"kind": "msvc", "version": "19.26.28806"}
    windows_old.compilers.msvc = None
    assert msvc.compiler_id(windows_old, None) == {"path": None}


def test_only_gcc_on_unix_shares_a_precompiled_header(linux, windows_old) -> None:
    unix = host_toolchain(linux)
    assert unix.pch_support(GCC) is None
    assert "clang" in unix.pch_support(CLANG) and "unknown" in unix.pch_support(None)
    assert "MSVC" in host_toolchain(windows_old).pch_support(GCC)


def test_narrow_includes_are_wired_on_unix_only(linux, windows_old, windows_new) -> None:
    assert host_toolchain(linux).narrow_includes_support() is None
    for windows in (windows_old, windows_new):
        assert "Windows" in host_toolchain(windows).narrow_includes_support()


def test_only_gcc_on_unix_rejects_a_pythons_clang_only_flags(linux, windows_old) -> None:
    unix = host_toolchain(linux)
    assert unix.rejects_clang_only_flags(GCC)
    assert not unix.rejects_clang_only_flags(CLANG) and not unix.rejects_clang_only_flags(None)
    assert not host_toolchain(windows_old).rejects_clang_only_flags(GCC)


def test_a_toolkit_is_accepted_when_it_takes_a_compiler_of_the_machine(linux, windows_new) -> None:
    unix = host_toolchain(linux)
    assert unix.accepts_toolkit(linux, "12.1")          # GCC 11 fits where GCC 13 does not
    linux.compilers.candidates = [linux.compilers.cxx]
    assert not unix.accepts_toolkit(linux, "12.1")
    linux.compilers.cxx, linux.compilers.candidates = None, []
    assert unix.accepts_toolkit(linux, "12.1")          # no compiler: the compiler step says so
    msvc = host_toolchain(windows_new)
    assert msvc.accepts_toolkit(windows_new, "13.2") and not msvc.accepts_toolkit(windows_new, "12.1")


def test_msvc_adds_its_build_settings_and_torch_header_patches(linux, windows_old, windows_new) -> None:
    assert host_toolchain(linux).platform_settings(linux, "cuda", "12.1", False) == PlatformSettings()
    old = host_toolchain(windows_old).platform_settings(windows_old, "cuda", "10.1", False)
    assert old.build_env == {"DISTUTILS_USE_SDK": "1"} and old.cuda_args == [] and old.decisions == []
    assert old.patches == ["torch16-in-class-initializer"]
    assert [(f.id, f.severity) for f in old.findings] == [("torch16-in-class-initializer", "warning")]
    asked = host_toolchain(windows_old).platform_settings(windows_old, "cuda", "10.1", True)
    assert [f.severity for f in asked.findings] == ["info"]
    cpu = host_toolchain(windows_old).platform_settings(windows_old, "cpu", None, False)
    assert cpu == PlatformSettings(build_env={"DISTUTILS_USE_SDK": "1"})
    new = host_toolchain(windows_new).platform_settings(windows_new, "cuda", "13.2", False)
    assert new.cuda_args == ["-Xcompiler", "/Zc:preprocessor"] and new.patches == []
    assert [d.name for d in new.decisions] == ["MSVC preprocessor"]


def test_long_paths_are_a_windows_finding(linux, windows_old) -> None:
    windows_old.os.long_paths = False
    assert [f.id for f in host_toolchain(windows_old).host_findings(windows_old)] == ["windows-long-paths"]
    windows_old.os.long_paths = None
    assert host_toolchain(windows_old).host_findings(windows_old) == []
    linux.os.long_paths = False
    assert host_toolchain(linux).host_findings(linux) == []


def test_msvc_ignores_the_debug_flags(linux, windows_old) -> None:
    assert host_toolchain(linux).debug_flags_ignored() is None
    assert "/Zi" in host_toolchain(windows_old).debug_flags_ignored()


def test_arguments_are_quoted_as_the_hosts_setup_py_splits_them(linux, windows_old) -> None:
    tokens = ["-Xcompiler", "/Zc:preprocessor", "-DNAME=a b"]
    unix = host_toolchain(linux)
    assert unix.join_args(tokens) == "-Xcompiler /Zc:preprocessor '-DNAME=a b'"
    assert unix.split_args(unix.join_args(tokens)) == tokens and unix.split_args(None) == []
    msvc = host_toolchain(windows_old)
    assert msvc.split_args(r'-I"C:\CUDA\include" -O3') == [r'-I"C:\CUDA\include"', "-O3"]
    assert msvc.split_args(msvc.join_args(tokens[:2])) == tokens[:2]
    assert (unix.path_separator, msvc.path_separator) == (":", ";")
