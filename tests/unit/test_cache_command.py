"""``mmbuild cache``: sizes per part; prune leaves what a running mmbuild holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from filelock import FileLock

from mmbuild.cli import main


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _fill(root):
    (root / "sdists").mkdir(parents=True)
    (root / "sdists" / "mmcv-2.2.0.tar.gz").write_bytes(b"x" * 1000)
    for version in ("12.8", "13.0"):
        (root / "toolkits" / f"cuda-{version}" / "home").mkdir(parents=True)
        (root / "toolkits" / f"cuda-{version}" / "toolkit.json").write_text("{}")
    (root / "wheels" / "f1").mkdir(parents=True)
    (root / "wheels" / "f1" / "mmcv.whl").write_bytes(b"w" * 2000)
    (root / "wheels" / "index.json").write_text(json.dumps({"f1": {"wheel": "mmcv.whl"}, "f2": {}}))
    (root / "locks").mkdir()
    dead = root / "work" / f"20261130-000000-{_dead_pid()}"
    live = root / "work" / f"20261130-000001-{os.getpid()}"
    for folder in (dead, live):
        folder.mkdir(parents=True)
    return dead, live


def test_list_counts_entries_and_bytes_per_part(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(tmp_path))
    _fill(tmp_path)
    assert main(["cache", "--json"]) == 0
    parts = {row["part"]: row for row in json.loads(capsys.readouterr().out)["parts"]}
    assert parts["sdists"]["bytes"] == 1000 and parts["wheels"]["entries"] == 1
    assert parts["toolkits"]["entries"] == 2 and parts["work"]["entries"] == 2


def test_prune_leaves_what_is_in_use_and_updates_the_wheel_index(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(tmp_path))
    dead, live = _fill(tmp_path)
    with FileLock(str(tmp_path / "toolkits" / "cuda-13.0.lock")):
        assert main(["cache", "prune", "toolkits", "wheels", "work", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [os.path.basename(p) for p in report["removed"]["toolkits"]] == ["cuda-12.8"]
    assert [os.path.basename(p) for p in report["in_use"]["toolkits"]] == ["cuda-13.0"]
    assert (tmp_path / "toolkits" / "cuda-13.0").is_dir()
    assert not (tmp_path / "toolkits" / "cuda-12.8").exists()
    assert report["removed"]["work"] == [str(dead)] and live.is_dir()
    assert json.loads((tmp_path / "wheels" / "index.json").read_text()) == {"f2": {}}
    assert (tmp_path / "sdists" / "mmcv-2.2.0.tar.gz").is_file()


def test_prune_without_parts_is_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(tmp_path))
    assert main(["cache", "prune"]) == 2
    assert main(["cache", "prune", "everything"]) == 2
    assert "--all" in capsys.readouterr().err
