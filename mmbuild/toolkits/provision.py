"""Provisioning a CUDA toolkit into the toolkit store (store.py): from the package index, or from
NVIDIA's redistributable archives (redist.py).

The environment's installer (pip, or uv: install/installer.py) fetches the wheels (hash-checked
downloads; the user's index, proxy and certificate settings apply) with ``--target`` into a partial
folder, or redist.py fetches and checks the archives and merges them there; the home torch's
extension builder takes as CUDA_HOME is assembled in it (lib64, libcudart.so); nvcc must then report
the version asked for; only then is the
partial folder renamed into place. One lock per version: a second mmbuild waits and reuses the
result. Anything that fails removes the partial folder, so no build ever sees half a toolkit.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from mmbuild.errors import UsageError
from mmbuild.install.installer import installer_for
from mmbuild.knowledge.cuda_redist import RedistRelease, base_url, redist_release
from mmbuild.knowledge.cuda_wheels import CompilerWheels, compiler_wheels
from mmbuild.probe.cuda import parse_nvcc_version
from mmbuild.toolkits import redist, store
from mmbuild.util.console import say
from mmbuild.util.fileio import atomic_write_json
from mmbuild.util.process import run_command

PIP_TIMEOUT_S = 1800.0
# The runtime library the extension links with -lcudart; the wheels ship only its versioned name.
_CUDART = "libcudart.so"


class ToolkitFetchError(UsageError):
    """The toolkit could not be provided (offline, refused, no such version, or not on this platform)."""


def provision_toolkit(version: str, python: str, store_dir: Path | None = None, source: str = "index",
                      site_dir: str | None = None, environ: dict[str, str | None] | None = None) -> Path:
    """The home of CUDA ``version`` (major.minor) from the store, provisioning it first if needed.

    ``source`` is "index" (pip, ``python``'s settings) or "redist" (NVIDIA's archives; ``site_dir`` is
    torch's site-packages, whose runtime wheel picks the release; ``environ`` may name a mirror).
    """
    root = store_dir or store.store_root()
    if source == "redist":
        offer, platform_key = _redist_offer(version)
        base = redist.as_url(base_url(environ))
        return _into_store(version, root, lambda partial: _assemble_redist(
            partial, version, redist.assemble(partial, offer, platform_key, base, site_dir)))
    wheels = compiler_wheels(version)
    if wheels is None or not wheels.serves(platform.system(), platform.machine()):
        why = "no table entry" if wheels is None else (
            wheels.missing or f"checked on {' and '.join(wheels.platforms)} only")
        raise ToolkitFetchError(f"the package index has no CUDA {version} compiler ({why})",
                                fix="install a CUDA toolkit and pass --cuda-toolkit DIR")

    def from_index(partial: Path) -> dict:
        _fetch(wheels, version, python, partial)
        return _assemble(partial, wheels, version)
    return _into_store(version, root, from_index)


def _into_store(version: str, root: Path, make: Callable[[Path], dict]) -> Path:
    """The complete toolkit of ``version`` in ``root``, made by ``make(partial)`` (its record) if absent."""
    folder = store.folder_of(version, root)
    with store.locked(version, root):
        store.sweep_partials(root)
        missing = store.missing_parts(folder)
        if not missing:
            return folder / "home"
        if folder.exists():
            say(f"    the CUDA {version} toolkit in {folder} is incomplete ({', '.join(missing)}): "
                "provisioning it again")
            shutil.rmtree(folder)
        partial = root / f".cuda-{version}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        try:
            record = make(partial)
            atomic_write_json(partial / store.RECORD, record)
            os.replace(partial, folder)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return folder / "home"


def _redist_offer(version: str) -> tuple[RedistRelease, str]:
    offer = redist_release(version)
    key = offer.platform_key(platform.system(), platform.machine()) if offer else None
    if offer is None or not offer.releases:
        raise ToolkitFetchError(f"mmbuild knows no CUDA {version} release of NVIDIA's redistributables",
                                fix="pass --cuda-toolkit DIR with an installed CUDA toolkit")
    if key is None:
        raise ToolkitFetchError(f"mmbuild fetches NVIDIA's redistributables for "
                                f"{' and '.join(offer.platforms)} only, not {platform.system()} "
                                f"{platform.machine()}",
                                fix="pass --cuda-toolkit DIR with an installed CUDA toolkit")
    return offer, key


def _assemble_redist(partial: Path, version: str, fetched: dict) -> dict:
    """Complete the merged archives into the CUDA_HOME a build takes; its nvcc must report ``version``."""
    home = partial / "home"
    (home / "lib64").symlink_to("lib")
    targets = home / "targets" / f"{platform.machine()}-linux"   # where nvcc.profile's $(_TARGET_DIR_) points
    targets.mkdir(parents=True)
    (targets / "include").symlink_to("../../include")
    (targets / "lib").symlink_to("../../lib")
    nvcc_lines = _check_nvcc(home, version, "the redistributables")
    return {"version": version, **fetched, "nvcc": nvcc_lines,
            "provisioned": time.strftime("%Y-%m-%dT%H:%M:%S")}


def _check_nvcc(home: Path, version: str, source: str) -> list[str]:
    """nvcc's last version lines; ToolkitFetchError unless it reports ``version`` and the essentials
    are there."""
    result = run_command([str(home / "bin" / "nvcc"), "--version"], timeout=30)
    reported = parse_nvcc_version(result.stdout) if result.ok else None
    if reported != version:
        raise ToolkitFetchError(
            f"the nvcc fetched for CUDA {version} reports {reported or 'no version'}"
            + (f" ({result.error})" if result.error else ""),
            fix="pass --cuda-toolkit DIR with an installed CUDA toolkit")
    missing = [part for part in store.ESSENTIALS if not (home / part).exists()]
    if missing:
        raise ToolkitFetchError(f"the CUDA {version} toolkit from {source} lacks {', '.join(missing)}",
                                fix="pass --cuda-toolkit DIR with an installed CUDA toolkit")
    return result.stdout.strip().splitlines()[-2:]


def _fetch(wheels: CompilerWheels, version: str, python: str, partial: Path) -> None:
    requirement = wheels.requirement_for(version)
    say(f"    fetching {requirement} from the package index ({', '.join(wheels.packages)})")
    installer = installer_for(python)
    argv = installer.install_target_argv([requirement], partial / "site")
    started = time.monotonic()
    result = run_command(argv, timeout=PIP_TIMEOUT_S)
    if not result.ok:
        lines = [line.strip() for line in (result.stdout + "\n" + result.stderr).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR:")]
        errors = errors or [line for line in lines if line.startswith("error:")]      # uv's
        why = result.error or (errors or lines or [f"{installer.name} exited with {result.returncode}"])[-1]
        where = next((line for line in lines if line.startswith("Looking in indexes:")), "")
        why += f" ({where[0].lower()}{where[1:]})" if where else ""
        raise ToolkitFetchError(
            f"could not fetch CUDA {version}'s compiler from the package index: {why}",
            fix=f"{installer.name} needs {requirement} ({', '.join(wheels.packages)}); check the network and "
                f"{installer.name}'s index "
                "settings, or pass --cuda-toolkit DIR with an installed CUDA toolkit")
    say(f"    fetched in {time.monotonic() - started:.0f} s")


def _assemble(partial: Path, wheels: CompilerWheels, version: str) -> dict:
    """Make ``home/`` (a link to the wheels' folder) a CUDA_HOME and check its nvcc; the toolkit's record.

    nvcc finds its tools and libraries relative to its own folder (``bin/..``), so the home is the
    wheels' folder itself, completed with what the wheels leave out: ``lib64`` (where nvcc and
    torch's extension builder look) and the unversioned ``libcudart.so`` the extension links with.
    """
    top = partial / "site" / wheels.layout
    for name in ("bin", "include", "nvvm", "lib"):
        if not (top / name).is_dir():
            raise ToolkitFetchError(f"the CUDA {version} wheels have no {wheels.layout}/{name} folder",
                                    fix="pass --cuda-toolkit DIR with an installed CUDA toolkit")
    (top / "lib64").symlink_to("lib")
    versioned = sorted(p.name for p in (top / "lib").glob(f"{_CUDART}.*"))
    if versioned and not (top / "lib" / _CUDART).exists():
        (top / "lib" / _CUDART).symlink_to(versioned[0])
    home = partial / "home"
    home.symlink_to(os.path.relpath(top, partial))
    nvcc_lines = _check_nvcc(home, version, "the package index")
    return {"version": version, "source": "index", "nvcc": nvcc_lines,
            "requirement": wheels.requirement_for(version), "packages": _installed(partial / "site"),
            "provisioned": time.strftime("%Y-%m-%dT%H:%M:%S")}


def _installed(site: Path) -> dict[str, str]:
    """name -> version of the distributions pip installed (from their .dist-info folder names)."""
    found = {}
    for info in site.glob("*.dist-info"):
        name, _, rest = info.name[: -len(".dist-info")].partition("-")
        found[name.replace("_", "-").lower()] = rest
    return dict(sorted(found.items()))

