"""Installed distributions, the mmcv ranges downstream packages declare, and mmcv's ops.

Nothing here imports the packages it reports on: versions come from
``importlib.metadata``, downstream ranges from the text of the package's
``__init__.py`` (found through the distribution's file list), and the presence of
mmcv's compiled ops from that file list (``mmcv/_ext*.so`` / ``.pyd``).

Downstream packages (the onedl-* forks too: onedl-mmpretrain checks its range in
``mmpretrain/__init__.py``) declare their range in one of two styles::

    mmcv_minimum_version = '2.0.0rc4'      MMCV_MIN = '2.0.0rc4'
    mmcv_maximum_version = '2.2.0'         MMCV_MAX = '2.2.0'

and the mmengine range alike (``mmengine_minimum_version`` / ``MMENGINE_MIN``).
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from mmbuild.model.environment import (
    DOWNSTREAM_PACKAGES,
    MMCV_WITH_OPS,
    TRACKED_PACKAGES,
    DownstreamConstraint,
)
from mmbuild.model.findings import Finding, finding
from mmbuild.probe.files import read_text

# Distribution -> its import package, for the downstream packages that pin mmcv.
IMPORT_NAMES = {"mmdet": "mmdet", "mmsegmentation": "mmseg", "mmaction2": "mmaction",
                "mmpretrain": "mmpretrain", "mmcls": "mmcls", "onedl-mmdetection": "mmdet",
                "onedl-mmsegmentation": "mmseg", "onedl-mmpretrain": "mmpretrain"}
_BOUND = re.compile(
    r"""^\s*(?P<name>(?:mmcv|mmengine)_(?:minimum|min|maximum|max)_version
              |(?:MMCV|MMENGINE)_(?:MINIMUM|MIN|MAXIMUM|MAX)(?:_VERSION)?)
        \s*=\s*['"](?P<value>[^'"]+)['"]""",
    re.MULTILINE | re.VERBOSE,
)
_EXT = re.compile(r"^mmcv/_ext[^/]*\.(so|pyd)$")


def parse_mmcv_bounds(text: str) -> tuple[str | None, str | None]:
    """(minimum, maximum) mmcv version a downstream ``__init__.py`` declares (string literals only)."""
    return parse_version_bounds(text, "mmcv")


def parse_version_bounds(text: str, subject: str) -> tuple[str | None, str | None]:
    """(minimum, maximum) version of ``subject`` ("mmcv" or "mmengine") that a downstream
    ``__init__.py`` checks at import (string literals only), in either style of the module docstring."""
    low = high = None
    for match in _BOUND.finditer(text):
        name = match.group("name").lower()
        if not name.startswith(f"{subject}_"):
            continue
        if "min" in name:
            low = low or match.group("value")
        else:
            high = high or match.group("value")
    return low, high


def has_ext_module(files: list[str]) -> bool:
    """Whether a distribution's file list holds mmcv's compiled ``_ext`` module."""
    return any(_EXT.match(f.replace("\\", "/")) for f in files)


def installed_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
        except Exception:  # noqa: BLE001 - a corrupt dist-info reads as "not installed"
            versions[name] = None
    return versions


def _files(dist_name: str) -> list[tuple[str, Path]]:
    """(relative path, absolute path) of every file a distribution recorded; [] when unknown."""
    try:
        dist = metadata.distribution(dist_name)
        return [(str(f), Path(dist.locate_file(f))) for f in dist.files or []]
    except Exception:  # noqa: BLE001 - missing or corrupt metadata
        return []


def downstream_constraints(versions: dict[str, str | None]) -> list[DownstreamConstraint]:
    """The mmcv range each installed downstream package declares in its ``__init__.py``."""
    constraints = []
    for dist_name in DOWNSTREAM_PACKAGES:
        package = IMPORT_NAMES.get(dist_name)
        version = versions.get(dist_name)
        if package is None or version is None:
            continue
        init = next((p for rel, p in _files(dist_name)
                     if rel.replace("\\", "/") == f"{package}/__init__.py"), None)
        text = read_text(init) if init else None
        if text is None:
            continue
        low, high = parse_mmcv_bounds(text)
        if low or high:
            constraints.append(DownstreamConstraint(dist_name, version, low, high))
    return constraints


def mmcv_findings(versions: dict[str, str | None],
                  files_of=lambda name: [rel for rel, _ in _files(name)]) -> list[Finding]:
    """``mmcv-ops-missing`` (an mmcv without ``_ext``) and ``mmcv-dual-install`` (mmcv-lite beside mmcv).

    Two of mmcv, mmcv-full and onedl-mmcv installed together is reported from the versions alone
    by :mod:`mmbuild.plan.environment_checks`.
    """
    findings = []
    for name in MMCV_WITH_OPS:
        version = versions.get(name)
        if not version:
            continue
        files = files_of(name)
        if files and not has_ext_module(files):
            findings.append(finding("mmcv-ops-missing", "warning", message_key="no_ext_module",
                                    name=name, version=version))
    beside = [name for name in MMCV_WITH_OPS if versions.get(name)]
    if versions.get("mmcv-lite") and beside:
        findings.append(finding("mmcv-dual-install", "error", message_key="lite_beside_ops",
                                others="/".join(beside)))
    return findings
