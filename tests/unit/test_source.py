"""Source stage: safe extraction, truncated sdists, identification, the sdist cache."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from mmbuild.errors import EXIT_USAGE, UsageError
from mmbuild.source import sdist as source

FAKE_TREE = Path(__file__).resolve().parents[1] / "fixtures" / "build" / "fake_mmcv"


def _add_file(tar: tarfile.TarFile, name: str, data: bytes = b"x = 1\n") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _sdist(path: Path, extra=None, top: str = "mmcv-2.2.0") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        _add_file(tar, f"{top}/setup.py", b"print('setup')\n")
        _add_file(tar, f"{top}/PKG-INFO", b"Metadata-Version: 2.1\nName: mmcv\nVersion: 2.2.0\n")
        _add_file(tar, f"{top}/mmcv/version.py", b"__version__ = '2.2.0'\n")
        if extra:
            extra(tar)
    return path


def test_extracts_a_clean_sdist(tmp_path):
    archive = _sdist(tmp_path / "mmcv-2.2.0.tar.gz")
    root = source.safe_extract(archive, tmp_path / "out")
    assert root == tmp_path / "out" / "mmcv-2.2.0"
    assert source.identify_tree(root) == ("mmcv", "2.2.0")


@pytest.mark.parametrize("member", ["../evil.py", "mmcv-2.2.0/../../evil.py", "/etc/evil.py"])
def test_refuses_members_that_leave_the_tree(tmp_path, member):
    archive = _sdist(tmp_path / "bad.tar.gz", lambda tar: _add_file(tar, member))
    with pytest.raises(UsageError) as err:
        source.safe_extract(archive, tmp_path / "out")
    assert err.value.exit_code == EXIT_USAGE
    assert not (tmp_path / "evil.py").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("evil.py"))


def _link(name: str, target: str, kind=tarfile.SYMTYPE):
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = target
        tar.addfile(info)
    return add


@pytest.mark.parametrize("name,target,kind", [
    ("mmcv-2.2.0/link", "../../outside", tarfile.SYMTYPE),
    ("mmcv-2.2.0/link", "/etc/passwd", tarfile.SYMTYPE),
    ("mmcv-2.2.0/hard", "../outside", tarfile.LNKTYPE),
])
def test_refuses_links_out_of_the_tree(tmp_path, name, target, kind):
    archive = _sdist(tmp_path / "bad.tar.gz", _link(name, target, kind))
    with pytest.raises(UsageError, match="link"):
        source.safe_extract(archive, tmp_path / "out")


def test_allows_links_inside_the_tree(tmp_path):
    archive = _sdist(tmp_path / "ok.tar.gz", _link("mmcv-2.2.0/mmcv/alias.py", "version.py"))
    root = source.safe_extract(archive, tmp_path / "out")
    assert (root / "mmcv" / "alias.py").read_text() == "__version__ = '2.2.0'\n"


def test_refuses_device_files(tmp_path):
    def add(tar):
        info = tarfile.TarInfo("mmcv-2.2.0/dev")
        info.type = tarfile.CHRTYPE
        tar.addfile(info)
    archive = _sdist(tmp_path / "bad.tar.gz", add)
    with pytest.raises(UsageError, match="device"):
        source.safe_extract(archive, tmp_path / "out")


def test_truncated_sdist_is_a_usage_error(tmp_path):
    big = b"".join(f"line {i} {'x' * 50}\n".encode() for i in range(20000))
    archive = _sdist(tmp_path / "full.tar.gz", lambda tar: _add_file(tar, "mmcv-2.2.0/big.py", big))
    data = archive.read_bytes()
    truncated = tmp_path / "mmcv-2.2.0.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(UsageError, match="truncated") as err:
        source.safe_extract(truncated, tmp_path / "out")
    assert err.value.exit_code == EXIT_USAGE


def test_identifies_mmcv_full_by_version_without_pkg_info(tmp_path):
    (tmp_path / "mmcv").mkdir()
    (tmp_path / "mmcv" / "version.py").write_text("__version__ = '1.7.2'\n")
    assert source.identify_tree(tmp_path) == ("mmcv-full", "1.7.2")


def test_not_an_mmcv_tree(tmp_path):
    with pytest.raises(UsageError, match="not an mmcv source tree"):
        source.identify_tree(tmp_path)


def test_checkout_is_copied_and_digest_tracks_content(tmp_path):
    archive = source.locate_user_source(str(FAKE_TREE))
    assert archive.kind == "checkout" and len(archive.sha256) == 64
    tree = source.prepare_tree(archive, tmp_path / "work")
    assert tree.root != FAKE_TREE and (tree.root / "setup.py").is_file()
    assert (tree.package, tree.version) == ("mmcv", "2.2.0")
    assert source.tree_digest(tree.root) == archive.sha256
    (tree.root / "mmcv" / "version.py").write_text("__version__ = '2.2.1'\n")
    assert source.tree_digest(tree.root) != archive.sha256


def test_missing_source_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        source.locate_user_source(str(tmp_path / "nope"))


def test_download_reuses_the_cached_sdist(tmp_path, monkeypatch):
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(tmp_path))
    cached = _sdist(tmp_path / "mmcv-2.2.0.tar.gz")
    (tmp_path / "sdists").mkdir()
    cached = cached.rename(tmp_path / "sdists" / cached.name)

    def no_network(*args, **kwargs):
        raise AssertionError("pip download must not run when the sdist is cached")

    monkeypatch.setattr(source, "_download", no_network)
    archive = source.download_sdist("mmcv", "2.2.0")
    assert archive.path == cached
    assert archive.sha256 == source.sha256_file(cached)


def test_download_failure_is_one_clear_line(tmp_path, monkeypatch):
    fake_python = tmp_path / "python"
    fake_python.write_text(
        "#!/bin/sh\necho 'ERROR: No matching distribution found for mmcv==9.9.9' >&2\nexit 1\n")
    fake_python.chmod(0o755)
    with pytest.raises(UsageError, match="No matching distribution") as err:
        source.download_sdist("mmcv", "9.9.9", folder=tmp_path / "sdists", python=str(fake_python))
    assert err.value.exit_code == EXIT_USAGE
    assert not list((tmp_path / "sdists").glob("*.tar.gz"))
