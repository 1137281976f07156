"""Host compiler probe: GCC and Clang version outputs, discovery on PATH, CXX/CC."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mmbuild.probe import compilers

FIXTURES = Path(__file__).parent.parent / "fixtures" / "probe"


def test_parse_dumpversion():
    assert compilers.parse_dumpversion((FIXTURES / "gcc/dumpfullversion-12.txt").read_text()) == "12.2.0"
    assert compilers.parse_dumpversion("") is None


@pytest.mark.parametrize(("name", "expected"), [
    ("gcc/version-banner-12.txt", ("gcc", "12.2.0")),
    ("clang/version-ubuntu-10.0.1.txt", ("clang", "10.0.1")),
    ("clang/version-ubuntu-3.6.0.txt", ("clang", "3.6.0")),
])
def test_parse_version_banner(name, expected):
    assert compilers.parse_version_banner((FIXTURES / name).read_text()) == expected


def test_cl_banner_is_neither_gcc_nor_clang():
    assert compilers.parse_version_banner((FIXTURES / "msvc/cl-banner-19.33.31629.txt").read_text()) is None


@pytest.mark.parametrize(("cc", "cxx"), [
    ("gcc", "g++"), ("gcc-11", "g++-11"),
    ("/usr/bin/x86_64-linux-gnu-gcc-12", "/usr/bin/x86_64-linux-gnu-g++-12"),
    ("clang-15", "clang++-15"), ("/opt/bin/clang", "/opt/bin/clang++"), ("icx", "icx"),
])
def test_cxx_for_cc(cc, cxx):
    assert compilers.cxx_for_cc(cc) == cxx


def _fake_compiler(directory: Path, name: str, banner: Path, dump: str = "") -> Path:
    path = directory / name
    path.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then cat "{banner}"; else echo "{dump}"; fi\n')
    path.chmod(0o755)
    return path


def test_discovery_of_versioned_compilers_and_cxx_first(tmp_path):
    gcc = FIXTURES / "gcc/version-banner-12.txt"
    clang = FIXTURES / "clang/version-ubuntu-10.0.1.txt"
    _fake_compiler(tmp_path, "g++-12", gcc, "12.2.0")
    _fake_compiler(tmp_path, "g++-11", gcc, "11.4.0")
    _fake_compiler(tmp_path, "clang++-10", clang)
    found, findings = compilers.probe_compilers({"PATH": str(tmp_path), "CXX": "clang++-10"})
    assert findings == []
    assert found.cxx.path == str(tmp_path / "clang++-10") and found.cxx.kind == "clang"
    versions = {Path(c.path).name: c.version for c in found.candidates}
    assert versions == {"clang++-10": "10.0.1", "g++-11": "11.4.0", "g++-12": "12.2.0"}


def test_aliases_of_one_compiler_are_listed_once_by_their_versioned_name(tmp_path):
    banner = FIXTURES / "gcc/version-banner-12.txt"
    real = _fake_compiler(tmp_path, "x86_64-linux-gnu-g++-12", banner, "12.2.0")
    for alias in ("c++", "g++", "g++-12"):
        (tmp_path / alias).symlink_to(real)
    found, _ = compilers.probe_compilers({"PATH": str(tmp_path)})
    assert [c.path for c in found.candidates] == [str(tmp_path / "g++-12")]


def test_cxx_that_does_not_exist_is_a_finding(tmp_path):
    found, findings = compilers.probe_compilers({"PATH": str(tmp_path), "CXX": "/nowhere/g++"})
    assert found.cxx is None and found.candidates == []
    assert findings[0].id == "probe-incomplete" and "CXX" in findings[0].message


def test_hanging_compiler_is_a_finding(tmp_path):
    hang = tmp_path / "g++"
    hang.write_text("#!/bin/sh\nsleep 30\n")
    hang.chmod(0o755)
    compiler, finding = compilers.probe_compiler(str(hang), timeout=0.5)
    assert compiler is None and "timed out" in finding.message


@pytest.mark.skipif(shutil.which("g++") is None, reason="no g++ on this machine")
def test_real_gcc_of_this_machine():
    found, _ = compilers.probe_compilers()
    assert found.cxx is not None and found.cxx.kind in ("gcc", "clang") and found.cxx.version
