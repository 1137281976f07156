"""Safe install into a throwaway venv: conflicts removed only then, torch pinned, restore on failure."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mmbuild.errors import EXIT_VERIFY_FAILED, MmbuildError, VerifyFailedError
from mmbuild.install.installer import Installer, installer_for
from mmbuild.install.wheel import InstallFailedError, install_wheel, installed_mmcv, pip_install_argv


def make_wheel(folder: Path, name: str, version: str, files: dict[str, str],
               requires: list[str] = ()) -> Path:
    """A real (tiny, pure-Python) wheel with METADATA, WHEEL and a correct RECORD."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name.replace('-', '_')}-{version}"
    members = dict(files)
    members[f"{dist}.dist-info/METADATA"] = "Metadata-Version: 2.1\nName: {}\nVersion: {}\n{}".format(
        name, version, "".join(f"Requires-Dist: {r}\n" for r in requires))
    members[f"{dist}.dist-info/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    rows = []
    for member, text in members.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append([member, f"sha256={digest}", str(len(data))])
    rows.append([f"{dist}.dist-info/RECORD", "", ""])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in members.items():
            archive.writestr(member, text)
        archive.writestr(f"{dist}.dist-info/RECORD", buffer.getvalue())
    return path


def mmcv_wheel(folder: Path, version: str, ext: str = "ANSWER = 42\n", name: str = "mmcv") -> Path:
    return make_wheel(folder / f"{name}-{version}", name, version, {
        "mmcv/__init__.py": f"__version__ = '{version}'\n", "mmcv/_ext.py": ext})


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("target-venv")
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return str(folder / "bin" / "python")


@pytest.fixture
def clean(venv, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")          # offline: the fake wheels have no real deps
    names = [d.name for d in installed_mmcv(venv)]
    if names:
        subprocess.run([venv, "-m", "pip", "uninstall", "-y", *names], check=True, capture_output=True)
    return venv


def _snapshot(python: str) -> dict[str, str]:
    out = {}
    for dist in installed_mmcv(python):
        for file in dist.files:
            if Path(file).is_file() and "__pycache__" not in file:
                out[file] = hashlib.sha256(Path(file).read_bytes()).hexdigest()
    return out


def _import_version(python: str) -> str:
    result = subprocess.run([python, "-c", "import mmcv; from mmcv import _ext; print(mmcv.__version__)"],
                            capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "broken"


def test_install_pins_torch_in_the_constraint_file(tmp_path):
    argv = Installer("pip", "/py").install_argv(["/w/mmcv.whl"], tmp_path / "c.txt")
    assert argv[:4] == ["/py", "-m", "pip", "install"] and argv[-1] == "/w/mmcv.whl"
    assert argv[argv.index("-c") + 1] == str(tmp_path / "c.txt")
    uv = Installer("uv", "/py", uv="/bin/uv").install_argv(["/w/mmcv.whl"], tmp_path / "c.txt")
    assert uv[:5] == ["/bin/uv", "pip", "install", "--python", "/py"] and uv[-1] == "/w/mmcv.whl"
    assert uv[uv.index("-c") + 1] == str(tmp_path / "c.txt")


def test_the_install_command_is_the_target_installers(venv, tmp_path):
    argv = pip_install_argv(venv, Path("/w/mmcv.whl"), tmp_path / "c.txt")
    assert argv == installer_for(venv).install_argv(["/w/mmcv.whl"], tmp_path / "c.txt")


def test_installs_and_removes_conflicting_distributions(clean, tmp_path):
    install_wheel(mmcv_wheel(tmp_path, "2.1.0", name="mmcv-lite"), work_dir=tmp_path / "w0",
                  torch_version=None, python=clean)
    report = install_wheel(mmcv_wheel(tmp_path, "2.2.0"), work_dir=tmp_path / "w1",
                           torch_version="2.13.0", python=clean)
    assert report.removed == ["mmcv-lite"] and report.import_output == "2.2.0"
    assert [(d.name, d.version) for d in installed_mmcv(clean)] == [("mmcv", "2.2.0")]
    assert (tmp_path / "w1" / "constraints.txt").read_text() == "torch==2.13.0\n"


def test_failed_import_restores_the_previous_mmcv_byte_for_byte(clean, tmp_path):
    install_wheel(mmcv_wheel(tmp_path, "2.1.0"), work_dir=tmp_path / "w0", torch_version=None,
                  python=clean)
    before = _snapshot(clean)
    error = "raise ImportError('mmcv/_ext.so: undefined symbol: _ZN3c10')\n"
    broken = mmcv_wheel(tmp_path, "2.2.0", ext=error)
    with pytest.raises(VerifyFailedError) as err:
        install_wheel(broken, work_dir=tmp_path / "w1", torch_version=None, python=clean)
    assert err.value.exit_code == EXIT_VERIFY_FAILED
    assert "restored the previous state: mmcv 2.1.0" in err.value.message
    assert [(d.name, d.version) for d in installed_mmcv(clean)] == [("mmcv", "2.1.0")]
    assert _snapshot(clean) == before
    assert _import_version(clean) == "2.1.0"


def test_a_failed_verify_restores_the_previous_mmcv(clean, tmp_path):
    install_wheel(mmcv_wheel(tmp_path, "2.1.0"), work_dir=tmp_path / "w0", torch_version=None,
                  python=clean)
    before = _snapshot(clean)
    seen = []

    def verify_that_fails() -> None:
        seen.append(_import_version(clean))   # the new mmcv is what verify checks
        raise VerifyFailedError("the installed mmcv failed verification: nms (cpu): max error 0.5")

    with pytest.raises(VerifyFailedError) as err:
        install_wheel(mmcv_wheel(tmp_path, "2.2.0"), work_dir=tmp_path / "w1", torch_version=None,
                      python=clean, accept=verify_that_fails)
    assert seen == ["2.2.0"]
    assert "restored the previous state: mmcv 2.1.0" in err.value.message
    assert _snapshot(clean) == before and _import_version(clean) == "2.1.0"


def test_pip_refusing_to_change_torch_restores_the_previous_mmcv(clean, tmp_path):
    install_wheel(mmcv_wheel(tmp_path, "2.1.0"), work_dir=tmp_path / "w0", torch_version=None,
                  python=clean)
    needs_other_torch = make_wheel(tmp_path / "other", "mmcv", "2.2.0",
                                   {"mmcv/__init__.py": "", "mmcv/_ext.py": ""}, requires=["torch==1.0.0"])
    with pytest.raises(InstallFailedError) as err:
        install_wheel(needs_other_torch, work_dir=tmp_path / "w1", torch_version="2.13.0", python=clean)
    assert isinstance(err.value, MmbuildError) and "restored" in err.value.message
    assert [(d.name, d.version) for d in installed_mmcv(clean)] == [("mmcv", "2.1.0")]
    assert _import_version(clean) == "2.1.0"


def test_failed_install_with_nothing_before_leaves_nothing(clean, tmp_path):
    broken = mmcv_wheel(tmp_path, "2.2.0", ext="raise ImportError('No module named mmcv._ext')\n")
    with pytest.raises(VerifyFailedError, match="restored the previous state: no mmcv"):
        install_wheel(broken, work_dir=tmp_path / "w", torch_version=None, python=clean)
    assert installed_mmcv(clean) == []


def test_without_its_own_import_check_the_acceptance_sees_the_broken_import_and_restores(clean, tmp_path):
    install_wheel(mmcv_wheel(tmp_path, "2.1.0"), work_dir=tmp_path / "w0", torch_version=None,
                  python=clean)
    error = "raise ImportError('mmcv/_ext.so: undefined symbol: _ZN3c10')\n"
    broken = mmcv_wheel(tmp_path, "2.2.0", ext=error)
    seen = []

    def verify_imports() -> None:   # what verify's first check does, in the target Python
        result = subprocess.run([clean, "-c", "from mmcv import _ext"], capture_output=True, text=True)
        seen.append(result.returncode)
        if result.returncode:
            raise VerifyFailedError("the installed mmcv failed verification: mmcv._ext (-): ImportError")

    with pytest.raises(VerifyFailedError, match="restored the previous state: mmcv 2.1.0"):
        install_wheel(broken, work_dir=tmp_path / "w1", torch_version=None, python=clean,
                      import_check=None, accept=verify_imports)
    assert seen == [1]
    assert _import_version(clean) == "2.1.0"
    report = install_wheel(mmcv_wheel(tmp_path, "2.2.0"), work_dir=tmp_path / "w2", torch_version=None,
                           python=clean, import_check=None, accept=verify_imports)
    assert report.import_output == "" and seen == [1, 0]


def test_onedl_mmcv_replaces_mmcv_and_mmcv_full_and_back(clean, tmp_path):
    install_wheel(mmcv_wheel(tmp_path, "2.2.0"), work_dir=tmp_path / "w0", torch_version=None, python=clean)
    report = install_wheel(mmcv_wheel(tmp_path, "2.3.6", name="onedl-mmcv"), work_dir=tmp_path / "w1",
                           torch_version=None, python=clean)
    assert report.removed == ["mmcv"] and report.import_output == "2.3.6"
    assert [(d.name, d.version) for d in installed_mmcv(clean)] == [("onedl-mmcv", "2.3.6")]
    report = install_wheel(mmcv_wheel(tmp_path, "1.7.2", name="mmcv-full"), work_dir=tmp_path / "w2",
                           torch_version=None, python=clean)
    assert report.removed == ["onedl-mmcv"]
    assert [(d.name, d.version) for d in installed_mmcv(clean)] == [("mmcv-full", "1.7.2")]


def test_a_failed_verify_of_onedl_mmcv_puts_mmcv_back(clean, tmp_path):
    install_wheel(mmcv_wheel(tmp_path, "2.2.0"), work_dir=tmp_path / "w0", torch_version=None, python=clean)
    before = _snapshot(clean)

    def verify_that_fails() -> None:
        raise VerifyFailedError("the installed mmcv failed verification: nms (cpu): max error 0.5")

    with pytest.raises(VerifyFailedError, match="restored the previous state: mmcv 2.2.0"):
        install_wheel(mmcv_wheel(tmp_path, "2.3.6", name="onedl-mmcv"), work_dir=tmp_path / "w1",
                      torch_version=None, python=clean, accept=verify_that_fails)
    assert [(d.name, d.version) for d in installed_mmcv(clean)] == [("mmcv", "2.2.0")]
    assert _snapshot(clean) == before and _import_version(clean) == "2.2.0"


def test_a_held_numpy_major_refuses_an_mmcv_that_would_move_numpy_to_2(clean, tmp_path, monkeypatch):
    install_wheel(mmcv_wheel(tmp_path, "2.1.0"), work_dir=tmp_path / "w0", torch_version=None, python=clean)
    needs_numpy_2 = make_wheel(tmp_path / "other", "mmcv", "2.2.0",
                               {"mmcv/__init__.py": "", "mmcv/_ext.py": ""}, requires=["numpy>=2"])
    make_wheel(tmp_path / "links", "numpy", "2.0.0", {"numpy/__init__.py": ""})   # there to be refused
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "links"))
    with pytest.raises(InstallFailedError, match="ResolutionImpossible|conflict"):
        install_wheel(needs_numpy_2, work_dir=tmp_path / "w1", torch_version=None, python=clean,
                      held=("numpy<2",))
    assert (tmp_path / "w1" / "constraints.txt").read_text() == "numpy<2\n"
    assert [(d.name, d.version) for d in installed_mmcv(clean)] == [("mmcv", "2.1.0")]


def test_the_backup_keeps_the_bytes_after_the_originals_go_and_puts_them_back(tmp_path):
    from mmbuild.install.wheel import InstalledDistribution, back_up, put_back

    site = tmp_path / "site" / "mmcv"
    site.mkdir(parents=True)
    (site / "_ext.so").write_bytes(b"\x7fELF old")
    (site / "__init__.py").write_text("__version__ = '2.1.0'\n")
    dist = InstalledDistribution("mmcv", "2.1.0", [str(p) for p in sorted(site.iterdir())])
    backup = back_up([dist], tmp_path / "backup")
    put_back(backup)                                   # nothing removed yet: the same files, kept
    for path in site.iterdir():
        path.unlink()                                  # as the uninstall does
    (site / "_ext.so").write_bytes(b"\x7fELF new")     # the new install writes a file of its own
    (site / "_ext.so").unlink()
    put_back(backup)
    assert (site / "_ext.so").read_bytes() == b"\x7fELF old"
    assert (site / "__init__.py").read_text() == "__version__ = '2.1.0'\n"
