"""Lookups over cuda_redist.toml, and the format of NVIDIA's redist manifests.

A manifest, ``redistrib_<release>.json``, holds ``release_date`` (from 12.x also ``release_label``
and ``release_product``) and, per component (``cuda_nvcc``, ...), its ``name``, ``license``,
``version`` and per platform (``linux-x86_64``, ...) the archive's ``relative_path`` under the base
URL, ``sha256``, ``md5`` and ``size`` (bytes, as a string). Each archive holds one top folder,
``<component>-<platform>-<version>-archive/``, with bin/, include/, lib/ ... to merge into one home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mmbuild.knowledge import load_table
from mmbuild.knowledge.versions import release

URL_VARIABLE = "MMBUILD_CUDA_REDIST_URL"   # a site mirror: a URL or a local folder laid out like NVIDIA's


@dataclass(frozen=True)
class RedistRelease:
    """What NVIDIA's redist folder offers for one CUDA major.minor."""

    version: str                    # "12.4"
    releases: list[str]             # its release labels, newest first ("12.4.1", "12.4.0")
    components: list[str]           # what a toolkit is made of
    platforms: dict[str, str]       # "Linux x86_64" -> "linux-x86_64"

    def platform_key(self, system: str, machine: str) -> str | None:
        return self.platforms.get(f"{system} {machine}")

    def serves(self, system: str, machine: str) -> bool:
        return bool(self.releases) and self.platform_key(system, machine) is not None


@dataclass(frozen=True)
class Archive:
    """One component's archive for one platform, as a manifest lists it."""

    component: str
    version: str
    relative_path: str
    sha256: str
    size: int

    @property
    def top(self) -> str:
        """The one folder the archive holds: its file name without ``.tar.xz``."""
        name = self.relative_path.rsplit("/", 1)[-1]
        return name.removesuffix(".tar.xz")


def redist_release(cuda_version: str | None) -> RedistRelease | None:
    """The releases of ``cuda_version``'s major.minor; None for a major the table does not know."""
    parts = release(cuda_version)
    if not parts or len(parts) < 2:
        return None
    table = load_table("cuda_redist")
    row = next((r for r in table["major"] if r["major"] == parts[0]), None)
    if row is None:
        return None
    prefix = f"{parts[0]}.{parts[1]}."
    labels = [label for label in row["releases"] if label.startswith(prefix)]
    newest_first = sorted(labels, key=lambda label: release(label, 3), reverse=True)
    return RedistRelease(f"{parts[0]}.{parts[1]}", newest_first, list(row["components"]),
                         dict(table["platforms"]))


def base_url(environ: dict[str, str | None] | None = None) -> str:
    """The redist folder to fetch from: ``MMBUILD_CUDA_REDIST_URL`` or NVIDIA's (ends with "/")."""
    environ = os.environ if environ is None else environ
    url = environ.get(URL_VARIABLE) or load_table("cuda_redist")["url"]
    return url if url.endswith("/") else url + "/"


def manifest_name(label: str) -> str:
    return f"redistrib_{label}.json"


def manifest_archives(manifest: dict, components: list[str], platform: str) -> list[Archive]:
    """The archives of ``components`` for ``platform``; ValueError naming what the manifest lacks."""
    found = []
    for component in components:
        entry = manifest.get(component)
        if not isinstance(entry, dict):
            raise ValueError(f"no {component}")
        where = entry.get(platform)
        if not isinstance(where, dict):
            raise ValueError(f"no {component} for {platform}")
        try:
            found.append(Archive(component, str(entry["version"]), str(where["relative_path"]),
                                 str(where["sha256"]).lower(), int(where["size"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{component} for {platform} lacks a valid {exc}") from None
        if not found[-1].relative_path.endswith(".tar.xz") or ".." in found[-1].relative_path.split("/"):
            raise ValueError(f"{component}'s archive is not a .tar.xz under the base URL")
    return found


def component_version(manifest: dict, component: str) -> str | None:
    entry = manifest.get(component)
    return str(entry.get("version")) if isinstance(entry, dict) and entry.get("version") else None


# The wheel holding torch's CUDA runtime (libcudart), per CUDA major: its version is the cuda_cudart
# version of the release that matches torch best.
RUNTIME_WHEELS = {11: "nvidia-cuda-runtime-cu11", 12: "nvidia-cuda-runtime-cu12", 13: "nvidia-cuda-runtime"}
