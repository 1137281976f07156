"""The real mmcv sdists for tests: from $MMBUILD_TEST_SDIST_DIR, else downloaded once.

Downloads go through mmbuild's own source stage into the user cache
(~/.cache/mmbuild/sdists, or $MMBUILD_CACHE_DIR), so repeated runs reuse them.
A failed download fails the test: the suite is meant to exercise real sources.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from mmbuild.errors import MmbuildError
from mmbuild.source.sdist import download_sdist


def configured_sdist(package: str, version: str) -> Path | None:
    """``package-version.tar.gz`` in $MMBUILD_TEST_SDIST_DIR, if it is there."""
    configured = os.environ.get("MMBUILD_TEST_SDIST_DIR")
    if configured:
        for name in (f"{package}-{version}.tar.gz", f"{package.replace('-', '_')}-{version}.tar.gz"):
            if (Path(configured) / name).is_file():
                return Path(configured) / name
    return None


def locate_sdist(package: str, version: str) -> Path:
    """The path of ``package-version.tar.gz``."""
    configured = configured_sdist(package, version)
    if configured:
        return configured
    try:
        return download_sdist(package, version).path
    except MmbuildError as exc:
        pytest.fail(f"the {package}=={version} sdist is needed: {exc.one_line()}")


def extract_sdist(package: str, version: str, dest: Path, *, only: str | None = None) -> Path:
    """Extract the sdist (members containing ``only``, when given) under ``dest``; returns its root."""
    with tarfile.open(locate_sdist(package, version)) as archive:
        members = [m for m in archive.getmembers()
                   if (m.isfile() or m.isdir()) and (only is None or only in m.name)]
        archive.extractall(dest, members=members, filter="data")
    (root,) = dest.iterdir()
    return root
