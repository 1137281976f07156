"""What the package index offers of a downstream package, and what each release declares.

The index is the one the user configured for pip (``pip config list``: index-url and
extra-index-url, from the target Python's pip, else this one's), else uv's variables
(``UV_DEFAULT_INDEX``, ``UV_INDEX``, ``UV_INDEX_URL``, ``UV_EXTRA_INDEX_URL``), else pypi.org.
Versions come from each index's simple page (PEP 691 JSON, or PEP 503 HTML; file:// indexes too).
A release's bounds are read from its real wheel (or sdist where it has no wheel), fetched from the
page's address with its hash checked, or by a download command given by the caller (``pip
download`` or whatever the environment's installer is), and kept as one JSON record per release
under the cache's ``downstream/`` folder. A release whose files cannot be read falls back to the
table (mmbuild/knowledge/downstream.toml).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mmbuild.errors import UsageError
from mmbuild.model.serde import from_dict, to_dict
from mmbuild.model.stack import DownstreamBounds
from mmbuild.stack.archive import read_release
from mmbuild.stack.bounds import bounds_from_texts, table_bounds
from mmbuild.stack.simple_pages import ACCEPT, IndexFile, parse_simple_page
from mmbuild.util.cache_dirs import cache_dir
from mmbuild.util.fileio import atomic_write_json, read_json
from mmbuild.util.process import run_command

PYPI = "https://pypi.org/simple"
RECORD_SCHEMA = 1
_TIMEOUT_S = 60.0
_UV_VARIABLES = ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_INDEX", "UV_EXTRA_INDEX_URL")


class NotOnIndex(LookupError):
    """No configured index has the name."""


class IndexUnreachable(OSError):
    """An index did not answer, and none that answered has the name."""


def configured_indexes(python: str | None = None, *, fallback: str | None = sys.executable,
                       environ: dict[str, str] | None = None) -> list[str]:
    """The index addresses pip (or uv) would use, the main one first (see the module docstring):
    ``python``'s pip config, else ``fallback``'s, else uv's variables in ``environ``."""
    for interpreter in dict.fromkeys(p for p in (python, fallback) if p):
        result = run_command([interpreter, "-m", "pip", "config", "list"], timeout=30)
        if result.ok:
            return indexes_from_pip_config(result.stdout)
    return indexes_from_uv_variables(os.environ if environ is None else environ)


def indexes_from_uv_variables(environ: dict[str, str]) -> list[str]:
    """uv's index variables: the default index (pypi.org if none is set), then the others."""
    urls = {var: environ.get(var, "").split() for var in _UV_VARIABLES}
    main = (urls["UV_DEFAULT_INDEX"] or urls["UV_INDEX_URL"] or [PYPI])[:1]
    return list(dict.fromkeys(main + urls["UV_INDEX"] + urls["UV_EXTRA_INDEX_URL"]))


def indexes_from_pip_config(text: str) -> list[str]:
    """The index-url (pypi.org if none) and extra-index-urls of ``pip config list`` output."""
    main, extra = "", []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        key = key.strip().rsplit(".", 1)[-1]
        values = shlex.split(value)[0].split() if value.strip() else []
        if key == "index-url" and values:
            main = values[0]
        elif key == "extra-index-url":
            extra += values
    return list(dict.fromkeys([main or PYPI, *extra]))


