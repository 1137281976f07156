"""The stack install in a throwaway venv: pins installed under the held versions, undone on failure.

The wheels are real (tiny, pure-Python) wheels made by test_install.make_wheel; pip runs offline
(PIP_NO_INDEX) from a local folder of them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_install import make_wheel

from mmbuild.errors import VerifyFailedError
from mmbuild.install.stack import install_stack, installed_versions
from mmbuild.install.wheel import InstallFailedError
from mmbuild.pipeline.stack import held_versions, installed_core


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("stack-venv")
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return str(folder / "bin" / "python")


@pytest.fixture
def venv(target, monkeypatch) -> str:
    """The module's venv with nothing but pip installed."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    extra = sorted(set(installed_versions(target)) - {"pip", "setuptools"})
    if extra:
        subprocess.run([target, "-m", "pip", "uninstall", "-y", "-q", *extra], check=True)
    return target


def _wheels(folder: Path) -> Path:
    make_wheel(folder, "mmcv", "2.1.0+torch2.13cpu", {"mmcv/__init__.py": "__version__ = '2.1.0'\n"})
    make_wheel(folder, "mmengine", "0.10.6", {"mmengine/__init__.py": "V = '0.10.6'\n"})
    make_wheel(folder, "mmengine", "0.10.7", {"mmengine/__init__.py": "V = '0.10.7'\n"})
    make_wheel(folder, "addict", "2.4.0", {"addict/__init__.py": ""})
    make_wheel(folder, "mmdet", "3.3.0", {"mmdet/__init__.py": "import mmengine\n"},
               requires=["mmengine>=0.7.1", "addict"])
    make_wheel(folder, "mmdet", "9.9.9", {"mmdet/__init__.py": ""}, requires=["mmcv>=3"])
    return folder


def _argv(python: str, wheels: Path):
    def argv(targets: list[str], constraints: Path) -> list[str]:
        return [sys.executable, "-m", "pip", "--python", python, "install", "-q",
                "--find-links", str(wheels), "-c", str(constraints), *targets]
    return argv


def _pip(python: str, wheels: Path, *targets: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--find-links",
                    str(wheels), *targets], check=True, capture_output=True)


def test_installs_the_pins_under_the_held_versions(venv, tmp_path):
    wheels = _wheels(tmp_path / "wheels")
    _pip(venv, wheels, "mmcv==2.1.0+torch2.13cpu", "mmengine==0.10.6")
    report = install_stack(["mmdet==3.3.0", "mmengine==0.10.7"], python=venv, work_dir=tmp_path / "w",
                           constraints=["mmcv==2.1.0+torch2.13cpu"], may_replace=["mmdet", "mmengine"],
                           install_argv=_argv(venv, wheels))
    assert report.added == {"addict": "2.4.0", "mmdet": "3.3.0"}
    assert report.replaced == {"mmengine": ["0.10.6", "0.10.7"]}
    assert (tmp_path / "w" / "stack-constraints.txt").read_text() == "mmcv==2.1.0+torch2.13cpu\n"


def test_a_pin_that_would_replace_the_held_mmcv_fails_and_changes_nothing(venv, tmp_path):
    wheels = _wheels(tmp_path / "wheels")
    _pip(venv, wheels, "mmcv==2.1.0+torch2.13cpu", "mmengine==0.10.6")
    before = installed_versions(venv)
    with pytest.raises(InstallFailedError, match="could not install mmdet==9.9.9"):
        install_stack(["mmdet==9.9.9"], python=venv, work_dir=tmp_path / "w",
                      constraints=["mmcv==2.1.0+torch2.13cpu"], may_replace=["mmdet"],
                      install_argv=_argv(venv, wheels))
    assert installed_versions(venv) == before


def test_a_failed_acceptance_undoes_every_change(venv, tmp_path):
    wheels = _wheels(tmp_path / "wheels")
    _pip(venv, wheels, "mmcv==2.1.0+torch2.13cpu", "mmengine==0.10.6")
    before = installed_versions(venv)
    engine_init = Path(venv).parents[1] / "lib"
    engine_files = sorted(p.read_text() for p in engine_init.rglob("mmengine/__init__.py"))

    def failing_verify() -> None:
        assert installed_versions(venv)["mmdet"] == "3.3.0"
        raise VerifyFailedError("the stack checks failed")

    with pytest.raises(VerifyFailedError, match="undone: removed addict, mmdet; put back mmengine 0.10.6"):
        install_stack(["mmdet==3.3.0", "mmengine==0.10.7"], python=venv, work_dir=tmp_path / "w",
                      constraints=["mmcv==2.1.0+torch2.13cpu"], may_replace=["mmdet", "mmengine"],
                      install_argv=_argv(venv, wheels), accept=failing_verify)
    assert installed_versions(venv) == before
    assert sorted(p.read_text() for p in engine_init.rglob("mmengine/__init__.py")) == engine_files


