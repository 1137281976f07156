"""Install a resolved stack's downstream packages beside the built mmcv, and undo it on failure.

Steps, with the target Python's installer:

1. Note every installed distribution (name and version), and back up the files of those the
   install may replace: the downstream packages, mmengine and the other requested packages, and
   what they declare they require (the same backup as mmcv's, install/wheel.py).
2. Install the pins (``mmdet==3.3.0``, ``mmengine==0.10.7``, a patched downstream wheel where the
   plan patches one) under a constraints file holding the installed torch and the built mmcv at
   their exact versions: the installer may add dependencies but never replace either.
3. The caller's acceptance step (the verify stage: mmcv's ops and the stack checks).

If step 2 or 3 fails, what the install added is uninstalled and what it replaced is put back (from
the backup, else reinstalled at its previous version), then the error is raised: the caller puts the
previous mmcv back in turn.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from mmbuild.errors import MmbuildError
from mmbuild.install.wheel import (
    InstallFailedError,
    back_up,
    installed_distributions,
    installer_tail,
    put_back,
    uninstall,
)
from mmbuild.util.process import run_command

INSTALL_TIMEOUT_S = 3600.0

_LIST_ALL = r"""
import json
from importlib import metadata
out = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if name:
        out[name] = dist.version
print(json.dumps(out))
"""


@dataclass
class StackInstallReport:
    """What the stack install did: the targets it installed and each distribution it changed."""

    targets: list[str]
    constraints: list[str]
    added: dict[str, str] = field(default_factory=dict)            # name -> version
    replaced: dict[str, list[str]] = field(default_factory=dict)   # name -> [before, after]

    def to_dict(self) -> dict:
        return {"targets": self.targets, "constraints": self.constraints, "added": self.added,
                "replaced": self.replaced}


def installed_versions(python: str) -> dict[str, str]:
    """Every distribution installed for ``python``, canonical name -> version."""
    result = run_command([python, "-c", _LIST_ALL], timeout=120)
    if not result.ok:
        reason = result.error or result.stderr.strip()
        raise MmbuildError(f"cannot list installed packages of {python}: {reason}")
    return {canonicalize_name(name): version for name, version in json.loads(result.stdout).items()}


_PYTHON_FILES = r"""
import json
from importlib import metadata
out = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    files = [f for f in (dist.files or []) if f.suffix == ".py" and "__pycache__" not in f.parts]
    if name and files:
        out[name] = [str(dist.locate_file(f)) for f in files]
print(json.dumps(out))
"""


def python_files(python: str) -> dict[str, list[str]]:
    """The Python files each distribution installed for ``python`` records, canonical name -> paths
    (taken before an install: a later pip may drop files another package overwrote from RECORD)."""
    result = run_command([python, "-c", _PYTHON_FILES], timeout=300)
    if not result.ok:
        return {}
    return {canonicalize_name(n): paths for n, paths in json.loads(result.stdout).items()}


def lost_files(recorded: dict[str, list[str]]) -> list[str]:
    """The distributions of ``recorded`` with a recorded file that is no longer there."""
    return sorted(n for n, paths in recorded.items() if any(not Path(p).exists() for p in paths))


def _names_of(requirements: list[str]) -> set[str]:
    names = set()
    for text in requirements:
        try:
            names.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    return names


def install_stack(targets: list[str], *, python: str, work_dir: Path, constraints: list[str],
                  may_replace: list[str], install_argv: Callable[[list[str], Path], list[str]],
                  accept: Callable[[], None] | None = None, reinstall: list[str] = ()) -> StackInstallReport:
    """Install ``targets`` (requirements or wheel paths) under ``constraints``, per the docstring.

    ``may_replace`` names (or requirements) whose installed files are backed up first;
    ``reinstall`` names distributions to uninstall before the install (a patched wheel of the same
    version as the installed release would otherwise be taken as already there);
    ``install_argv(targets, constraints_file)`` is the installer's command line.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    before = installed_versions(python)
    recorded = python_files(python)
    reinstalled = sorted(_names_of(list(reinstall)) & set(before))
    watched = sorted((_names_of(may_replace) & set(before)) | set(reinstalled))
    backup = back_up(installed_distributions(watched, python), work_dir / "previous-stack")
    constraints_file = work_dir / "stack-constraints.txt"
    constraints_file.write_text("".join(f"{c}\n" for c in constraints), encoding="utf-8")
    report = StackInstallReport(targets=list(targets), constraints=list(constraints))
    try:
        uninstall(reinstalled, python)
        result = run_command(install_argv(targets, constraints_file), timeout=INSTALL_TIMEOUT_S)
        if not result.ok:
            raise InstallFailedError(f"could not install {' '.join(Path(t).name for t in targets)}: "
                                     f"{installer_tail(result)}",
                                     fix="check the versions and the network; nothing was changed")
        after = installed_versions(python)
        report.added = {n: v for n, v in after.items() if n not in before}
        report.replaced = {n: [before[n], v] for n, v in after.items()
                           if n in before and (before[n] != v or n in reinstalled)}
        if accept is not None:
            accept()
    except BaseException as exc:
        undone = _undo(before, backup, python, install_argv, work_dir, reinstalled, recorded)
        if not isinstance(exc, MmbuildError):
            raise
        raise type(exc)(f"{exc.message}; undone: {undone}", fix=exc.fix, problem_id=exc.problem_id) from None
    return report


def _undo(before: dict[str, str], backup, python: str, install_argv, work_dir: Path,
          reinstalled: list[str], recorded: dict[str, list[str]]) -> str:
    """Remove what the install added and put back what it replaced; a summary of what was done."""
    after = installed_versions(python)
    added = sorted(n for n in after if n not in before)
    replaced = sorted({n for n in after if n in before and after[n] != before[n]}
                      | {n for n in reinstalled if n in after})
    missing = [n for n in reinstalled if n not in after]   # uninstalled, then the install failed
    replaced = sorted(set(replaced) | set(missing))
    backed_up = {canonicalize_name(d.name) for d in backup.distributions}
    uninstall(added + [n for n in replaced if n in backed_up and n in after], python)
    put_back(backup)
    # Two distributions may install the same files (opencv-python and opencv-contrib-python both
    # own cv2/): removing one that was added takes files of one that was there before with it.
    broken = [n for n in lost_files(recorded) if n in before and n not in replaced]
    again = [n for n in replaced if n not in backed_up] + broken
    failed = ""
    if again:
        pins = [f"{n}=={before[n]}" for n in again]
        empty = work_dir / "no-constraints.txt"
        empty.write_text("", encoding="utf-8")
        argv = [*install_argv(pins, empty), "--force-reinstall", "--no-deps"]
        result = run_command(argv, timeout=INSTALL_TIMEOUT_S)
        if not result.ok:
            failed = (f"could not put back {' '.join(pins)} ({installer_tail(result)}): "
                      f"install {'them' if len(pins) > 1 else 'it'} with pip")
            replaced = [n for n in replaced if n not in again]
            broken = []
    parts = []
    if added:
        parts.append(f"removed {', '.join(added)}")
    if replaced:
        parts.append(f"put back {', '.join(f'{n} {before[n]}' for n in replaced)}")
    if broken:
        shared = ", ".join(f"{n} {before[n]}" for n in broken)
        parts.append(f"reinstalled {shared} (files shared with one removed)")
    if failed:
        parts.append(failed)
    return "; ".join(parts) or "nothing had changed"
