"""A CUDA toolkit from NVIDIA's redistributable archives, assembled in a partial folder of the store.

The release is the one of the wanted major.minor whose ``cuda_cudart`` is the runtime torch was
installed with (the version of its nvidia-cuda-runtime wheel), else the newest the server holds.
Each archive is streamed to disk with its size and sha256 checked against the manifest before it
is unpacked; the archives' top folders are merged into ``home/`` (bin/, include/, lib/, nvvm/).
The base URL is NVIDIA's or ``MMBUILD_CUDA_REDIST_URL`` (a URL or a local folder). Every failure
is a ToolkitFetchError; the caller (provision.py) removes the partial folder.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import tarfile
import time
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

from mmbuild.errors import UsageError
from mmbuild.knowledge.cuda_redist import (
    RUNTIME_WHEELS,
    Archive,
    RedistRelease,
    component_version,
    manifest_archives,
    manifest_name,
)
from mmbuild.knowledge.versions import release
from mmbuild.util.console import say

TIMEOUT_S = 60.0          # per network operation (connect, each read)
CHUNK = 1 << 20
PROGRESS_EVERY_S = 5.0
FIX = "check the network or set MMBUILD_CUDA_REDIST_URL to a mirror of NVIDIA's redist folder (a URL or " \
      "a local folder), or pass --cuda-toolkit DIR with an installed CUDA toolkit"


class RedistFetchError(UsageError):
    """NVIDIA's redist folder (or its mirror) could not provide the toolkit."""

    def __init__(self, message: str, fix: str = FIX) -> None:
        super().__init__(message, fix=fix)


def as_url(base: str) -> str:
    """A local folder becomes a file:// URL; a URL is kept (both end with "/")."""
    if "://" not in base:
        base = Path(base).expanduser().resolve().as_uri()
    return base if base.endswith("/") else base + "/"


def runtime_version(site_dir: str | Path | None, major: int) -> str | None:
    """The version of the nvidia-cuda-runtime wheel installed in ``site_dir`` (None when there is none)."""
    wanted = RUNTIME_WHEELS.get(major)
    if not site_dir or not wanted:
        return None
    for dist in metadata.distributions(path=[str(site_dir)]):
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name == wanted:
            return dist.version
    return None


def _open(url: str):
    try:
        return urllib.request.urlopen(url, timeout=TIMEOUT_S)  # noqa: S310 - http(s) or file, from config
    except urllib.error.HTTPError as exc:
        raise RedistFetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RedistFetchError(f"could not reach {url}: {reason}") from None


def read_manifest(base: str, label: str) -> dict | None:
    """The manifest of release ``label``; None when the server does not hold it (404, no such file)."""
    url = base + manifest_name(label)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310
            text = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise RedistFetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, FileNotFoundError):
            return None
        raise RedistFetchError(f"could not reach {url}: {exc.reason}") from None
    except OSError as exc:
        raise RedistFetchError(f"could not read {url}: {exc}") from None
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise RedistFetchError(f"{url} is not a redist manifest: {exc}") from None
    if not isinstance(manifest, dict):
        raise RedistFetchError(f"{url} is not a redist manifest")
    return manifest


def choose_release(offer: RedistRelease, base: str, runtime: str | None) -> tuple[str, dict, str]:
    """(label, manifest, why) of the release to fetch: torch's runtime's, else the newest held."""
    newest: tuple[str, dict] | None = None
    for label in offer.releases:
        manifest = read_manifest(base, label)
        if manifest is None:
            continue
        cudart = component_version(manifest, "cuda_cudart")
        if runtime and cudart == runtime:
            return label, manifest, f"its cuda_cudart {cudart} is torch's CUDA runtime"
        if newest is None:
            newest = (label, manifest)
        if not runtime:
            break
    if newest is None:
        raise RedistFetchError(f"{base} holds no CUDA {offer.version} release "
                               f"(looked for {', '.join(manifest_name(r) for r in offer.releases)})")
    why = (f"the newest held; no release's cuda_cudart is torch's runtime {runtime}"
           if runtime else "the newest held; torch's CUDA runtime wheel not found")
    return newest[0], newest[1], why


