"""The files a package index offers for one name, read from its simple page (PEP 503 HTML or
PEP 691 JSON): file name, address, version, hash, yanked. Pure: parses bytes already fetched."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    version: str
    kind: str                      # "wheel" | "sdist"
    yanked: bool = False
    requires_python: str | None = None
    sha256: str | None = None


def parse_simple_page(body: bytes, content_type: str, page_url: str) -> list[IndexFile]:
    """The wheels and sdists of a simple page (other files and unreadable names left out)."""
    if JSON_TYPE in content_type:
        data = json.loads(body.decode("utf-8"))
        rows = [(f["filename"], f.get("url", f["filename"]), bool(f.get("yanked")), f.get("requires-python"),
                 (f.get("hashes") or {}).get("sha256")) for f in data.get("files", [])]
    else:
        parser = _Anchors()
        parser.feed(body.decode("utf-8", errors="replace"))
        rows = parser.rows
    files = []
    for filename, url, yanked, requires_python, sha256 in rows:
        address, fragment = urldefrag(urljoin(page_url, url))
        if sha256 is None and fragment.startswith("sha256="):
            sha256 = fragment.split("=", 1)[1]
        parsed = _version_of(filename)
        if parsed:
            files.append(IndexFile(filename, address, parsed[0], parsed[1], yanked, requires_python, sha256))
    return files


def _version_of(filename: str) -> tuple[str, str] | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1]), "wheel"
        if filename.endswith((".tar.gz", ".zip")):
            return str(parse_sdist_filename(filename)[1]), "sdist"
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


class _Anchors(HTMLParser):
    """(text, href, yanked, requires-python, None) of each ``<a>`` of a PEP 503 page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, bool, str | None, str | None]] = []
        self._open: dict[str, str | None] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open, self._text = dict(attrs), ""

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            attrs = self._open
            href = attrs.get("href") or ""
            name = self._text.strip() or urldefrag(href)[0].rsplit("/", 1)[-1]
            self.rows.append((name, href, "data-yanked" in attrs, attrs.get("data-requires-python"), None))
            self._open = None
