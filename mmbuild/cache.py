"""The wheel cache and wheelhouses: built wheels kept by the plan's fingerprint.

Layout of the cache (root: ``$MMBUILD_CACHE_DIR``, else ``$XDG_CACHE_HOME/mmbuild``,
else ``~/.cache/mmbuild``)::

    wheels/<fingerprint>/<wheel file>     the wheel
    wheels/<fingerprint>/entry.json       fingerprint, wheel name, plan, arches, sha256
    wheels/index.json                     {fingerprint: entry} for people and scripts
    locks/<fingerprint>.lock              held while one mmbuild builds that fingerprint
    pch/<key>/                            precompiled torch headers kept between builds (pch_store.py;
                                          ~0.5 GB each, the two most recently used are kept)

A wheelhouse (``mmbuild build --out DIR``, ``mmbuild install --wheelhouse DIR``) is a flat
folder of wheels, usable as ``pip install --find-links DIR``, plus ``mmbuild-index.json``
mapping fingerprints to wheel names.

Every write is atomic (``fileio.py``), and the
lock on a fingerprint is held from the lookup until the wheel is stored, so two installs
of one fingerprint never build twice: the second waits, then finds the wheel.

A cache that cannot be written is a usage error (exit 2) raised before anything is built,
with the fix of pointing ``MMBUILD_CACHE_DIR`` elsewhere: silently building without a cache
would make every later install a full build.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from mmbuild.errors import UsageError
from mmbuild.fileio import atomic_copy, atomic_write_json, read_json, sha256_file

INDEX_NAME = "index.json"
WHEELHOUSE_INDEX = "mmbuild-index.json"


def user_cache_root() -> Path:
    """The root of mmbuild's caches (sdists, wheels, work trees, locks)."""
    override = os.environ.get("MMBUILD_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mmbuild"


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


class WheelCache:
    """Wheels by fingerprint under ``<root>/wheels``; see the module docstring."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else user_cache_root()
        self.wheels = self.root / "wheels"
        self.locks = self.root / "locks"

    def check_writable(self) -> None:
        ensure_writable_dir(self.wheels, "cache directory")
        ensure_writable_dir(self.locks, "cache directory")

    @contextlib.contextmanager
    def locked(self, fingerprint: str, on_wait: callable | None = None) -> Iterator[None]:
        """Hold the lock of one fingerprint; ``on_wait`` is called once if another holds it."""
        lock = FileLock(str(self.locks / f"{fingerprint}.lock"))
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
        if not wheel.is_file() or sha256_file(wheel) != entry.sha256:
            return None
        return wheel, entry

    def store(self, wheel: Path, entry: CacheEntry) -> Path:
        """Copy ``wheel`` into the cache and record it; returns the cached path."""
        folder = self.wheels / entry.fingerprint
        target = folder / wheel.name
        atomic_copy(wheel, target)
        entry.wheel = wheel.name
        entry.sha256 = sha256_file(target)
        atomic_write_json(folder / "entry.json", entry.to_dict())
        with FileLock(str(self.locks / "index.lock")):
            index = read_json(self.wheels / INDEX_NAME, {})
            index = index if isinstance(index, dict) else {}
            index[entry.fingerprint] = {k: v for k, v in entry.to_dict().items() if k != "plan"}
            atomic_write_json(self.wheels / INDEX_NAME, index)
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
        if not wheel.is_file() or sha256_file(wheel) != entry.sha256:
            return None
        return wheel, entry

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
