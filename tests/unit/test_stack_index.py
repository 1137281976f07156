"""The index reader: simple pages, pip's configured indexes, release files read and cached.

The index here is a file:// one in a temporary folder (the layout pip reads: NAME/index.html with
links carrying #sha256=), holding a wheel and an sdist assembled from the captured texts of
tests/fixtures/stack (README there says where they come from).
"""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile
import zipfile
from pathlib import Path

import pytest

from mmbuild.errors import UsageError
from mmbuild.stack.archive import requires_txt
from mmbuild.stack.index import PYPI, DownstreamIndex, configured_indexes, indexes_from_pip_config
from mmbuild.stack.simple_pages import JSON_TYPE, parse_simple_page

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stack"
# `pip config list` on this machine (2026-12-06), as pip 23.2.1 prints it.
PIP_CONFIG = """:env:.cert='/etc/ssl/certs/ca-certificates.crt'
:env:.default-timeout='180'
:env:.find-links='/opt/wheels'
global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'
global.find-links='/opt/wheels'
"""


def test_pip_config_gives_the_main_index_then_the_extra_ones():
    assert indexes_from_pip_config(PIP_CONFIG) == [PYPI, "file:///opt/pypi/simple", "file:///opt/pypi-more/simple"]
    mirror = "global.index-url='https://mirror.example/simple'\n"
    assert indexes_from_pip_config(mirror) == ["https://mirror.example/simple"]


def test_the_json_page_lists_versions_and_marks_yanked_files():
    page = (FIXTURES / "simple-mmdet.json").read_bytes()
    files = parse_simple_page(page, JSON_TYPE, "https://pypi.org/simple/mmdet/")
    by_name = {f.filename: f for f in files}
    assert by_name["mmdet-3.3.0-py3-none-any.whl"].version == "3.3.0"
    assert by_name["mmdet-1.0rc2.tar.gz"].yanked
    assert by_name["mmdet-1.0rc2.tar.gz"].kind == "sdist"


def _wheel(folder: Path) -> Path:
    path = folder / "mmdet-3.3.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mmdet-3.3.0.dist-info/METADATA", (FIXTURES / "mmdet-3.3.0.METADATA").read_text())
        archive.writestr("mmdet/__init__.py", (FIXTURES / "mmdet-3.3.0.mmdet.__init__.py.txt").read_text())
        archive.writestr("mmdet/apis/__init__.py", "mmcv_minimum_version = '0.0.1'\n")   # not top-level
    return path


