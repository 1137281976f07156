"""Declarative patch specs: the TOML files under patches/, read into typed data.

A spec names the problem it remedies (a catalogue id), where it applies
(package names, a version range, platforms) and its hunks: a file relative to
the tree root, the text to ``find`` and the text to ``replace`` it with. Specs
are looked up by their ``id`` field, whatever their file name.
"""

from __future__ import annotations

import hashlib
import platform as _platform
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mmbuild.errors import UsageError
from mmbuild.util.shipped_data import patches_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

PLATFORMS = ("linux", "windows", "darwin")


@dataclass(frozen=True)
class Hunk:
    """One text edit in one file. Texts use LF newlines; files may use CRLF."""

    id: str
    file: str
    find: str
    replace: str
    upstream_fixed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """A package and the versions of it a spec applies to."""

    package: str
    versions: SpecifierSet

    def matches(self, package: str, version: str | None) -> bool:
        if canonicalize_name(package) != canonicalize_name(self.package):
            return False
        if version is None:
            return True
        try:
            return self.versions.contains(Version(version), prereleases=True)
        except InvalidVersion:
            return False


@dataclass(frozen=True)
class PatchSpec:
    """A whole patch: what it fixes, where it applies, and its hunks."""

    id: str
    title: str
    remedies: str
    targets: tuple[Target, ...]
    platforms: tuple[str, ...]
    hunks: tuple[Hunk, ...]
    path: Path
    notes: str = ""

    def applies_to(self, package: str, version: str | None, platform: str) -> bool:
        """True for a matching package, version (None: any) and platform."""
        return normalise_platform(platform) in self.platforms and any(
            t.matches(package, version) for t in self.targets)


@dataclass
class SpecIndex:
    """Every spec in a folder tree, by id."""

    specs: dict[str, PatchSpec] = field(default_factory=dict)

    def get(self, patch_id: str) -> PatchSpec:
        try:
            return self.specs[patch_id]
        except KeyError:
            known = ", ".join(sorted(self.specs)) or "none"
            raise UsageError(f"unknown patch id {patch_id!r} (known: {known})") from None


def normalise_platform(name: str) -> str:
    """'Linux', 'linux2', 'win32', 'Windows', 'Darwin' -> 'linux' / 'windows' / 'darwin'."""
    low = name.lower()
    if low.startswith("win") or low in ("nt", "cygwin"):
        return "windows"
    if low.startswith("linux"):
        return "linux"
    if low in ("darwin", "macos", "mac"):
        return "darwin"
    return low


def current_platform() -> str:
    return normalise_platform(_platform.system())


def _bad(path: Path, what: str) -> UsageError:
    return UsageError(f"invalid patch spec {path}: {what}")


def _text(table: dict, key: str, path: Path, *, required: bool = True) -> str:
    value = table.get(key, "" if not required else None)
    if not isinstance(value, str) or (required and not value):
        raise _bad(path, f"'{key}' must be a non-empty string")
    return value


def _parse_hunk(raw: dict, index: int, path: Path) -> Hunk:
    file = _text(raw, "file", path)
    pure = PurePosixPath(file)
    if pure.is_absolute() or ".." in pure.parts or "\\" in file:
        raise _bad(path, f"hunk file {file!r} must be a relative path inside the tree")
    find, replace = _text(raw, "find", path), _text(raw, "replace", path)
    if find == replace:
        raise _bad(path, f"hunk {index}: 'find' and 'replace' are the same text")
    fixed = raw.get("upstream_fixed", [])
    if not isinstance(fixed, list) or not all(isinstance(t, str) and t for t in fixed):
        raise _bad(path, "'upstream_fixed' must be a list of non-empty strings")
    return Hunk(id=str(raw.get("id") or f"hunk-{index + 1}"), file=file, find=find, replace=replace,
                upstream_fixed=tuple(fixed))


def _parse_target(raw: dict, path: Path) -> Target:
    try:
        versions = SpecifierSet(raw.get("versions", ""))
    except InvalidSpecifier as exc:
        raise _bad(path, f"bad version range: {exc}") from None
    return Target(package=_text(raw, "package", path), versions=versions)


def parse_spec(data: dict, path: Path) -> PatchSpec:
    """Build a PatchSpec from a parsed TOML document (validated)."""
    targets = data.get("applies_to")
    if not isinstance(targets, list) or not targets:
        raise _bad(path, "needs at least one [[applies_to]] table")
    platforms = tuple(normalise_platform(p) for p in data.get("platforms", PLATFORMS))
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        raise _bad(path, f"unknown platform(s) {unknown}")
    hunks = data.get("hunks")
    if not isinstance(hunks, list) or not hunks:
        raise _bad(path, "needs at least one [[hunks]] table")
    parsed = tuple(_parse_hunk(h, i, path) for i, h in enumerate(hunks))
    ids = [h.id for h in parsed]
    if len(set(ids)) != len(ids):
        raise _bad(path, "hunk ids must be unique")
    return PatchSpec(
        id=_text(data, "id", path), title=_text(data, "title", path), remedies=_text(data, "remedies", path),
        targets=tuple(_parse_target(t, path) for t in targets), platforms=platforms, hunks=parsed,
        path=path, notes=str(data.get("notes", "")),
    )


def read_spec_file(path: Path) -> PatchSpec:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _bad(path, str(exc)) from None
    return parse_spec(data, path)


def index_specs(specs_dir: Path | None = None) -> SpecIndex:
    """Read every ``*.toml`` under ``specs_dir`` (default: the shipped patches/)."""
    root = Path(specs_dir) if specs_dir is not None else patches_dir()
    index = SpecIndex()
    for path in sorted(root.rglob("*.toml")):
        spec = read_spec_file(path)
        if spec.id in index.specs:
            raise _bad(path, f"duplicate id {spec.id!r} (also in {index.specs[spec.id].path})")
        index.specs[spec.id] = spec
    return index


def load_spec(patch_id: str, specs_dir: Path | None = None) -> PatchSpec:
    """The spec whose ``id`` is ``patch_id``; UsageError when there is none."""
    return index_specs(specs_dir).get(patch_id)


def spec_digest(patch_id: str, specs_dir: Path | None = None) -> str:
    """sha256 of the spec file's bytes (part of a build plan's fingerprint)."""
    return hashlib.sha256(load_spec(patch_id, specs_dir).path.read_bytes()).hexdigest()


def spec_digests(specs_dir: Path | None = None) -> dict[str, str]:
    """:func:`spec_digest` of every spec, by id: what a plan picks its patches' digests from."""
    return {pid: hashlib.sha256(spec.path.read_bytes()).hexdigest()
            for pid, spec in index_specs(specs_dir).specs.items()}