class DownstreamIndex:
    """Versions and bounds of downstream releases, from the configured indexes (module docstring).

    ``python_version``: the target's; files whose Requires-Python excludes it are left out.
    ``download_command``: a command that downloads one distribution into a folder, given as its
    argv before ``--dest DIR NAME==VERSION`` is appended (e.g. ``[python, "-m", "pip", "download",
    "--no-deps"]``); None fetches the file from the index page's address directly (no pip needed).
    """

    def __init__(self, urls: list[str] | None = None, *, cache: Path | None = None,
                 download_command: list[str] | None = None, python_version: str | None = None,
                 timeout: float = _TIMEOUT_S) -> None:
        self.urls = urls or [PYPI]
        self.python_version = python_version
        self.cache = cache or cache_dir("downstream")
        self.download_command = download_command
        self.timeout = timeout
        self._files: dict[str, list[IndexFile]] = {}

    def versions(self, name: str) -> list[str]:
        """Every release of ``name`` that is not yanked, newest first; UsageError when no index has
        it or none answers."""
        offered = [f for f in self.files(name) if not f.yanked and _valid(f.version)]
        versions = {Version(f.version) for f in offered if self._installable(f)}
        if offered and not versions:
            raise UsageError(f"no release of {name} installs on Python {self.python_version} "
                             "(their Requires-Python)",
                             fix="use a Python its releases support")
        return [str(v) for v in sorted(versions, reverse=True)]

    def files(self, name: str) -> list[IndexFile]:
        key = canonicalize_name(name)
        if key not in self._files:
            try:
                self._files[key] = self._read_pages(key)
            except NotOnIndex:
                raise UsageError(f"{name} is not on the package index ({', '.join(self.urls)})",
                                 fix="check the name, e.g. mmdet, mmsegmentation, mmpretrain") from None
            except IndexUnreachable as exc:
                raise UsageError(f"cannot reach the package index to resolve {name}: {exc}",
                                 fix="check the network, or pip's index-url (pip config list)") from None
        return self._files[key]

    def bounds(self, name: str, version: str) -> DownstreamBounds:
        """What ``name`` ``version`` declares (cached record, else its wheel or sdist, else the table)."""
        key = canonicalize_name(name)
        record = self.cache / key / f"{version}.json"
        saved = read_json(record, None)
        if isinstance(saved, dict) and saved.get("schema") == RECORD_SCHEMA:
            return from_dict(DownstreamBounds, saved["bounds"])
        candidates = [f for f in self.files(key)
                      if (f.version == version or _same(f.version, version)) and self._installable(f)]
        if not candidates:
            raise UsageError(f"{name} {version} does not exist on the package index",
                             fix=f"choose one of {', '.join(self.versions(key)[:8])}")
        try:
            bounds = self._read_release(key, version, candidates)
        except (OSError, ValueError, KeyError) as exc:
            fallback = table_bounds(key, version)
            if fallback is None:
                raise UsageError(f"cannot read what {name} {version} requires: {exc}",
                                 fix="check the network and the package index") from None
            return fallback
        atomic_write_json(record, {"schema": RECORD_SCHEMA, "bounds": to_dict(bounds)})
        return bounds

    def _installable(self, file: IndexFile) -> bool:
        """Whether the target Python meets the file's Requires-Python (unknown either way: yes)."""
        if not file.requires_python or not self.python_version:
            return True
        try:
            return SpecifierSet(file.requires_python).contains(self.python_version, prereleases=True)
        except InvalidSpecifier:
            return True

    # -- reading --------------------------------------------------------------------------

    def _read_pages(self, name: str) -> list[IndexFile]:
        files: list[IndexFile] = []
        errors = []
        for url in self.urls:
            page = f"{url.rstrip('/')}/{name}/"
            try:
                body, content_type = self._get_page(page)
            except NotOnIndex:
                continue
            except OSError as exc:
                errors.append(f"{url}: {getattr(exc, 'reason', None) or exc}")
                continue
            files += parse_simple_page(body, content_type, page)
        if not files and errors:        # an index that did not answer may have it
            raise IndexUnreachable("; ".join(errors))
        if not files:
            raise NotOnIndex(name)
        return files

    def _get_page(self, page: str) -> tuple[bytes, str]:
        if page.startswith("file:"):
            html = _local_path(page) / "index.html"
            if not html.is_file():
                raise NotOnIndex(page)
            return html.read_bytes(), "text/html"
        request = urllib.request.Request(page, headers={"Accept": ACCEPT, "User-Agent": "mmbuild"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - index URL
                return response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotOnIndex(page) from None
            raise

    def _read_release(self, name: str, version: str, candidates: list[IndexFile]) -> DownstreamBounds:
        chosen = _preferred_file(candidates)
        with tempfile.TemporaryDirectory(prefix="mmbuild-downstream-") as folder:
            path = self._download(name, version, chosen, Path(folder))
            texts = read_release(path)
        return bounds_from_texts(name, version, texts.requires, texts.init_texts)

    def _download(self, name: str, version: str, chosen: IndexFile, folder: Path) -> Path:
        if self.download_command:
            argv = [*self.download_command, "--dest", str(folder), f"{name}=={version}"]
            result = run_command(argv, timeout=600)
            found = sorted(p for p in folder.iterdir() if p.name.endswith((".whl", ".tar.gz", ".zip")))
            if not result.ok or not found:
                lines = (result.stderr or result.stdout).strip().splitlines()
                raise OSError(result.error or (lines[-1] if lines else "the download failed"))
            return found[0]
        target = folder / chosen.filename
        digest = hashlib.sha256()
        if chosen.url.startswith("file:"):
            shutil.copyfile(_local_path(chosen.url), target)
            digest.update(target.read_bytes())
        else:
            request = urllib.request.Request(chosen.url, headers={"User-Agent": "mmbuild"})
            opened = urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310 - index URL
            with opened as response, target.open("wb") as out:
                for block in iter(lambda: response.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
        if chosen.sha256 and digest.hexdigest() != chosen.sha256:
            raise ValueError(f"{chosen.filename}: sha256 differs from the index's")
        return target


def _local_path(url: str) -> Path:
    """The path of a file:// address."""
    return Path(urllib.request.url2pathname(urlparse(url).path))


def _preferred_file(files: list[IndexFile]) -> IndexFile:
    """A pure-Python wheel, else any wheel, else the sdist: all carry the same texts."""
    return sorted(files, key=lambda f: (f.kind != "wheel", not f.filename.endswith("-none-any.whl"),
                                        f.yanked))[0]


def _valid(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _same(a: str, b: str) -> bool:
    return _valid(a) and _valid(b) and Version(a) == Version(b)
