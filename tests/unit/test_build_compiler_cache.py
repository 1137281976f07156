"""Compiler cache choice and wiring."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmbuild.compiler_cache import choose_compiler_cache, compiler_cache_env
from mmbuild.errors import UsageError


def _which(installed):
    return lambda name: installed.get(name)


def test_default_prefers_ccache_then_sccache_then_none():
    assert choose_compiler_cache(None, _which({"ccache": "/usr/bin/ccache", "sccache": "/x"})) == "ccache"
    assert choose_compiler_cache(None, _which({"sccache": "/usr/bin/sccache"})) == "sccache"
    assert choose_compiler_cache(None, _which({})) == "none"
    assert choose_compiler_cache("none", _which({"ccache": "/usr/bin/ccache"})) == "none"


def test_requesting_a_missing_cache_is_a_usage_error():
    with pytest.raises(UsageError, match="sccache is not installed"):
        choose_compiler_cache("sccache", _which({"ccache": "/usr/bin/ccache"}))


def test_none_stops_torch_from_adding_a_wrapper(tmp_path):
    assert compiler_cache_env("none", cxx="g++", nvcc=None, wrapper_dir=tmp_path) == {
        "TORCH_NO_COMPILER_WRAPPER": "1"}


def test_sccache_wraps_compilers_and_nvcc(tmp_path):
    which = _which({"sccache": "/opt/bin/sccache", "g++-12": "/usr/bin/g++-12", "gcc-12": "/usr/bin/gcc-12"})
    env = compiler_cache_env("sccache", cxx="g++-12", nvcc="/usr/local/cuda/bin/nvcc",
                             wrapper_dir=tmp_path, which=which)
    assert env["PYTORCH_NVCC"] == "/opt/bin/sccache /usr/local/cuda/bin/nvcc"
    assert env["TORCH_EXTENSION_SKIP_NVCC_GEN_DEPENDENCIES"] == "1"
    assert env["TORCH_NO_COMPILER_WRAPPER"] == "1"
    script = Path(env["CXX"]).read_text()
    assert script == '#!/bin/sh\nexec /opt/bin/sccache /usr/bin/g++-12 "$@"\n'
    assert os.access(env["CXX"], os.X_OK)
    assert "CCACHE_BASEDIR" not in env and "CC" not in env


def test_ccache_uses_masquerade_links_only_for_the_compiler_on_path(tmp_path, monkeypatch):
    monkeypatch.setattr("mmbuild.compiler_cache._masquerade",
                        lambda path: f"/usr/lib/ccache/{os.path.basename(path)}")
    which = _which({"ccache": "/usr/bin/ccache", "g++": "/usr/bin/g++"})
    monkeypatch.delenv("CCACHE_BASEDIR", raising=False)
    env = compiler_cache_env("ccache", cxx="g++", nvcc=None, wrapper_dir=tmp_path,
                             source_root=tmp_path / "src" / "mmcv-2.2.0", which=which)
    assert env["CXX"] == "/usr/lib/ccache/g++"
    # In-tree paths become relative, torch's out-of-tree include paths stay absolute.
    assert env["CCACHE_NOHASHDIR"] == "1" and env["CCACHE_BASEDIR"] == str(tmp_path / "src" / "mmcv-2.2.0")
    assert "PYTORCH_NVCC" not in env and "CC" not in env
    # /opt/gcc-14/bin/g++ is not the g++ on PATH: a masquerade link would run the wrong compiler.
    env = compiler_cache_env("ccache", cxx="/opt/gcc-14/bin/g++", nvcc=None, wrapper_dir=tmp_path,
                             which=which)
    assert Path(env["CXX"]).read_text() == '#!/bin/sh\nexec /usr/bin/ccache /opt/gcc-14/bin/g++ "$@"\n'
