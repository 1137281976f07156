"""A downstream package's wheel built from its sdist with mmbuild's patches, recording them inside.

download the sdist (cached) -> extract -> apply the patch specs -> ``pip wheel
--no-build-isolation --no-deps`` in the target Python (mmdet's setup.py imports torch, so it
builds where torch is) -> ``<module>/_mmbuild_patches.json`` added to the wheel: the package,
version, sdist sha256 and each patch applied. The version is the release's own, so the
resolver's pins (``mmengine==0.10.7``) still hold.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from email.parser import Parser
from pathlib import Path

from mmbuild import __version__
from mmbuild.errors import BuildFailedError, UsageError
from mmbuild.install.installer import installer_for
from mmbuild.patching import apply_patches, current_platform
from mmbuild.source.sdist import SourceArchive, download_sdist, safe_extract
from mmbuild.util.process import run_command
from mmbuild.wheels.metadata import embed_in_wheel

PATCHES_MEMBER = "_mmbuild_patches.json"
BUILD_TIMEOUT_S = 900
# The import package each distribution installs (where the record goes).
MODULES = {"mmdet": "mmdet", "mmsegmentation": "mmseg", "mmpretrain": "mmpretrain",
           "mmaction2": "mmaction", "mmengine": "mmengine"}


def fetch_sdist(name: str, version: str, python: str) -> SourceArchive:
    """The sdist, read in an isolated build environment first, else in ``python`` (mmdet's
    setup.py imports torch; mmengine's needs the pkg_resources of setuptools < 82)."""
    try:
        return download_sdist(name, version, python=python)
    except UsageError:
        return download_sdist(name, version, python=python, build_isolation=False)


def sdist_requirements(tree: Path) -> list[str]:
    """The unconditional requirements the sdist's egg-info records (``requires.txt`` before its first
    ``[extra]`` section); [] when it records none (mmaction2 1.2.0's sdist was itself made without
    its requirements/, so only a patch knows them)."""
    for path in sorted(tree.glob("*.egg-info/requires.txt")):
        found = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("["):
                break
            if line.strip():
                found.append(line.strip())
        return found
    return []


def wheel_requirements(wheel: Path) -> list[str]:
    """The wheel's ``Requires-Dist`` entries that no extra guards."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(zf.read(name).decode("utf-8", errors="replace"))
    entries = metadata.get_all("Requires-Dist") or []
    return [r for r in entries if ";" not in r or "extra" not in r.split(";", 1)[1]]


def patch_record(name: str, version: str, sdist_sha256: str, patch_ids: list[str]) -> dict:
    """The document stored in the wheel as ``<module>/_mmbuild_patches.json``."""
    return {"schema": 1, "package": name, "version": version, "sdist_sha256": sdist_sha256,
            "patches": list(patch_ids), "mmbuild_version": __version__}


def build_downstream_wheel(name: str, version: str, patch_ids: list[str], *, python: str,
                           work_dir: Path) -> Path:
    """The wheel of ``name==version`` with ``patch_ids`` applied, in ``work_dir/wheel``."""
    module = MODULES.get(name)
    if module is None:
        raise UsageError(f"no patched build is known for {name}")
    archive = fetch_sdist(name, version, python)
    tree = safe_extract(archive.path, Path(work_dir) / "src")
    report = apply_patches(tree, patch_ids, package=name, version=version, platform=current_platform())
    skipped = [h for h in report.hunks if h.status == "not-applicable"]
    if skipped:
        first = skipped[0]
        raise UsageError(f"patch {first.patch} does not apply to {name}=={version} ({first.reason})")
    declared = sdist_requirements(tree)  # before the build rewrites the egg-info
    out = Path(work_dir) / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    argv = installer_for(python).wheel_argv(tree, out)     # pip wheel, or uv build (no isolation either way)
    result = run_command(argv, timeout=BUILD_TIMEOUT_S)
    wheels = sorted(out.glob("*.whl"))
    if not result.ok or len(wheels) != 1:
        tail = (result.error or (result.stderr or result.stdout).strip()).splitlines()[-1:] or ["no wheel"]
        raise BuildFailedError(f"building the patched wheel of {name}=={version} failed: {tail[0][:300]}")
    if declared and not wheel_requirements(wheels[0]):
        raise BuildFailedError(
            f"the wheel built from the sdist of {name}=={version} requires nothing, but the sdist "
            f"records {', '.join(declared)}: its setup.py lost them (a file it reads is not in the sdist)",
            fix="a setup patch that restores the requirements (as mmengine-setup-requirements does)")
    record = patch_record(name, version, archive.sha256, patch_ids)
    embed_in_wheel(wheels[0], f"{module}/{PATCHES_MEMBER}", json.dumps(record, indent=2).encode())
    return wheels[0]
