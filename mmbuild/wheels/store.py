"""The wheel store and wheelhouses: built wheels kept by the plan's fingerprint.

Its part of the cache folder (util/cache_dirs.py)::

    wheels/<fingerprint>/<wheel file>     the wheel
    wheels/<fingerprint>/entry.json       fingerprint, wheel name, plan, arches, sha256
    wheels/index.json                     {fingerprint: entry} for people and scripts
    locks/<fingerprint>.lock              held while one mmbuild builds that fingerprint

A wheelhouse (``mmbuild build --out DIR``, ``mmbuild install --wheelhouse DIR``) is a flat
folder of wheels, usable as ``pip install --find-links DIR``, plus ``mmbuild-index.json``
mapping fingerprints to wheel names.

Every write is atomic (``util/fileio.py``), and the
lock on a fingerprint is held from the lookup until the wheel is stored, so two installs
of one fingerprint never build twice: the second waits, then finds the wheel.

A cache that cannot be written is a usage error (exit 2) raised before anything is built,
with the fix of pointing ``MMBUILD_CACHE_DIR`` elsewhere: silently building without a cache
would make every later install a full build.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from mmbuild.util.cache_dirs import cache_root, ensure_writable_dir
from mmbuild.util.console import say
from mmbuild.util.fileio import atomic_copy, atomic_write_json, read_json, sha256_file

INDEX_NAME = "index.json"
WHEELHOUSE_INDEX = "mmbuild-index.json"


@dataclass
class CacheEntry:
    """What the cache and a wheelhouse know about one built wheel."""

    fingerprint: str
    wheel: str                      # file name of the wheel
    sha256: str
    package: str = ""
    version: str = ""
    target: str = ""
    arch_list: list[str] = field(default_factory=list)
    plan: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> CacheEntry:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def intact(wheel: Path, entry: CacheEntry, otherwise: str) -> bool:
    """Whether ``wheel`` is there with the sha256 recorded for it; a damaged one is said, not skipped."""
    if not wheel.is_file():
        return False
    actual = sha256_file(wheel)
    if actual != entry.sha256:
        say(f"    {wheel} fails its sha256 check (recorded {entry.sha256[:16]}, found {actual[:16]}): "
            f"{otherwise}")
        return False
    return True


class WheelStore:
    """Wheels by fingerprint under ``<root>/wheels``; see the module docstring."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else cache_root()
        self.wheels = self.root / "wheels"
        self.locks = self.root / "locks"

    def check_writable(self) -> None:
        ensure_writable_dir(self.wheels, "cache directory")
        ensure_writable_dir(self.locks, "cache directory")

    @contextlib.contextmanager
    def locked(self, fingerprint: str, on_wait: callable | None = None) -> Iterator[None]:
        """Hold the lock of one fingerprint; ``on_wait`` is called once if another holds it."""
        lock = FileLock(self._lock_path(fingerprint))
        try:
            lock.acquire(timeout=0)
        except TimeoutError:
            if on_wait:
                on_wait()
            lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def lookup(self, fingerprint: str) -> tuple[Path, CacheEntry] | None:
        """The cached wheel of ``fingerprint`` when present and intact."""
        folder = self.wheels / fingerprint
        data = read_json(folder / "entry.json", None)
        if not isinstance(data, dict):
            return None
        entry = CacheEntry.from_dict(data)
        wheel = folder / entry.wheel
        return (wheel, entry) if intact(wheel, entry, "building it again") else None

    def remove(self, fingerprint: str) -> bool:
        """Remove one cached wheel and its index line unless a build holds its lock; False when in use."""
        try:
            with FileLock(self._lock_path(fingerprint), timeout=0):
                shutil.rmtree(self.wheels / fingerprint, ignore_errors=True)
        except Timeout:
            return False
        self._update_index(lambda index: index.pop(fingerprint, None))
        return True

    def _lock_path(self, fingerprint: str) -> str:
        return str(self.locks / f"{fingerprint}.lock")

    def _update_index(self, change) -> None:
        """Apply ``change`` to ``wheels/index.json`` under the index lock."""
        with FileLock(str(self.locks / "index.lock")):
            index = read_json(self.wheels / INDEX_NAME, {})
            index = index if isinstance(index, dict) else {}
            change(index)
            atomic_write_json(self.wheels / INDEX_NAME, index)

    def store(self, wheel: Path, entry: CacheEntry) -> Path:
        """Copy ``wheel`` into the cache and record it; returns the cached path."""
        folder = self.wheels / entry.fingerprint
        target = folder / wheel.name
        atomic_copy(wheel, target)
        entry.wheel = wheel.name
        entry.sha256 = sha256_file(target)
        atomic_write_json(folder / "entry.json", entry.to_dict())
        line = {k: v for k, v in entry.to_dict().items() if k != "plan"}
        self._update_index(lambda index: index.update({entry.fingerprint: line}))
        return target


class Wheelhouse:
    """A flat folder of wheels plus ``mmbuild-index.json`` (fingerprint -> entry)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.index_path = self.folder / WHEELHOUSE_INDEX

    def _index(self) -> dict:
        index = read_json(self.index_path, {})
        return index if isinstance(index, dict) else {}

    def lookup(self, fingerprint: str) -> tuple[Path, CacheEntry] | None:
        data = self._index().get(fingerprint)
        if not isinstance(data, dict):
            return None
        entry = CacheEntry.from_dict(data)
        wheel = self.folder / entry.wheel
        return (wheel, entry) if intact(wheel, entry, "not using it") else None

    def add(self, wheel: Path, entry: CacheEntry) -> Path:
        """Copy ``wheel`` in and record it in the index (atomically, under a lock)."""
        ensure_writable_dir(self.folder, "wheelhouse")
        target = self.folder / wheel.name
        with FileLock(str(self.folder / ".mmbuild-index.lock")):
            index = self._index()
            clash = [fp for fp, e in index.items()
                     if isinstance(e, dict) and e.get("wheel") == wheel.name and fp != entry.fingerprint]
            if clash:
                # Same file name, other build: keep both by giving this one its own folder.
                target = self.folder / entry.fingerprint[:16] / wheel.name
            if not target.is_file() or sha256_file(target) != sha256_file(wheel):
                atomic_copy(wheel, target)
            entry.wheel = str(target.relative_to(self.folder))
            entry.sha256 = sha256_file(target)
            index[entry.fingerprint] = entry.to_dict()
            atomic_write_json(self.index_path, index)
        return target
