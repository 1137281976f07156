"""Compiler cache choice and wiring."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmbuild.build.compiler_cache import (
    CacheRun,
    choose_compiler_cache,
    compiler_cache_env,
    compiler_cache_run,
    parse_ccache_stats,
    parse_sccache_stats,
)
from mmbuild.errors import UsageError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "compiler_cache"


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


def test_sccache_wraps_compilers_and_nvcc(tmp_path, monkeypatch):
    monkeypatch.delenv("SCCACHE_SERVER_PORT", raising=False)
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
    monkeypatch.setattr("mmbuild.build.compiler_cache._masquerade",
                        lambda path: f"/usr/lib/ccache/{os.path.basename(path)}")
    which = _which({"ccache": "/usr/bin/ccache", "g++": "/usr/bin/g++"})
    monkeypatch.delenv("CCACHE_BASEDIR", raising=False)
    monkeypatch.delenv("CCACHE_NODEPEND", raising=False)
    env = compiler_cache_env("ccache", cxx="g++", nvcc=None, wrapper_dir=tmp_path,
                             source_root=tmp_path / "src" / "mmcv-2.2.0", which=which)
    assert env["CXX"] == "/usr/lib/ccache/g++"
    # In-tree paths become relative, torch's out-of-tree include paths stay absolute.
    assert env["CCACHE_NOHASHDIR"] == "1" and env["CCACHE_BASEDIR"] == str(tmp_path / "src" / "mmcv-2.2.0")
    # A miss takes its include list from -MMD's output, not from a second preprocessor run.
    assert env["CCACHE_DEPEND"] == "1"
    assert "PYTORCH_NVCC" not in env and "CC" not in env
    # /opt/gcc-14/bin/g++ is not the g++ on PATH: a masquerade link would run the wrong compiler.
    env = compiler_cache_env("ccache", cxx="/opt/gcc-14/bin/g++", nvcc=None, wrapper_dir=tmp_path,
                             which=which)
    assert Path(env["CXX"]).read_text() == '#!/bin/sh\nexec /usr/bin/ccache /opt/gcc-14/bin/g++ "$@"\n'


def test_ccache_depend_mode_yields_to_the_users_nodepend(tmp_path, monkeypatch):
    monkeypatch.setenv("CCACHE_NODEPEND", "1")
    env = compiler_cache_env("ccache", cxx="g++", nvcc=None, wrapper_dir=tmp_path,
                             which=_which({"ccache": "/usr/bin/ccache", "g++": "/usr/bin/g++"}))
    assert "CCACHE_DEPEND" not in env


def test_sccache_gets_a_private_server_port_and_the_tree_as_base_dir(tmp_path, monkeypatch):
    for name in ("SCCACHE_SERVER_PORT", "SCCACHE_BASEDIRS"):
        monkeypatch.delenv(name, raising=False)
    which = _which({"sccache": "/opt/bin/sccache", "g++": "/usr/bin/g++"})
    tree = tmp_path / "work-1" / "src"
    env = compiler_cache_env("sccache", cxx="g++", nvcc=None, wrapper_dir=tmp_path / "work-1" / "wrappers",
                             source_root=tree, which=which)
    assert env["SCCACHE_BASEDIRS"] == str(tree)
    port = int(env["SCCACHE_SERVER_PORT"])
    assert 0 < port < 65536
    # The preflight and the build of one work folder talk to the same server ...
    again = compiler_cache_env("sccache", cxx="g++", nvcc=None, wrapper_dir=tmp_path / "work-1" / "wrappers",
                               source_root=tree, which=which)
    assert again["SCCACHE_SERVER_PORT"] == str(port)
    # ... the user's own server and base dirs win.
    monkeypatch.setenv("SCCACHE_SERVER_PORT", "4226")
    monkeypatch.setenv("SCCACHE_BASEDIRS", "/builds")
    mine = compiler_cache_env("sccache", cxx="g++", nvcc=None, wrapper_dir=tmp_path / "work-2",
                              source_root=tree, which=which)
    assert "SCCACHE_SERVER_PORT" not in mine and "SCCACHE_BASEDIRS" not in mine


def test_sccache_stats_count_every_language_and_name_the_backend():
    stats = parse_sccache_stats((FIXTURES / "sccache-show-stats-redis-node2.json").read_text())
    assert (stats.hits, stats.misses) == (2, 0)
    assert stats.backend == "redis, name: redis://127.0.0.1:16401, prefix: /"


def test_sccache_backend_never_shows_a_password():
    text = (FIXTURES / "sccache-show-stats-redis-password.json").read_text()
    assert "s3cret" in text
    stats = parse_sccache_stats(text)
    assert "s3cret" not in stats.backend and "redis://***@127.0.0.1:16400" in stats.backend


def test_ccache_hits_are_direct_plus_preprocessed():
    stats = parse_ccache_stats((FIXTURES / "ccache-print-stats.txt").read_text(), "/var/cache/ccache",
                               "redis://:pw@cache.example:6379")
    assert (stats.hits, stats.misses) == (1, 3)
    assert stats.backend == "local disk /var/cache/ccache + remote redis://***@cache.example:6379"


def test_run_summary():
    assert CacheRun("none").summary() == "no compiler cache"
    assert CacheRun("sccache", "redis, name: redis://h:1", 3, 0).summary() == \
        "sccache (redis, name: redis://h:1): 3 hits, 0 misses"
    assert CacheRun("ccache").summary() == "ccache (backend unknown)"


def _fake_sccache(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in sccache that records its arguments and prints the real statistics above."""
    calls = tmp_path / "calls.txt"
    script = tmp_path / "sccache"
    stats = FIXTURES / "sccache-show-stats-redis-node2.json"
    script.write_text(f"""#!/bin/sh
echo "$SCCACHE_SERVER_PORT $*" >> {calls}
case "$*" in *--show-stats*) cat {stats};; esac
""")
    script.chmod(0o755)
    return script, calls


def test_a_private_sccache_server_is_started_with_the_build_env_and_stopped(tmp_path, monkeypatch):
    monkeypatch.delenv("SCCACHE_SERVER_PORT", raising=False)
    script, calls = _fake_sccache(tmp_path)
    which = _which({"sccache": str(script)})
    with compiler_cache_run("sccache", {"SCCACHE_SERVER_PORT": "4321"}, which=which) as run:
        assert calls.read_text().splitlines() == ["4321 --start-server",
                                                  "4321 --show-stats --stats-format json"]
    assert calls.read_text().splitlines()[-1] == "4321 --stop-server"
    assert run.backend.startswith("redis") and (run.hits, run.misses) == (0, 0)


def test_the_users_sccache_server_is_left_running_even_when_the_build_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("SCCACHE_SERVER_PORT", "4226")
    script, calls = _fake_sccache(tmp_path)
    with pytest.raises(RuntimeError), \
            compiler_cache_run("sccache", {}, which=_which({"sccache": str(script)})):
        raise RuntimeError("the build failed")
    assert calls.read_text().splitlines() == ["4226 --show-stats --stats-format json"]
