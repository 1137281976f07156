"""Version helpers shared by the lookups (``packaging`` does the parsing)."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version


def parse_version(text: str | None) -> Version | None:
    """``Version`` of a dotted version string, ignoring local tags (``2.13.0+cpu``); None if unreadable."""
    if not text:
        return None
    try:
        return Version(str(text).split("+", 1)[0].strip())
    except InvalidVersion:
        return None


def optional_version(text: str | None) -> Version | None:
    """``Version(text)`` of a table field that may be absent."""
    return Version(text) if text else None


def release(text: str | None, parts: int = 2) -> tuple[int, ...] | None:
    """The first ``parts`` numbers of a version, padded with zeros: ``release("12.4.1") == (12, 4)``."""
    version = parse_version(text)
    if version is None:
        return None
    numbers = tuple(version.release) + (0,) * parts
    return numbers[:parts]


def last_at_or_below(rows: list[dict], key: str, version: Version) -> dict | None:
    """The row whose ``key`` version is the greatest one not above ``version`` (rows sorted or not)."""
    best: dict | None = None
    best_version: Version | None = None
    for row in rows:
        since = Version(row[key])
        if since <= version and (best_version is None or since > best_version):
            best, best_version = row, since
    return best
