"""Install a built wheel safely: keep the previous mmcv, and put it back if anything fails.

Steps, all with the target Python's installer (install/installer.py: ``python -m pip``, or
``uv pip ... --python <python>`` in an environment uv made or one without pip):

1. Back up every installed mmcv distribution (mmcv, mmcv-full, mmcv-lite, onedl-mmcv): pip keeps no
   wheel of what it installed and an mmcv with ops cannot be rebuilt quickly, so the files
   listed in each distribution's RECORD (importlib.metadata ``files``) are copied into a
   backup folder with a manifest (original path -> backup path).
2. Uninstall those distributions: the others of mmcv/mmcv-full/onedl-mmcv and mmcv-lite
   conflict with the new package (same ``mmcv/`` folder), and a same-name one is replaced.
3. ``pip install <wheel> -c <constraints>``: runtime dependencies come from the index, and
   the constraint file pins the installed torch (``torch==<version>``), so pip never changes
   torch; a dependency that needs another torch makes pip fail instead.
4. First import check in a child process: ``import mmcv; from mmcv import _ext`` (a failure
   is a verify failure, exit 5, with the catalogue id of the import error). A caller whose
   acceptance step starts with the same imports (verify) leaves it out: it costs a torch import.

5. The caller's acceptance step, if any: ``mmbuild install`` runs the verify stage here, so a
   build that fails verification never replaces a working mmcv.

If step 3, 4 or 5 fails, the new distribution is uninstalled and the backed-up files are
copied back, so the previous mmcv is importable again. Dependencies pip added are left in
place (they were compatible with the pinned torch).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mmbuild.diagnose.summary import summarise_failure
from mmbuild.errors import EXIT_INSTALL_FAILED, MmbuildError, VerifyFailedError
from mmbuild.install.installer import installer_for
from mmbuild.model.environment import MMCV_DISTRIBUTIONS
from mmbuild.util.fileio import atomic_write_json
from mmbuild.util.process import run_command

PIP_TIMEOUT_S = 1800.0
IMPORT_CHECK = "import mmcv; from mmcv import _ext; print(mmcv.__version__)"

_LIST_DISTRIBUTIONS = r"""
import json, sys
from importlib import metadata
out = []
for name in sys.argv[1:]:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        continue
    files = [str(dist.locate_file(f)) for f in (dist.files or [])]
    out.append({"name": name, "version": dist.version, "files": files})
print(json.dumps(out))
"""


class InstallFailedError(MmbuildError):
    """pip could not install the new wheel; the previous mmcv was restored."""

    exit_code = EXIT_INSTALL_FAILED


@dataclass
class InstalledDistribution:
    name: str
    version: str
    files: list[str] = field(default_factory=list)


@dataclass
class Backup:
    folder: Path
    distributions: list[InstalledDistribution]
    copies: dict[str, str] = field(default_factory=dict)     # original path -> backup path


@dataclass
class InstallReport:
    wheel: str
    removed: list[str]
    import_output: str              # what the import check printed; empty where it was left out
    restored: bool = False


def installed_mmcv(python: str = sys.executable) -> list[InstalledDistribution]:
    """The mmcv distributions installed for ``python`` (asked in a child process)."""
    return installed_distributions(list(MMCV_DISTRIBUTIONS), python)


def installed_distributions(names: list[str], python: str = sys.executable) -> list[InstalledDistribution]:
    """Those of ``names`` installed for ``python``, with their files (asked in a child process)."""
    if not names:
        return []
    result = run_command([python, "-c", _LIST_DISTRIBUTIONS, *names], timeout=60)
    if not result.ok:
        reason = result.error or result.stderr.strip()
        raise MmbuildError(f"cannot list installed packages of {python}: {reason}")
    return [InstalledDistribution(**d) for d in json.loads(result.stdout)]


def _keep(source: Path, copy: Path) -> None:
    """``copy`` holds ``source``'s bytes: a hard link where both are on one file system (the
    uninstall unlinks the original, so the link keeps them; a third of a second less for mmcv's
    700 files), else a copy."""
    try:
        os.link(source, copy)
    except OSError:
        shutil.copy2(source, copy)


def back_up(distributions: list[InstalledDistribution], folder: Path) -> Backup:
    """Copy every file of ``distributions`` into ``folder`` (with a manifest.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    backup = Backup(folder, distributions)
    for index, dist in enumerate(distributions):
        for number, original in enumerate(dist.files):
            source = Path(original)
            if not source.is_file():
                continue
            copy = folder / f"{index}-{dist.name}" / f"{number}-{source.name}"
            copy.parent.mkdir(parents=True, exist_ok=True)
            _keep(source, copy)
            backup.copies[original] = str(copy)
    atomic_write_json(folder / "manifest.json", {
        "distributions": [d.__dict__ for d in distributions], "copies": backup.copies})
    return backup


def restore(backup: Backup, python: str = sys.executable) -> None:
    """Remove whatever mmcv is installed now and put the backed-up files back."""
    current = installed_mmcv(python)
    if current:
        uninstall([d.name for d in current], python)
    put_back(backup)


def put_back(backup: Backup) -> None:
    """Copy every backed-up file to where it was."""
    for original, copy in backup.copies.items():
        target = Path(original)
        if target.exists() and os.path.samefile(copy, target):
            continue                          # never removed: still the backed-up file itself
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(copy, target)


def uninstall(names: list[str], python: str = sys.executable) -> None:
    if not names:
        return
    installer = installer_for(python)
    result = installer.uninstall(names, timeout=PIP_TIMEOUT_S)
    if not result.ok:
        raise MmbuildError(f"{installer.name} could not uninstall {', '.join(names)}: "
                           f"{installer_tail(result)}")


def installer_tail(result) -> str:
    """The installer's last error line (else its last line) of a failed run."""
    text = result.error or (result.stderr or result.stdout).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "error" in line]
    return (errors or lines or ["(no output)"])[-1].strip()


