"""One real ``mmbuild install`` per test session, in a fresh venv (see tests/integration/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mmcv_sources import configured_sdist

REPO = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"


def sdist_arg(version: str) -> list[str]:
    """``--source <sdist>`` when MMBUILD_TEST_SDIST_DIR holds it, else nothing (mmbuild downloads)."""
    configured = configured_sdist("mmcv", version)
    return ["--source", str(configured)] if configured else []


def mmcv_args(version: str) -> list[str]:
    """mmcv ``version`` named, from MMBUILD_TEST_SDIST_DIR's sdist where it has it: without
    ``--mmcv`` a build picks the mmcv the venv has, which an earlier test may have installed."""
    return ["--mmcv", version, *sdist_arg(version)]


def run(argv: list[str], env: dict, timeout: float = 3600,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)


def build_mmcv(python: str, env: dict, out: Path, *extra: str, timeout: float = 3600) -> dict:
    """``mmbuild build --json`` of mmcv 2.2.0 into ``out`` with ``extra`` options; its JSON report."""
    argv = [python, "-m", "mmbuild", "build", "--json", "--out", str(out), *mmcv_args("2.2.0"), *extra]
    done = run(argv, env, timeout=timeout)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def make_venv(root: Path) -> dict:
    """A fresh venv with torch pinned and this project; its own mmbuild cache under ``root``."""
    folder = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = str(folder / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", TORCH,
                    "-e", str(REPO)], check=True)
    env = {**os.environ, "MMBUILD_CACHE_DIR": str(root / "cache"),
           "PATH": f"{folder / 'bin'}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    return {"python": python, "env": env, "root": root}
