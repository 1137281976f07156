"""The mmcv source to build: download the sdist through the installer, or use the user's, and extract it.

Order: ``--source DIR`` (a checkout, copied so the user's tree is never modified),
``--source SDIST`` (a .tar.gz), otherwise the plan's ``package==version`` downloaded
with pip into ``<cache>/sdists`` (pip checks the index's hash; the sha256 is recorded). Where uv
is the environment's installer, uv runs that pip (install/installer.py: uv has no download).

mmcv's setup.py imports ``pkg_resources`` (gone from setuptools 82), and ``pip download``
runs it to read the metadata; so the download pins ``setuptools<82`` for pip's build
environment through PIP_CONSTRAINT / PIP_BUILD_CONSTRAINT (onedl-mmcv's ``setuptools>=80`` fits
under it). It does not touch the user's environment.

Extraction refuses absolute member names, ``..`` components, links pointing out of the
tree and device or fifo members (on top of tarfile's ``data`` filter where Python has it);
a truncated or corrupt archive is a usage error (exit 2).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from filelock import FileLock
from packaging.utils import canonicalize_name

from mmbuild.errors import UsageError
from mmbuild.install.installer import installer_for
from mmbuild.knowledge import tomllib  # the one 3.9/3.10 fallback to tomli
from mmbuild.knowledge.mmcv_versions import FORK
from mmbuild.util.cache_dirs import cache_dir, ensure_writable_dir
from mmbuild.util.fileio import sha256_file

DOWNLOAD_TIMEOUT_S = 600
_IGNORED_IN_CHECKOUT = (".git", "build", "dist", "__pycache__", "*.egg-info", "*.so", "*.pyd")


@dataclass
class SourceArchive:
    """An sdist (or a checkout) before extraction, with the digest that goes into the fingerprint."""

    path: Path
    sha256: str
    kind: str                 # "sdist" | "checkout"
    origin: str               # "pypi" | "user"


@dataclass
class SourceTree:
    """An extracted, writable mmcv source tree."""

    root: Path
    package: str
    version: str
    sha256: str


# -- download -------------------------------------------------------------------------------

def sdist_cache_dir() -> Path:
    return cache_dir("sdists")


def _find_sdist(folder: Path, package: str, version: str) -> Path | None:
    """``mmcv-full-1.7.2.tar.gz``, or the PEP 625 name ``onedl_mmcv-2.3.6.tar.gz``."""
    stem = f"{package}-{version}"
    for suffix in (".tar.gz", ".zip"):
        for name in (stem, f"{package.replace('-', '_')}-{version}"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def cached_sdist(package: str, version: str) -> SourceArchive | None:
    """The sdist of ``package==version`` when it is already in the cache (no download)."""
    found = _find_sdist(sdist_cache_dir(), package, version)
    return SourceArchive(found, sha256_file(found), "sdist", "pypi") if found else None


def download_sdist(package: str, version: str, folder: Path | None = None,
                   python: str = sys.executable, *, build_isolation: bool = True) -> SourceArchive:
    """The sdist of ``package==version`` from the package index (cached after the first time).

    pip reads an sdist's metadata by running its setup.py: in an isolated environment by default
    (setuptools<82 there), or with ``build_isolation=False`` in ``python`` itself, for a setup.py
    that imports torch (mmdet's).
    """
    folder = ensure_writable_dir(folder or sdist_cache_dir(), "cache directory")
    with FileLock(str(folder / f".{package}-{version}.lock")):
        found = _find_sdist(folder, package, version)
        if found is None:
            found = _download(package, version, folder, python, build_isolation)
        return SourceArchive(found, sha256_file(found), "sdist", "pypi")


def _download(package: str, version: str, folder: Path, python: str, build_isolation: bool = True) -> Path:
    installer = installer_for(python)       # before anything is made: no installer is a usage error
    staging = folder / f".download-{package}-{version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        constraint = staging / "constraints.txt"
        constraint.write_text("setuptools<82\n", encoding="utf-8")
        env = {"PIP_CONSTRAINT": str(constraint), "PIP_BUILD_CONSTRAINT": str(constraint)}
        result = installer.download(f"{package}=={version}", staging, timeout=DOWNLOAD_TIMEOUT_S, env=env,
                                    build_isolation=build_isolation)
        found = _find_sdist(staging, package, version)
        if not result.ok or found is None:
            tail = (result.error or (result.stderr or result.stdout).strip().splitlines()[-1:] or [""])
            reason = tail if isinstance(tail, str) else tail[0]
            raise UsageError(
                f"could not download the sdist of {package}=={version}: {reason}",
                fix="check the version and the network, or pass --source with a local sdist",
            )
        target = folder / found.name
        os.replace(found, target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# -- user source ----------------------------------------------------------------------------

def tree_digest(root: Path) -> str:
    """sha256 over the relative paths and bytes of every file under ``root`` (build outputs ignored)."""
    digest = hashlib.sha256()
    for path in sorted(_checkout_files(root)):
        rel = path.relative_to(root).as_posix()
        digest.update(rel.encode() + b"\0")
        digest.update(sha256_file(path).encode() + b"\n")
    return digest.hexdigest()


def _checkout_files(root: Path) -> list[Path]:
    ignore = shutil.ignore_patterns(*_IGNORED_IN_CHECKOUT)
    files = []
    for folder, dirs, names in os.walk(root):
        skipped = ignore(folder, dirs + names)
        dirs[:] = sorted(d for d in dirs if d not in skipped)
        files += [Path(folder) / n for n in names if n not in skipped and (Path(folder) / n).is_file()]
    return files


def locate_user_source(source: str) -> SourceArchive:
    """``--source DIR|SDIST``: check it exists and compute its digest."""
    path = Path(source).expanduser().resolve()
    if path.is_dir():
        if not (path / "setup.py").is_file():
            raise UsageError(f"{path} has no setup.py: not an mmcv source checkout")
        return SourceArchive(path, tree_digest(path), "checkout", "user")
    if path.is_file():
        if not path.name.endswith((".tar.gz", ".tgz", ".tar")):
            raise UsageError(f"{path} is not an sdist (.tar.gz expected)")
        return SourceArchive(path, sha256_file(path), "sdist", "user")
    raise UsageError(f"--source {source}: no such file or directory")


# -- extraction -----------------------------------------------------------------------------

def _check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    parts = PurePosixPath(name).parts
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise UsageError(f"refusing to extract an absolute path from the sdist: {name}")
    if ".." in parts or ".." in name.replace("\\", "/").split("/"):
        raise UsageError(f"refusing to extract a path that leaves the tree: {name}")
    if member.isdev() or member.isfifo():
        raise UsageError(f"refusing to extract a device or fifo from the sdist: {name}")
    if member.issym() or member.islnk():
        target = member.linkname
        base = PurePosixPath(name).parent if member.issym() else PurePosixPath()
        resolved = _normalise(base / target)
        if target.startswith("/") or resolved is None:
            raise UsageError(f"refusing to extract a link pointing out of the tree: {name} -> {target}")


def _normalise(path: PurePosixPath) -> PurePosixPath | None:
    """Collapse ``..`` lexically; None when it climbs above the root."""
    out: list[str] = []
    for part in path.parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not out:
                return None
            out.pop()
        else:
            out.append(part)
    return PurePosixPath(*out) if out else PurePosixPath(".")


def safe_extract(archive: Path, dest: Path) -> Path:
    """Extract an sdist into the empty folder ``dest``; returns its single top folder."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()          # reads the whole archive: truncation shows here
            for member in members:
                _check_member(member)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, members=members, filter="data")
            else:  # pragma: no cover - Python without the extraction filters
                tar.extractall(dest, members=members)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, EOFError) and exc.errno is not None:
            raise UsageError(f"cannot extract {archive.name}: {exc.strerror}") from None
        raise UsageError(
            f"{archive.name} is truncated or not a valid sdist ({type(exc).__name__}: {exc})",
            fix="delete it and download again (mmbuild re-downloads a missing sdist)",
        ) from None
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) != 1 or not (tops[0] / "setup.py").is_file():
        raise UsageError(f"{archive.name} does not look like an mmcv sdist (no single folder with setup.py)")
    return tops[0]