def test_a_patched_wheel_of_the_installed_version_replaces_it_and_is_undone_on_failure(venv, tmp_path):
    wheels = _wheels(tmp_path / "wheels")
    _pip(venv, wheels, "mmcv==2.1.0+torch2.13cpu", "mmengine==0.10.7")
    patched = make_wheel(tmp_path / "patched", "mmengine", "0.10.7",
                         {"mmengine/__init__.py": "PATCHED = 1\n"})
    engine_init = next((Path(venv).parents[1] / "lib").rglob("mmengine/__init__.py"))
    report = install_stack([str(patched)], python=venv, work_dir=tmp_path / "w1", constraints=[],
                           may_replace=["mmengine"], install_argv=_argv(venv, wheels), reinstall=["mmengine"])
    assert report.replaced == {"mmengine": ["0.10.7", "0.10.7"]}
    assert engine_init.read_text() == "PATCHED = 1\n"
    _pip(venv, wheels, "--force-reinstall", "mmengine==0.10.7")

    def failing_verify() -> None:
        raise VerifyFailedError("the stack checks failed")

    with pytest.raises(VerifyFailedError, match="put back mmengine 0.10.7"):
        install_stack([str(patched)], python=venv, work_dir=tmp_path / "w2", constraints=[],
                      may_replace=["mmengine"], install_argv=_argv(venv, wheels), reinstall=["mmengine"],
                      accept=failing_verify)
    assert engine_init.read_text() == "V = '0.10.7'\n"


def test_torch_is_held_at_its_distribution_version_so_a_torchvision_pinned_to_it_installs(venv, tmp_path):
    # The package index's torch 2.0.1 says 2.0.1+cu117 at run time; its distribution is 2.0.1, and
    # torchvision 0.15.2 requires torch==2.0.1 (both as on the index, the wheels here are stand-ins).
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "torch", "2.0.1", {"torch/__init__.py": "__version__ = '2.0.1+cu117'\n"})
    make_wheel(wheels, "torchvision", "0.15.2", {"torchvision/__init__.py": ""}, requires=["torch==2.0.1"])
    mmcv = make_wheel(wheels, "mmcv-full", "1.7.2", {"mmcv/__init__.py": ""})
    _pip(venv, wheels, "torch==2.0.1", "mmcv-full==1.7.2")
    held = held_versions(installed_core(venv)["torch"], mmcv, installed_core(venv).get("numpy"))
    assert held == ["torch==2.0.1", "mmcv-full==1.7.2"]
    assert held_versions("2.0.1", mmcv, "1.26.4") == ["torch==2.0.1", "mmcv-full==1.7.2", "numpy<2"]
    report = install_stack(["torchvision==0.15.2"], python=venv, work_dir=tmp_path / "w", constraints=held,
                           may_replace=["torchvision"], install_argv=_argv(venv, wheels))
    assert report.added == {"torchvision": "0.15.2"} and report.replaced == {}
    with pytest.raises(InstallFailedError, match="ResolutionImpossible|conflicting"):
        install_stack(["torchvision==0.15.2"], python=venv, work_dir=tmp_path / "w2",
                      constraints=["torch==2.0.1+cu117"], may_replace=[], install_argv=_argv(venv, wheels))


def test_an_added_package_sharing_files_with_an_installed_one_leaves_it_whole_when_undone(venv, tmp_path):
    """opencv-contrib-python (which mmaction2 requires) and opencv-python both own cv2/."""
    wheels = _wheels(tmp_path / "wheels")
    make_wheel(wheels, "cvbase", "1.0", {"cvx/__init__.py": "BASE = 1\n"})
    make_wheel(wheels, "cvcontrib", "1.0", {"cvx/__init__.py": "CONTRIB = 1\n"})
    make_wheel(wheels, "needscontrib", "1.0", {"needscontrib/__init__.py": ""}, requires=["cvcontrib"])
    _pip(venv, wheels, "cvbase==1.0")

    def failing_verify() -> None:
        raise VerifyFailedError("the stack checks failed")

    with pytest.raises(VerifyFailedError, match="reinstalled cvbase 1.0"):
        install_stack(["needscontrib==1.0"], python=venv, work_dir=tmp_path / "w", constraints=[],
                      may_replace=["needscontrib"], install_argv=_argv(venv, wheels), accept=failing_verify)
    done = subprocess.run([venv, "-c", "import cvx; print(cvx.BASE)"], capture_output=True, text=True)
    assert done.stdout.strip() == "1", done.stderr


def test_a_replaced_package_that_cannot_be_put_back_is_named_with_what_to_do(venv, tmp_path):
    """pip upgraded a dependency nobody backed up, and its old wheel is gone when the undo runs."""
    wheels = tmp_path / "wheels"
    old = make_wheel(wheels, "dep", "1.0", {"dep/__init__.py": "V = 1\n"})
    make_wheel(wheels, "dep", "2.0", {"dep/__init__.py": "V = 2\n"})
    make_wheel(wheels, "needsdep", "1.0", {"needsdep/__init__.py": ""}, requires=["dep>=2"])
    _pip(venv, wheels, "dep==1.0")

    def failing_verify() -> None:
        Path(old).unlink()
        raise VerifyFailedError("the stack checks failed")

    with pytest.raises(VerifyFailedError) as failed:
        install_stack(["needsdep==1.0"], python=venv, work_dir=tmp_path / "w", constraints=[],
                      may_replace=["needsdep"], install_argv=_argv(venv, wheels), accept=failing_verify)
    message = str(failed.value)
    assert "removed needsdep; could not put back dep==1.0 (" in message
    assert "install it with pip" in message and "put back dep 1.0" not in message
