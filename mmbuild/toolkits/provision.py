"""Provisioning a CUDA toolkit from the package index into the toolkit store (store.py).

The environment's installer (pip, or uv: install/installer.py) fetches the wheels (hash-checked
downloads; the user's index, proxy and certificate settings apply) with ``--target`` into a partial
folder; the home torch's extension builder takes as
CUDA_HOME is assembled beside them; nvcc must then report the version asked for; only then is the
partial folder renamed into place. One lock per version: a second mmbuild waits and reuses the
result. Anything that fails removes the partial folder, so no build ever sees half a toolkit.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from pathlib import Path

from mmbuild.errors import UsageError
from mmbuild.install.installer import installer_for
from mmbuild.knowledge.cuda_wheels import CompilerWheels, compiler_wheels
from mmbuild.probe.cuda import parse_nvcc_version
from mmbuild.toolkits import store
from mmbuild.util.console import say
from mmbuild.util.fileio import atomic_write_json
from mmbuild.util.process import run_command

PIP_TIMEOUT_S = 1800.0
# The runtime library the extension links with -lcudart; the wheels ship only its versioned name.
_CUDART = "libcudart.so"


class ToolkitFetchError(UsageError):
    """The package index could not provide the toolkit (offline, refused, or no such version)."""


def provision_toolkit(version: str, python: str, store_dir: Path | None = None) -> Path:
    """The home of CUDA ``version`` (major.minor) from the store, provisioning it first if needed."""
    wheels = compiler_wheels(version)
    if wheels is None or not wheels.serves(platform.system(), platform.machine()):
        why = "no table entry" if wheels is None else (
            wheels.missing or f"checked on {' and '.join(wheels.platforms)} only")
        raise ToolkitFetchError(f"the package index has no CUDA {version} compiler ({why})",
                                fix="install a CUDA toolkit and pass --cuda-toolkit DIR")
    root = store_dir or store.store_root()
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
            _fetch(wheels, version, python, partial)
            record = _assemble(partial, wheels, version)
            atomic_write_json(partial / store.RECORD, record)
            os.replace(partial, folder)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return folder / "home"


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
    nvcc = home / "bin" / "nvcc"
    result = run_command([str(nvcc), "--version"], timeout=30)
    reported = parse_nvcc_version(result.stdout) if result.ok else None
    if reported != version:
        raise ToolkitFetchError(
            f"the nvcc fetched for CUDA {version} reports {reported or 'no version'}"
            + (f" ({result.error})" if result.error else ""),
            fix="pass --cuda-toolkit DIR with an installed CUDA toolkit")
    missing = [part for part in store.ESSENTIALS if not (home / part).exists()]
    if missing:
        raise ToolkitFetchError(f"the CUDA {version} wheels lack {', '.join(missing)}",
                                fix="pass --cuda-toolkit DIR with an installed CUDA toolkit")
    return {"version": version, "nvcc": result.stdout.strip().splitlines()[-2:],
            "requirement": wheels.requirement_for(version), "packages": _installed(partial / "site"),
            "provisioned": time.strftime("%Y-%m-%dT%H:%M:%S")}


def _installed(site: Path) -> dict[str, str]:
    """name -> version of the distributions pip installed (from their .dist-info folder names)."""
    found = {}
    for info in site.glob("*.dist-info"):
        name, _, rest = info.name[: -len(".dist-info")].partition("-")
        found[name.replace("_", "-").lower()] = rest
    return dict(sorted(found.items()))