def download(base: str, archive: Archive, target: Path) -> None:
    """Stream one archive to ``target``, checking its size and sha256; progress every few seconds."""
    url = base + archive.relative_path
    digest, done, last = hashlib.sha256(), 0, time.monotonic()
    label = f"{archive.component} {archive.version}"
    response = _open(url)
    try:
        with response, target.open("wb") as out:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if done > archive.size:
                    break
                if time.monotonic() - last >= PROGRESS_EVERY_S:
                    last = time.monotonic()
                    say(f"    {label}: {done / 2**20:.1f} of {archive.size / 2**20:.1f} MiB")
    except (OSError, http.client.HTTPException) as exc:  # a reset, a timeout, a short body
        raise RedistFetchError(f"{url}: the download broke off after {done} of {archive.size} bytes "
                               f"({type(exc).__name__})") from None
    if done != archive.size:
        raise RedistFetchError(f"{url}: {done} bytes, the manifest says {archive.size}: truncated or changed")
    if digest.hexdigest() != archive.sha256:
        raise RedistFetchError(f"{url}: sha256 {digest.hexdigest()} is not the manifest's {archive.sha256}")


def unpack(path: Path, archive: Archive, home: Path) -> int:
    """Merge the archive's one top folder into ``home``; the number of members unpacked."""
    prefix = archive.top + "/"
    try:
        with tarfile.open(path, "r:xz") as tar:
            members = tar.getmembers()
            strays = [m.name for m in members if m.name != archive.top and not m.name.startswith(prefix)]
            if strays:
                raise RedistFetchError(f"{path.name} holds {strays[0]} outside its folder {archive.top}/")
            kept = []
            for member in members:
                if member.name == archive.top:
                    continue
                member.name = member.name[len(prefix):]
                if member.islnk():
                    member.linkname = member.linkname.removeprefix(prefix)
                kept.append(member)
            _extract(tar, kept, home)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise RedistFetchError(f"{path.name} could not be unpacked: {exc}") from None
    return len(kept)


def _extract(tar: tarfile.TarFile, members: list[tarfile.TarInfo], home: Path) -> None:
    """Unpack with tarfile's "data" filter (no absolute paths, no links or files outside ``home``);
    Pythons without it (before 3.9.17 / 3.10.12 / 3.11.4) get the same path checks here."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(home, members=members, filter="data")
        return
    root = home.resolve()
    for member in members:
        target = (root / member.name).resolve()
        link = (target.parent / member.linkname).resolve() if member.issym() else target
        if root not in (target, *target.parents) or root not in (link, *link.parents):
            raise RedistFetchError(f"{member.name} would be unpacked outside the toolkit's folder")
        if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
            raise RedistFetchError(f"{member.name} is not a file, folder or link")
    tar.extractall(home, members=members)  # noqa: S202 - every member checked above


def assemble(partial: Path, offer: RedistRelease, platform: str, base: str, site_dir: str | None) -> dict:
    """Fetch, check and unpack the release into ``partial/home``; the record's fields."""
    major = (release(offer.version) or (0,))[0]
    runtime = runtime_version(site_dir, major)
    label, manifest, why = choose_release(offer, base, runtime)
    try:
        archives = manifest_archives(manifest, offer.components, platform)
    except ValueError as exc:
        raise RedistFetchError(f"{base}{manifest_name(label)} has {exc}") from None
    total = sum(a.size for a in archives) / 2**20
    say(f"    CUDA {label} from {base}: {', '.join(a.component for a in archives)}, {total:.1f} MiB ({why})")
    downloads, home = partial / "downloads", partial / "home"
    downloads.mkdir(parents=True)
    home.mkdir()
    started = time.monotonic()
    for archive in archives:
        target = downloads / archive.relative_path.rsplit("/", 1)[-1]
        download(base, archive, target)
        unpack(target, archive, home)
        target.unlink()
    shutil.rmtree(downloads)
    say(f"    fetched and unpacked in {time.monotonic() - started:.0f} s")
    return {"source": "redist", "release": label, "url": base, "release_choice": why,
            "components": {a.component: {"version": a.version, "sha256": a.sha256, "size": a.size}
                           for a in archives}}
