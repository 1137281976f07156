"""Locate the data folders that ship with mmbuild: patches/ and csrc_tests/.

In a checkout they sit at the top of the tree; in an installed mmbuild they
are packaged as ``mmbuild/_resources/<name>``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # the mmbuild package


def resource_dir(name: str) -> Path:
    """The folder ``name`` ("patches" or "csrc_tests"), installed or in the checkout."""
    for candidate in (_PACKAGE / "_resources" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mmbuild resource folder {name!r} is missing from this installation")


def patches_dir() -> Path:
    return resource_dir("patches")


def csrc_tests_dir() -> Path:
    return resource_dir("csrc_tests")
