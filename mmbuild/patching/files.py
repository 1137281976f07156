"""File I/O for patching: exact-byte reads, writability checks (writes: ``mmbuild.util.fileio``)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from mmbuild.errors import UsageError


class ReadOnlyTreeError(UsageError):
    """A file or folder to patch cannot be written; nothing was changed."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes) -> str:
    """Bytes to text and back without loss, whatever the encoding."""
    return data.decode("utf-8", errors="surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def _writable_dir(folder: Path) -> bool:
    """True when a file can really be created in ``folder`` (mode bits and mounts)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        fd, name = tempfile.mkstemp(prefix=".mmbuild-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def ensure_writable(paths: list[Path], what: str) -> None:
    """Raise ReadOnlyTreeError naming the first file or folder that cannot be written."""
    for folder in sorted({p.parent for p in paths}):
        probe = folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not _writable_dir(probe):
            raise ReadOnlyTreeError(f"cannot write to {probe} ({what} is read-only); nothing was changed",
                                    fix="run with write access to that folder (e.g. as its owner or an "
                                        "administrator), or patch a writable copy")
    for path in paths:
        if path.exists() and not os.access(path, os.W_OK):
            raise ReadOnlyTreeError(f"{path} is read-only; nothing was changed",
                                    fix="make the file writable or run as its owner")