def copy_checkout(source: Path, dest: Path) -> Path:
    """Copy a user's checkout (without build outputs) so patches never touch the original."""
    target = dest / source.name
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(*_IGNORED_IN_CHECKOUT))
    return target


# -- identification -------------------------------------------------------------------------

_VERSION_RE = re.compile(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", re.M)
_PKG_NAME_RE = re.compile(r"^Name:\s*(\S+)", re.M)
_PKG_VERSION_RE = re.compile(r"^Version:\s*(\S+)", re.M)


def identify_tree(root: Path) -> tuple[str, str]:
    """(package, version) of an mmcv tree.

    The version: a literal ``__version__`` in mmcv/version.py (mmcv, mmcv-full), else the
    ``Version:`` of PKG-INFO or ``[project] version`` of pyproject.toml (onedl-mmcv's version.py
    asks the installed metadata). The package: the ``Name:`` of PKG-INFO (else the pyproject's
    name) when it is mmcv, mmcv-full or onedl-mmcv; otherwise mmcv's own rule: 1.x builds ops as
    ``mmcv-full``, 2.x as ``mmcv``.
    """
    try:
        text = (root / "mmcv" / "version.py").read_text(encoding="utf-8")
    except OSError:
        raise UsageError(f"{root} is not an mmcv source tree (no mmcv/version.py)") from None
    pkg_info = _read(root / "PKG-INFO")
    project = _pyproject_project(_read(root / "pyproject.toml"))
    literal = _VERSION_RE.search(text)
    from_info = _PKG_VERSION_RE.search(pkg_info)
    version = literal.group(1) if literal else (from_info.group(1) if from_info else project.get("version"))
    if not version:
        raise UsageError(f"{root} is not an mmcv source tree (no version in mmcv/version.py, PKG-INFO "
                         "or pyproject.toml)")
    found = _PKG_NAME_RE.search(pkg_info)
    name = canonicalize_name(found.group(1) if found else project.get("name", ""))
    if name in ("mmcv", "mmcv-full", FORK):
        return name, version
    return ("mmcv-full" if version.startswith("1.") else "mmcv"), version


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _pyproject_project(text: str) -> dict[str, str]:
    """The literal ``name`` and ``version`` of pyproject.toml's ``[project]`` table ({} if none)."""
    try:
        project = tomllib.loads(text).get("project", {})
    except tomllib.TOMLDecodeError:
        return {}
    return {key: project[key] for key in ("name", "version") if isinstance(project.get(key), str)}


def prepare_tree(archive: SourceArchive, work_dir: Path) -> SourceTree:
    """Extract (or copy) ``archive`` into ``work_dir``, a fresh folder of its own."""
    if work_dir.exists() and any(work_dir.iterdir()):
        raise UsageError(f"work directory {work_dir} is not empty")
    if archive.kind == "checkout":
        root = copy_checkout(archive.path, work_dir)
    else:
        root = safe_extract(archive.path, work_dir)
    package, version = identify_tree(root)
    return SourceTree(root, package, version, archive.sha256)
