"""A stand-in package index for the stack resolver's unit tests, in the real formats.

Versions come from pypi.org's simple pages (PEP 691 JSON, reduced: tests/fixtures/stack/README.md),
read by the resolver's own page parser; bounds from the real METADATA headers and ``__init__.py``
texts of the releases captured there, read by the resolver's own bounds reader, and for any other
release from the table (mmbuild/knowledge/downstream.toml), as the real index falls back to it.
"""

from __future__ import annotations

from pathlib import Path

from mmbuild.errors import UsageError
from mmbuild.model.stack import DownstreamBounds
from mmbuild.stack.bounds import bounds_from_texts, requires_dist, table_bounds
from mmbuild.stack.simple_pages import JSON_TYPE, parse_simple_page

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stack"


def captured_bounds(name: str, version: str) -> DownstreamBounds | None:
    """The bounds of a release whose texts were captured, read as the real index reads them."""
    metadata = FIXTURES / f"{name}-{version}.METADATA"
    if not metadata.is_file():
        return None
    inits = [p.read_text() for p in sorted(FIXTURES.glob(f"{name}-{version}.*.__init__.py.txt"))]
    return bounds_from_texts(name, version, requires_dist(metadata.read_text()), inits)


class StandInIndex:
    """``versions`` / ``bounds`` as DownstreamIndex answers them; ``extra`` adds releases by hand."""

    def __init__(self, extra: dict[tuple[str, str], DownstreamBounds] | None = None) -> None:
        self.extra = extra or {}
        self.reads: list[tuple[str, str]] = []

    def versions(self, name: str) -> list[str]:
        page = FIXTURES / f"simple-{name}.json"
        added = [v for n, v in self.extra if n == name]
        if not page.is_file() and not added:
            raise UsageError(f"{name} is not on the package index (stand-in)", fix="check the name")
        files = parse_simple_page(page.read_bytes(), JSON_TYPE, f"https://pypi.org/simple/{name}/") \
            if page.is_file() else []
        from packaging.version import Version

        found = {f.version for f in files if not f.yanked} | set(added)
        return [str(v) for v in sorted((Version(v) for v in found), reverse=True)]

    def bounds(self, name: str, version: str) -> DownstreamBounds:
        self.reads.append((name, version))
        found = (self.extra.get((name, version)) or captured_bounds(name, version)
                 or table_bounds(name, version))
        if found is None:
            return DownstreamBounds(name, version, "", "", "", [], [])
        return found