def _sdist(folder: Path) -> Path:
    """An sdist whose PKG-INFO has no Requires-Dist: they are in the egg-info's requires.txt."""
    path = folder / "mmsegmentation-1.2.2.tar.gz"
    members = {
        "mmsegmentation-1.2.2/PKG-INFO": "Metadata-Version: 2.1\nName: mmsegmentation\nVersion: 1.2.2\n",
        "mmsegmentation-1.2.2/mmsegmentation.egg-info/requires.txt":
            "matplotlib\nnumpy\n\n[mim]\nmmcv<2.2.0,>=2.0.0rc4\nmmengine<1.0.0,>=0.5.0\n",
        "mmsegmentation-1.2.2/mmseg/__init__.py":
            (FIXTURES / "mmsegmentation-1.2.2.mmseg.__init__.py.txt").read_text(),
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _index(root: Path) -> str:
    files = root / "files"
    files.mkdir(parents=True)
    for name, made in (("mmdet", _wheel(files)), ("mmsegmentation", _sdist(files))):
        digest = hashlib.sha256(made.read_bytes()).hexdigest()
        page = root / "simple" / name
        page.mkdir(parents=True)
        (page / "index.html").write_text(
            f'<html><body><a href="../../files/{made.name}#sha256={digest}">{made.name}</a>\n'
            f'<a href="../../files/{name}-0.1.tar.gz" data-yanked="">{name}-0.1.tar.gz</a></body></html>')
    return (root / "simple").as_uri()


def test_a_wheel_is_read_for_its_metadata_and_import_check_then_kept_as_a_record(tmp_path):
    index = DownstreamIndex([_index(tmp_path / "index")], cache=tmp_path / "cache")
    assert index.versions("mmdet") == ["3.3.0"]            # the yanked 0.1 left out
    bounds = index.bounds("mmdet", "3.3.0")
    assert (bounds.mmcv_package, bounds.mmcv, bounds.mmengine) == (
        "mmcv", "<2.2.0,>=2.0.0rc4", "<1.0.0,>=0.7.1")
    assert bounds.sources == ["metadata", "__init__.py"]
    assert "mmcv <2.2.0,>=2.0.0rc4 ; extra == 'mim'" in bounds.requires     # as the METADATA says it
    assert not any("pytest" in r for r in bounds.requires)   # the tests extra is not kept
    (tmp_path / "index" / "files" / "mmdet-3.3.0-py3-none-any.whl").unlink()
    assert DownstreamIndex([], cache=tmp_path / "cache").bounds("mmdet", "3.3.0") == bounds


def test_an_sdist_is_read_through_its_requires_txt(tmp_path):
    index = DownstreamIndex([_index(tmp_path / "index")], cache=tmp_path / "cache")
    bounds = index.bounds("mmsegmentation", "1.2.2")
    assert (bounds.mmcv, bounds.mmengine_package, bounds.mmengine) == (
        "<2.2.0,>=2.0.0rc4", "mmengine", "<1.0.0,>=0.5.0")


def test_a_file_whose_hash_differs_falls_back_to_the_table(tmp_path):
    url = _index(tmp_path / "index")
    wheel = tmp_path / "index" / "files" / "mmdet-3.3.0-py3-none-any.whl"
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    bounds = DownstreamIndex([url], cache=tmp_path / "cache").bounds("mmdet", "3.3.0")
    assert (bounds.sources, bounds.mmcv) == (["table"], "<2.2.0,>=2.0.0rc4")


def test_requires_txt_sections_become_markers():
    assert requires_txt("numpy\n[mim]\nmmcv-full>=1.3.17\n[:python_version < '3.8']\nimportlib\n") == [
        "numpy", "mmcv-full>=1.3.17; extra == 'mim'", "importlib; (python_version < '3.8')"]


def test_unknown_names_versions_and_an_unreachable_index_are_usage_errors(tmp_path):
    index = DownstreamIndex([_index(tmp_path / "index")], cache=tmp_path / "cache")
    with pytest.raises(UsageError, match="mmdetz is not on the package index"):
        index.versions("mmdetz")
    with pytest.raises(UsageError, match="mmdet 9.9 does not exist"):
        index.bounds("mmdet", "9.9")
    with socket.socket() as sock:        # a port nobody listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    offline = f"http://127.0.0.1:{port}/simple"
    with pytest.raises(UsageError, match="cannot reach the package index"):
        DownstreamIndex([offline], cache=tmp_path / "cache", timeout=5).versions("mmdet")
    local = (tmp_path / "empty").as_uri()     # a local extra index without mmdet cannot say it does not exist
    with pytest.raises(UsageError, match="cannot reach the package index"):
        DownstreamIndex([offline, local], cache=tmp_path / "cache", timeout=5).versions("mmdet")


def test_a_download_command_replaces_the_direct_fetch(tmp_path):
    url = _index(tmp_path / "index")
    wheel = tmp_path / "index" / "files" / "mmdet-3.3.0-py3-none-any.whl"
    command = ["sh", "-c", f'cp {wheel} "$2"', "download"]   # then: --dest DIR NAME==VERSION ($1 $2 $3)
    index = DownstreamIndex([url], cache=tmp_path / "cache", download_command=command)
    assert index.bounds("mmdet", "3.3.0").mmcv == "<2.2.0,>=2.0.0rc4"


def test_without_pip_the_indexes_come_from_uvs_variables(tmp_path):
    no_pip = str(tmp_path / "bin" / "python")        # not there: as a Python without pip, pip config fails
    assert configured_indexes(no_pip, fallback=None, environ={}) == [PYPI]
    environ = {"UV_DEFAULT_INDEX": "https://mirror.example/simple", "UV_INDEX": "https://extra.example/simple"}
    assert configured_indexes(no_pip, fallback=None, environ=environ) == [
        "https://mirror.example/simple", "https://extra.example/simple"]


def test_files_the_target_python_cannot_install_are_left_out(tmp_path):
    url = _index(tmp_path / "index")
    page = tmp_path / "index" / "simple" / "mmdet" / "index.html"
    page.write_text(page.read_text().replace("<a href", '<a data-requires-python="&gt;=3.12" href', 1))
    with pytest.raises(UsageError, match="no release of mmdet installs on Python 3.11.7"):
        DownstreamIndex([url], cache=tmp_path / "c", python_version="3.11.7").versions("mmdet")
    newer = DownstreamIndex([url], cache=tmp_path / "c", python_version="3.12.1")
    assert newer.versions("mmdet") == ["3.3.0"]