def pip_install_argv(python: str, wheel: Path, constraints: Path) -> list[str]:
    """The install command of ``python``'s installer, ``wheel`` under ``constraints``."""
    return installer_for(python).install_argv([str(wheel)], constraints)


def install_wheel(wheel: Path, *, work_dir: Path, torch_version: str | None,
                  python: str = sys.executable, import_check: str | None = IMPORT_CHECK,
                  accept: Callable[[], None] | None = None, held: tuple[str, ...] = ()) -> InstallReport:
    """Install ``wheel`` per the module docstring; raises InstallFailedError after restoring.

    ``held``: constraints beside the torch pin (``numpy<2``: what mmcv requires may not move numpy's major).

    ``accept`` runs once the new mmcv imports (the verify stage); if it raises, the previous
    mmcv is restored too, so a build that fails verification never replaces a working one.
    ``import_check`` None: no import check of its own (``accept`` imports mmcv first).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    previous = installed_mmcv(python)
    backup = back_up(previous, work_dir / "previous-mmcv")
    constraints = work_dir / "constraints.txt"
    pins = [f"torch=={torch_version}"] if torch_version else []
    constraints.write_text("".join(f"{c}\n" for c in [*pins, *held]), encoding="utf-8")
    removed = [d.name for d in previous]
    try:
        uninstall(removed, python)
        installer = installer_for(python)
        result = installer.install([str(wheel)], constraints, timeout=PIP_TIMEOUT_S)
        if not result.ok:
            raise InstallFailedError(f"{installer.name} could not install {wheel.name}: "
                                     f"{installer_tail(result)}")
        check = run_command([python, "-c", import_check], timeout=300) if import_check else None
        if check is not None and not check.ok:
            summary = summarise_failure(check.error or check.stderr + check.stdout)
            reason = summary.excerpt or installer_tail(check)
            raise VerifyFailedError(f"the new mmcv does not import: {reason}",
                                    fix=summary.fix, problem_id=summary.problem_id)
        if accept is not None:
            accept()
    except BaseException as exc:
        # Ctrl-C included: whatever stopped the install, the previous mmcv comes back.
        restore(backup, python)
        if not isinstance(exc, MmbuildError):
            raise
        restored = ", ".join(f"{d.name} {d.version}" for d in previous) or "no mmcv (as before)"
        raise type(exc)(f"{exc.message}; restored the previous state: {restored}",
                        fix=exc.fix, problem_id=exc.problem_id) from None
    return InstallReport(str(wheel), removed, check.stdout.strip() if check else "")
