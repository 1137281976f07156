"""mmbuild's cache folder and what each part of it holds: the one place that says what "cache" means.

Root: ``$MMBUILD_CACHE_DIR``, else ``$XDG_CACHE_HOME/mmbuild``, else ``~/.cache/mmbuild``::

    sdists/   mmcv sdists downloaded from the package index (source/sdist.py)
    wheels/   built wheels by fingerprint: the wheel store (wheels/store.py)
    locks/    one lock per fingerprint, held while it builds (wheels/store.py)
    pch/      precompiled torch headers kept between builds (build/pch_store.py)
    toolkits/ CUDA toolkits fetched from the package index (toolkits/store.py)
    torch/    each torch install's extension build settings (include dirs, ABI), asked once by the
              preflight (build/preflight.py)
    downstream/ what each downstream release (mmdet, mmseg, ...) declares, read from its wheel or
              sdist: one JSON record per release (stack/index.py)
    work/     one run's private folder, removed when the run ends
    logs/     build logs

The compiler cache (ccache or sccache, build/compiler_cache.py) keeps its own folder.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from mmbuild.errors import UsageError

PARTS = ("sdists", "wheels", "locks", "pch", "toolkits", "torch", "downstream", "work", "logs")


def cache_root() -> Path:
    """The root of mmbuild's cache folder."""
    override = os.environ.get("MMBUILD_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mmbuild"


def cache_dir(part: str) -> Path:
    """The folder of one part of the cache (see the module docstring); not created here."""
    if part not in PARTS:
        raise ValueError(f"unknown cache part {part!r}")
    return cache_root() / part


def ensure_writable_dir(path: Path, what: str) -> Path:
    """Create ``path`` if needed and prove it is writable, or raise a UsageError (exit 2)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".mmbuild-write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(
            f"{what} {path} is not writable ({exc.strerror or exc})",
            fix="set MMBUILD_CACHE_DIR to a writable directory" if what == "cache directory"
            else "choose a writable directory",
        ) from None
    return path


WORK_FOLDER = re.compile(r"^\d{8}-\d{6}-(\d+)$")   # <stamp>-<pid>, one per run


def sweep_dead_runs(root: Path, name: re.Pattern[str] = WORK_FOLDER) -> list[Path]:
    """Remove the folders under ``root`` whose ``name`` (group 1: a process id) names a process that is
    gone: what runs killed before their cleanup left. The ones removed."""
    from mmbuild.util.process import pid_alive

    removed = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        match = name.match(folder.name)
        if folder.is_dir() and match and not pid_alive(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
