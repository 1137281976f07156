"""``mmbuild install`` in a venv made by ``uv venv`` (no pip inside): uv downloads, builds, installs.

A subset build (nms, roi_align) of mmcv 2.2.0 in its own mmbuild cache, so the sdist download
(pip run by ``uv tool run``), the build (``uv build --no-build-isolation``), the install and the
restore all go through uv. torch comes from the same place as for pip: the find-links folder of
pip's settings is handed to uv as UV_FIND_LINKS (uv does not read pip's configuration).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from real_install import REPO, TORCH, mmcv_args, run

pytestmark = pytest.mark.integration

UV = shutil.which("uv") or str(Path(sys.executable).parent / "uv")


def _pip_find_links() -> str | None:
    if os.environ.get("PIP_FIND_LINKS"):
        return os.environ["PIP_FIND_LINKS"]
    result = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.find-links"],
                            capture_output=True, text=True)
    return result.stdout.strip() or None


@pytest.fixture(scope="module")
def uv_venv(tmp_path_factory) -> dict:
    if not os.path.isfile(UV):
        pytest.skip("uv is not installed (pip install uv)")
    root = tmp_path_factory.mktemp("uv")
    folder = root / "venv"
    env = {**os.environ, "MMBUILD_CACHE_DIR": str(root / "cache"),
           "PATH": f"{Path(UV).parent}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    links = _pip_find_links()
    if links and "UV_FIND_LINKS" not in env:
        env["UV_FIND_LINKS"] = ",".join(links.split())
    subprocess.run([UV, "venv", "-q", "--python", sys.executable, str(folder)], check=True, env=env)
    python = str(folder / "bin" / "python")
    subprocess.run([UV, "pip", "install", "-q", "--python", python, TORCH, "-e", str(REPO)],
                   check=True, env=env)
    return {"python": python, "env": env, "root": root}


def test_the_uv_venv_has_no_pip(uv_venv):
    result = run([uv_venv["python"], "-m", "pip", "--version"], uv_venv["env"], timeout=60)
    assert result.returncode != 0 and "No module named pip" in result.stderr


def test_install_builds_installs_and_verifies_through_uv(uv_venv):
    started = time.monotonic()
    argv = [uv_venv["python"], "-m", "mmbuild", "install", "--json", "--ops", "nms,roi_align", "--jobs", "2",
            *mmcv_args("2.2.0")]
    result = run(argv, uv_venv["env"])
    print(f"\nuv venv subset install: {time.monotonic() - started:.0f} s")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["ok"] and report["cache"] == "built" and report["verify"]["ok"]
    assert Path(report["wheel"]).name.startswith("mmcv-2.2.0+torch2.13cpu-")
    check = run([uv_venv["python"], "-c",
                 "import importlib.metadata as m, torch, mmcv\n"
                 "print(m.version('mmcv'), mmcv.__version__, torch.__version__)"],
                uv_venv["env"], timeout=300)
    assert check.returncode == 0, check.stderr
    dist, module, torch = check.stdout.split()[-3:]
    assert (dist, module) == ("2.2.0+torch2.13cpu", "2.2.0") and torch.startswith("2.13.0")
    assert "uv build --wheel --no-build-isolation" in Path(report["log"]).read_text()


def test_neither_pip_nor_uv_is_one_line_exit_2_and_nothing_changes(uv_venv):
    env = {**uv_venv["env"], "PATH": os.pathsep.join(
        p for p in uv_venv["env"]["PATH"].split(os.pathsep) if not (Path(p) / "uv").exists())}
    env.pop("UV", None)
    freeze = [uv_venv["python"], "-c", "import importlib.metadata as m; print(sorted((d.name, d.version) "
              "for d in m.distributions()))"]
    before = run(freeze, env, timeout=60).stdout
    result = run([uv_venv["python"], "-m", "mmbuild", "install", "--ops", "nms"], env, timeout=600)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "neither pip nor" in line]
    assert len(lines) == 1 and "ensurepip" in lines[0] and "uv" in lines[0].split("Fix:")[1]
    assert run(freeze, env, timeout=60).stdout == before
