"""Atomic file writes and digests: the one writer every cache, manifest and patched file goes through.

A write goes to a temporary file in the target's folder and replaces the target with
``os.replace``, so a reader sees the old file or the new one, never a part. The new file keeps the
mode of the file it replaces; a new file gets the mode a plainly created one would (0o666 less the
umask), not the 0o600 of a temporary file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[str]:
    """A temp file beside ``path`` for the caller to fill; it replaces ``path`` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else _new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring)."""
    with replacing(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_json(path: Path, document: object) -> None:
    atomic_write(path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())


def atomic_copy(source: Path, target: Path) -> None:
    """Copy a file so that ``target`` appears complete or not at all."""
    with replacing(target) as tmp:
        shutil.copyfile(source, tmp)


def read_json(path: Path, default: object) -> object:
    """The JSON document at ``path``, or ``default`` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
