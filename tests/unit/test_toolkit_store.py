"""The toolkit store: what counts as a complete toolkit, leftovers of dead runs, a refusing index."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmbuild.errors import EXIT_USAGE
from mmbuild.toolkits import store
from mmbuild.toolkits.provision import ToolkitFetchError, provision_toolkit


def _complete(folder: Path) -> None:
    (folder / "home").mkdir(parents=True)
    for part in store.ESSENTIALS:
        (folder / "home" / part).parent.mkdir(parents=True, exist_ok=True)
        (folder / "home" / part).write_text("")
    (folder / store.RECORD).write_text('{"version": "13.0"}')


def test_a_toolkit_is_complete_only_with_its_record_and_every_essential_part(tmp_path):
    folder = tmp_path / "cuda-13.0"
    assert store.missing_parts(folder) == [store.RECORD]
    _complete(folder)
    assert store.missing_parts(folder) == []
    (folder / "home" / "bin" / "nvcc").unlink()
    assert store.missing_parts(folder) == ["bin/nvcc"]


def test_partial_folders_of_dead_runs_are_swept_and_a_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = tmp_path / f".cuda-13.0.partial-{dead.pid}"
    live = tmp_path / f".cuda-13.0.partial-{os.getpid()}"
    for folder in (gone, live):
        (folder / "site").mkdir(parents=True)
    assert store.sweep_partials(tmp_path) == [gone]
    assert live.is_dir() and not gone.exists()


def test_an_index_that_refuses_is_exit_2_naming_the_packages_and_leaves_nothing(tmp_path, monkeypatch):
    """pip against an address where nothing listens: one clear error, no folder, no partial left."""
    for name, value in {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_CONFIG_FILE": os.devnull,
                        "PIP_FIND_LINKS": "", "PIP_NO_INDEX": "", "PIP_RETRIES": "0", "PIP_TIMEOUT": "3",
                        "PIP_NO_CACHE_DIR": "1"}.items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    with pytest.raises(ToolkitFetchError) as refused:
        provision_toolkit("13.0", sys.executable, tmp_path)
    error = refused.value
    assert error.exit_code == EXIT_USAGE and "\n" not in error.one_line()
    assert "CUDA 13.0" in error.message and "cuda-toolkit[nvcc,cccl]==13.0.*" in error.fix
    assert "nvidia-cuda-nvcc" in error.fix and "--cuda-toolkit DIR" in error.fix
    assert [p.name for p in tmp_path.iterdir()] == ["cuda-13.0.lock"]
    assert time.monotonic() - started < 120


def test_a_major_without_compiler_wheels_is_refused_before_pip_runs(tmp_path):
    with pytest.raises(ToolkitFetchError, match="no CUDA 12.8 compiler"):
        provision_toolkit("12.8", "/nonexistent/python", tmp_path)
