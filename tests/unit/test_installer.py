"""Which installer serves an environment (pip, or uv where uv made it or pip is missing), and its commands."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_install import mmcv_wheel

from mmbuild.errors import EXIT_USAGE, UsageError
from mmbuild.install import installer as installers
from mmbuild.install.installer import (
    EnvironmentLayout,
    Installer,
    choose_installer,
    installer_for,
    made_by_uv,
    pip_env_from_uv,
    read_layout,
)
from mmbuild.install.wheel import install_wheel, installed_mmcv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "installers"
UV_CFG = (FIXTURES / "uv-venv.pyvenv.cfg").read_text()
VENV_CFG = (FIXTURES / "python-venv.pyvenv.cfg").read_text()
UV = shutil.which("uv") or next((str(p) for p in [Path(sys.executable).parent / "uv"] if p.is_file()), None)
needs_uv = pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)")


def layout(cfg: str | None, *, pip: bool, uv: str | None = "/bin/uv",
           conda: bool = False) -> EnvironmentLayout:
    return EnvironmentLayout(cfg, conda, pip, uv)


def test_the_uv_line_of_a_real_uv_venv_names_its_version():
    assert made_by_uv(UV_CFG) == "0.13.9"
    assert made_by_uv(VENV_CFG) is None and made_by_uv(None) is None


def test_a_uv_venv_is_served_by_uv_even_with_pip_inside():
    assert choose_installer(layout(UV_CFG, pip=False))[0] == "uv"
    name, why = choose_installer(layout(UV_CFG, pip=True))
    assert name == "uv" and "uv 0.13.9" in why


def test_a_python_venv_and_a_conda_environment_keep_pip():
    assert choose_installer(layout(VENV_CFG, pip=True)) == ("pip", "the environment has pip")
    assert choose_installer(layout(None, pip=True, conda=True)) == ("pip", "a conda environment has pip")


def test_without_pip_uv_serves_any_environment():
    assert choose_installer(layout(VENV_CFG, pip=False))[0] == "uv"
    assert choose_installer(layout(None, pip=False, conda=True)) == ("uv", "the environment has no pip")


def test_a_uv_venv_without_uv_falls_back_to_its_pip():
    assert choose_installer(layout(UV_CFG, pip=True, uv=None))[0] == "pip"


def test_neither_pip_nor_uv_is_one_usage_error_naming_both_fixes():
    with pytest.raises(UsageError) as caught:
        choose_installer(layout(UV_CFG, pip=False, uv=None))
    line = caught.value.one_line()
    assert caught.value.exit_code == EXIT_USAGE and "\n" not in line
    assert "ensurepip" in line and "uv" in line.split("Fix:")[1]


def test_the_installer_can_be_chosen_and_is_checked():
    assert choose_installer(layout(UV_CFG, pip=True), "pip")[0] == "pip"
    with pytest.raises(UsageError, match="no pip"):
        choose_installer(layout(UV_CFG, pip=False), "pip")
    with pytest.raises(UsageError, match="no uv"):
        choose_installer(layout(VENV_CFG, pip=True, uv=None), "uv")
    with pytest.raises(UsageError, match="conda"):
        choose_installer(layout(VENV_CFG, pip=True), "conda")


def test_commands_of_each_installer(tmp_path):
    pip, uv = Installer("pip", "/env/bin/python"), Installer("uv", "/env/bin/python", uv="/bin/uv")
    assert pip.uninstall_argv(["mmcv"])[:5] == ["/env/bin/python", "-m", "pip", "uninstall", "-y"]
    assert uv.uninstall_argv(["mmcv"]) == ["/bin/uv", "pip", "uninstall", "--python", "/env/bin/python",
                                           "mmcv"]
    wheel = uv.wheel_argv(tmp_path / "src", tmp_path / "out")
    assert wheel[:4] == ["/bin/uv", "build", "--wheel", "--no-build-isolation"]
    assert wheel[wheel.index("--python") + 1] == "/env/bin/python"
    assert pip.wheel_argv(tmp_path / "src", tmp_path / "out")[2:5] == ["pip", "wheel", "--no-build-isolation"]
    download = uv.download_argv("mmcv==2.1.0", tmp_path)
    assert download[:8] == ["/bin/uv", "tool", "run", "--python", "/env/bin/python", "--from", "pip", "pip"]
    assert "--no-binary" in download and download[-1] == "mmcv==2.1.0"
    wheel_only = pip.download_argv("mmdet==3.3.0", tmp_path, kind="wheel")
    assert wheel_only[:4] == ["/env/bin/python", "-m", "pip", "download"] and "--only-binary" in wheel_only
    assert "--no-binary" not in pip.download_argv("mmdet==3.3.0", tmp_path, kind="any")
    target = uv.install_target_argv(["nvidia-cuda-nvcc"], tmp_path / "site")
    assert target[target.index("--target") + 1] == str(tmp_path / "site")


def test_uvs_index_settings_reach_the_pip_it_runs_unless_pips_own_are_set():
    env = pip_env_from_uv({"UV_DEFAULT_INDEX": "https://mirror.example/simple",
                           "UV_INDEX": "pytorch=https://torch.example/whl/cpu https://extra.example/simple",
                           "UV_FIND_LINKS": "/opt/wheels,/srv/wheels"})
    assert env["PIP_INDEX_URL"] == "https://mirror.example/simple"
    assert env["PIP_EXTRA_INDEX_URL"] == "https://torch.example/whl/cpu https://extra.example/simple"
    assert env["PIP_FIND_LINKS"] == "/opt/wheels /srv/wheels"
    kept = pip_env_from_uv({"UV_DEFAULT_INDEX": "https://mirror.example/simple", "PIP_INDEX_URL": "https://mine"})
    assert kept["PIP_INDEX_URL"] == "https://mine"


def test_a_real_python_venv_is_served_by_pip(tmp_path):
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "v")], check=True)
    python = str(tmp_path / "v" / "bin" / "python")
    found = read_layout(python)
    assert found.has_pip and made_by_uv(found.pyvenv_cfg) is None and not found.conda
    assert installer_for(python).name == "pip"


def test_a_conda_prefix_without_pip_is_served_by_uv(tmp_path, monkeypatch):
    # A conda environment's layout has a conda-meta folder (history + one JSON per package). Stand-in:
    # a venv without pip given that folder (a conda prefix's own interpreter is not on this machine).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "c")], check=True)
    (tmp_path / "c" / "conda-meta").mkdir()
    (tmp_path / "c" / "conda-meta" / "history").write_text("==> 2026-12-06 01:00:00 <==\n")
    monkeypatch.setattr(installers, "find_uv", lambda python: "/bin/uv")
    found = read_layout(str(tmp_path / "c" / "bin" / "python"))
    assert found.conda and not found.has_pip
    assert choose_installer(found) == ("uv", "the environment has no pip")


@pytest.fixture(scope="module")
def uv_venv(tmp_path_factory) -> str:
    if UV is None:
        pytest.skip("uv is not installed (pip install uv)")
    folder = tmp_path_factory.mktemp("uv-venv") / "v"
    subprocess.run([UV, "venv", "-q", "--python", sys.executable, str(folder)], check=True)
    return str(folder / "bin" / "python")


@needs_uv
def test_a_real_uv_venv_has_no_pip_and_is_served_by_uv(uv_venv):
    found = read_layout(uv_venv)
    assert made_by_uv(found.pyvenv_cfg) and not found.has_pip
    assert installer_for(uv_venv).name == "uv"


@needs_uv
def test_a_wheel_installs_and_the_previous_mmcv_comes_back_in_a_uv_venv(uv_venv, tmp_path, monkeypatch):
    monkeypatch.setenv("UV_NO_INDEX", "1")          # offline: the wheels have no dependencies
    install_wheel(mmcv_wheel(tmp_path, "2.1.0"), work_dir=tmp_path / "w0", torch_version=None, python=uv_venv)
    with pytest.raises(Exception, match="restored the previous state: mmcv 2.1.0"):
        install_wheel(mmcv_wheel(tmp_path, "2.2.0", ext="raise ImportError('broken')\n"),
                      work_dir=tmp_path / "w1", torch_version=None, python=uv_venv)
    assert [(d.name, d.version) for d in installed_mmcv(uv_venv)] == [("mmcv", "2.1.0")]
