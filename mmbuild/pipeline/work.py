"""The run's private work folder under the cache root: made on first use, removed when the run ends."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from mmbuild.util.cache_dirs import cache_dir, sweep_dead_runs
from mmbuild.util.console import say


class WorkFolder:
    """``<cache>/work/<time>-<pid>``; the folders of runs that died are swept when one is made."""

    def __init__(self) -> None:
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        if self._path is None:
            base = cache_dir("work")
            base.mkdir(parents=True, exist_ok=True)
            for dead in sweep_dead_runs(base):
                say(f"    removed the work folder of a run that died: {dead}")
            self._path = base / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
            self._path.mkdir()
        return self._path

    def remove(self) -> None:
        if self._path is not None:
            shutil.rmtree(self._path, ignore_errors=True)
