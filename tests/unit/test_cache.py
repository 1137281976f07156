"""Wheel cache and wheelhouse: lookups, integrity, atomic index, locking, read-only dirs."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import pytest
from fs_helpers import read_only_dir

from mmbuild.errors import EXIT_USAGE, UsageError
from mmbuild.util.cache_dirs import cache_root
from mmbuild.util.fileio import sha256_file
from mmbuild.wheels.store import CacheEntry, Wheelhouse, WheelStore

FP = "ab" * 32


WHEEL_NAME = "mmcv-2.2.0-cp311-cp311-linux_x86_64.whl"


def _wheel(folder: Path, name: str = WHEEL_NAME, data: bytes = b"wheel") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def test_cache_root_honours_the_override(tmp_path, monkeypatch):
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.delenv("MMBUILD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "mmbuild"


def test_store_then_lookup(tmp_path):
    cache = WheelStore(tmp_path / "cache")
    cache.check_writable()
    assert cache.lookup(FP) is None
    stored = cache.store(_wheel(tmp_path / "dist"), CacheEntry(FP, "", "", package="mmcv", version="2.2.0"))
    wheel, entry = cache.lookup(FP)
    assert wheel == stored and wheel.read_bytes() == b"wheel"
    assert entry.sha256 == sha256_file(wheel) and entry.package == "mmcv"
    index = json.loads((tmp_path / "cache" / "wheels" / "index.json").read_text())
    assert index[FP]["wheel"] == wheel.name
    # Readable by others as a plainly created file would be (a shared cache or wheelhouse).
    umask = os.umask(0)
    os.umask(umask)
    assert wheel.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_damaged_cached_wheel_is_a_miss_and_said_before_the_rebuild(tmp_path, capsys):
    cache = WheelStore(tmp_path / "cache")
    cache.check_writable()
    stored = cache.store(_wheel(tmp_path / "dist"), CacheEntry(FP, "", ""))
    stored.write_bytes(b"truncat")
    assert cache.lookup(FP) is None
    said = capsys.readouterr().err
    assert str(stored) in said and "fails its sha256 check" in said and "building it again" in said



def test_read_only_cache_is_a_usage_error(tmp_path):
    root = read_only_dir(tmp_path)
    try:
        with pytest.raises(UsageError, match="not writable") as err:
            WheelStore(root).check_writable()
        assert err.value.exit_code == EXIT_USAGE
        assert "MMBUILD_CACHE_DIR" in err.value.one_line()
        assert not root.exists() or list(root.iterdir()) == []
    finally:
        if root.is_relative_to(tmp_path):
            root.chmod(0o755)


def _racer(root: str, marker: str, results: str) -> None:
    """One 'install': lock, look up, build (slowly) on a miss, store."""
    cache = WheelStore(Path(root))
    with cache.locked(FP):
        found = cache.lookup(FP)
        if found is None:
            with open(marker, "a") as handle:
                handle.write("built\n")
            time.sleep(1.0)
            dist = Path(root).parent / f"dist-{os.getpid()}"
            found = (cache.store(_wheel(dist, data=b"the wheel"), CacheEntry(FP, "", "")), None)
    with open(results, "a") as handle:
        handle.write(Path(found[0]).read_bytes().decode() + "\n")


def test_two_installs_racing_build_once(tmp_path):
    root, marker, results = tmp_path / "cache", tmp_path / "built.txt", tmp_path / "results.txt"
    WheelStore(root).check_writable()
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_racer, args=(str(root), str(marker), str(results))) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    assert marker.read_text().splitlines() == ["built"]
    assert results.read_text().splitlines() == ["the wheel", "the wheel"]
    leftovers = [p.name for p in (root / "wheels" / FP).iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_lock_reports_waiting(tmp_path):
    cache = WheelStore(tmp_path / "cache")
    cache.check_writable()
    waited = []
    context = multiprocessing.get_context("fork")
    ready = context.Event()

    def holder():
        with cache.locked(FP):
            ready.set()
            time.sleep(0.5)

    proc = context.Process(target=holder)
    proc.start()
    assert ready.wait(10)
    with cache.locked(FP, on_wait=lambda: waited.append(True)):
        pass
    proc.join(10)
    assert waited == [True]


def test_wheelhouse_add_and_lookup(tmp_path):
    house = Wheelhouse(tmp_path / "house")
    wheel = _wheel(tmp_path / "dist")
    placed = house.add(wheel, CacheEntry(FP, "", "", arch_list=["8.0"], plan={"fingerprint": FP}))
    assert placed == tmp_path / "house" / wheel.name
    found, entry = house.lookup(FP)
    assert found == placed and entry.arch_list == ["8.0"] and entry.plan == {"fingerprint": FP}
    assert house.lookup("cd" * 32) is None


def test_wheelhouse_keeps_two_builds_with_one_file_name(tmp_path):
    house = Wheelhouse(tmp_path / "house")
    first = house.add(_wheel(tmp_path / "a", data=b"cpu build"), CacheEntry(FP, "", ""))
    second = house.add(_wheel(tmp_path / "b", data=b"cuda build"), CacheEntry("cd" * 32, "", ""))
    assert first != second
    assert house.lookup(FP)[0].read_bytes() == b"cpu build"
    assert house.lookup("cd" * 32)[0].read_bytes() == b"cuda build"
