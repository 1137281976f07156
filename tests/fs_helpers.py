"""File-system helpers shared by tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def read_only_dir(tmp_path: Path) -> Path:
    """A folder nobody can write to: chmod 555, or for root a read-only system folder."""
    if os.geteuid() != 0:
        root = tmp_path / "read-only"
        root.mkdir()
        root.chmod(0o555)
        return root
    if os.access("/sys", os.W_OK) and not Path("/sys").is_mount():
        pytest.skip("no read-only folder available to root here")
    return Path("/sys/mmbuild-cache")
