"""The target environment's installer: pip, or uv where uv made the environment or pip is missing.

Every command mmbuild runs to install, uninstall, download or build goes through one
:class:`Installer` (``installer_for(python)``), so a venv made by ``uv venv`` (no pip inside)
works like one made by ``python -m venv``, and a conda environment keeps its pip.

Which one (``choose_installer``, pure): ``MMBUILD_INSTALLER=pip|uv`` when set; else uv when the
environment's ``pyvenv.cfg`` has a ``uv = <version>`` line (uv made it) and a uv is found; else pip
when the target Python has it (conda environments, ``python -m venv``, system Pythons); else uv
when one is found; else a usage error naming both fixes.

Settings are the user's own: pip reads its configuration files and ``PIP_*`` variables, uv its
``uv.toml`` / ``[tool.uv]`` and ``UV_*`` variables. uv has no download command, so an sdist is
downloaded by pip run through ``uv tool run`` (pip in uv's tool cache, not in the environment), with
uv's index variables passed on as pip's where pip's are not set.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from mmbuild.errors import UsageError
from mmbuild.util.process import CommandResult, run_command

INSTALL_TIMEOUT_S = 1800.0
INSTALLER_VARIABLE = "MMBUILD_INSTALLER"
KINDS = ("pip", "uv")
_PIP_QUIET = ["--disable-pip-version-check"]
_DOWNLOAD_KINDS = {"sdist": ["--use-pep517", "--no-binary", ":all:"], "wheel": ["--only-binary", ":all:"],
                   "any": []}
# uv's index variables -> pip's (uv separates find-links by commas, the others by spaces).
_UV_TO_PIP = (("UV_DEFAULT_INDEX", "PIP_INDEX_URL", " "), ("UV_INDEX_URL", "PIP_INDEX_URL", " "),
              ("UV_INDEX", "PIP_EXTRA_INDEX_URL", " "), ("UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL", " "),
              ("UV_FIND_LINKS", "PIP_FIND_LINKS", ","))


@dataclass(frozen=True)
class EnvironmentLayout:
    """What decides the installer, read from the target environment (facts, no judgement)."""

    pyvenv_cfg: str | None      # text of <prefix>/pyvenv.cfg, None when there is none
    conda: bool                 # <prefix>/conda-meta exists
    has_pip: bool               # the target Python can import pip
    uv: str | None              # a uv executable found for it, None when none


def made_by_uv(pyvenv_cfg: str | None) -> str | None:
    """The uv version named in ``pyvenv.cfg`` (``uv = 0.13.9``), None when uv did not make it."""
    for line in (pyvenv_cfg or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().lower() == "uv":
            return value.strip() or "unknown"
    return None


def choose_installer(layout: EnvironmentLayout, requested: str | None = None) -> tuple[str, str]:
    """(``"pip"`` or ``"uv"``, why) for an environment; UsageError when neither can serve it."""
    if requested:
        if requested not in KINDS:
            raise UsageError(f"{INSTALLER_VARIABLE}={requested} is not an installer mmbuild knows",
                             fix=f"set it to {' or '.join(KINDS)}, or unset it")
        if requested == "uv" and layout.uv is None:
            raise UsageError(f"{INSTALLER_VARIABLE}=uv but no uv was found", fix=_FIX_UV)
        if requested == "pip" and not layout.has_pip:
            raise UsageError(f"{INSTALLER_VARIABLE}=pip but the target Python has no pip", fix=_FIX_PIP)
        return requested, f"{INSTALLER_VARIABLE}={requested}"
    uv_version = made_by_uv(layout.pyvenv_cfg)
    if uv_version and layout.uv:
        return "uv", f"the environment was made by uv {uv_version}"
    if layout.has_pip:
        where = "a conda environment" if layout.conda else "the environment"
        return "pip", f"{where} has pip"
    if layout.uv:
        return "uv", "the environment has no pip"
    raise UsageError("the target Python has neither pip nor a uv to install with",
                     fix=f"{_FIX_PIP}, or {_FIX_UV}")


_FIX_PIP = "install pip into it (python -m ensurepip)"
_FIX_UV = "put uv on PATH (pip install uv, or uv's standalone installer)"


@dataclass(frozen=True)
class Installer:
    """Runs pip or uv for one target Python; ``name`` is ``"pip"`` or ``"uv"``."""

    name: str
    python: str
    uv: str | None = None
    why: str = ""

    def install(self, args: list[str], constraints: Path | None = None, *,
                timeout: float = INSTALL_TIMEOUT_S, env: dict[str, str] | None = None) -> CommandResult:
        """``pip install`` / ``uv pip install`` of ``args`` (requirements, wheels, options), ``env`` added."""
        return run_command(self.install_argv(args, constraints), timeout=timeout,
                           env={**os.environ, **env} if env else None)

    def install_argv(self, args: list[str], constraints: Path | None = None) -> list[str]:
        extra = ["-c", str(constraints)] if constraints is not None else []
        if self.name == "uv":   # compiled like pip does: no import recompiles mmcv (see probe/torch_probe.py)
            return [self.uv, "pip", "install", "--python", self.python, "--compile-bytecode", *extra, *args]
        return [self.python, "-m", "pip", "install", *_PIP_QUIET, "--no-input", *extra, *args]

    def uninstall(self, names: list[str], *, timeout: float = INSTALL_TIMEOUT_S) -> CommandResult:
        return run_command(self.uninstall_argv(names), timeout=timeout)

    def uninstall_argv(self, names: list[str]) -> list[str]:
        if self.name == "uv":
            return [self.uv, "pip", "uninstall", "--python", self.python, *names]
        return [self.python, "-m", "pip", "uninstall", "-y", *_PIP_QUIET, *names]

    def install_target_argv(self, requirements: list[str], target: Path) -> list[str]:
        """Install into the folder ``target`` (``--target``), not into the environment."""
        if self.name == "uv":
            return [self.uv, "pip", "install", "--python", self.python, "--target", str(target),
                    *requirements]
        return [self.python, "-m", "pip", "install", *_PIP_QUIET, "--no-input", "--progress-bar", "off",
                "--no-warn-script-location", "--target", str(target), *requirements]

    def download_argv(self, requirement: str, dest: Path, kind: str = "sdist", *,
                      build_isolation: bool = True) -> list[str]:
        """Download ``requirement`` (no dependencies) into ``dest``: ``kind`` is sdist, wheel or any.

        pip reads an sdist's metadata by running its setup.py, isolated by default; without isolation
        in the target's own environment (a setup.py that imports torch). uv has no download: it runs
        pip from its tool cache with ``--python <target>``, so that pip works on the target as well.
        """
        isolation = [] if build_isolation else ["--no-build-isolation"]
        args = ["download", *_DOWNLOAD_KINDS[kind], *isolation, "--no-deps", *_PIP_QUIET, "-d", str(dest),
                requirement]
        if self.name == "uv":
            return [self.uv, "tool", "run", "--python", self.python, "--from", "pip", "pip",
                    "--python", self.python, *args]
        return [self.python, "-m", "pip", *args]

    def download(self, requirement: str, dest: Path, *, timeout: float = INSTALL_TIMEOUT_S,
                 env: dict[str, str] | None = None, kind: str = "sdist",
                 build_isolation: bool = True) -> CommandResult:
        """Run :meth:`download_argv` with ``os.environ`` + ``env`` (+ uv's index settings for its pip)."""
        merged = {**os.environ, **(env or {})}
        return run_command(self.download_argv(requirement, dest, kind, build_isolation=build_isolation),
                           timeout=timeout, env=merged if self.name == "pip" else pip_env_from_uv(merged))

    def wheel_argv(self, source: Path, out_dir: Path) -> list[str]:
        """Build ``source`` into a wheel in ``out_dir`` with the target's own packages (no isolation)."""
        if self.name == "uv":
            return [self.uv, "build", "--wheel", "--no-build-isolation", "--python", self.python,
                    "--out-dir", str(out_dir), str(source)]
        return [self.python, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-v", *_PIP_QUIET,
                "-w", str(out_dir), str(source)]

    def describe(self) -> str:
        return f"{self.name} ({self.why})" if self.why else self.name


def pip_env_from_uv(env: dict[str, str]) -> dict[str, str]:
    """``env`` with uv's index variables also given as pip's, for the pip that uv runs (pip's own win)."""
    out = dict(env)
    for uv_name, pip_name, separator in _UV_TO_PIP:
        if not env.get(uv_name) or pip_name in env or pip_name == "PIP_INDEX_URL" and pip_name in out:
            continue
        urls = [_without_index_name(part) for part in env[uv_name].split(separator) if part.strip()]
        out[pip_name] = " ".join([*out.get(pip_name, "").split(), *urls])
    return out


def _without_index_name(entry: str) -> str:
    """``pytorch=https://...`` (a named ``UV_INDEX`` entry) -> ``https://...``; a plain URL or path as is."""
    name, sep, rest = entry.strip().partition("=")
    return rest if sep and "/" not in name and ":" not in name else entry.strip()


def find_uv(python: str) -> str | None:
    """A uv executable: ``$UV`` (set by ``uv run``), beside the target Python, beside mmbuild's, on PATH."""
    candidates = [os.environ.get("UV")]
    for folder in (Path(python).absolute().parent, Path(sys.executable).absolute().parent):
        candidates += [str(folder / "uv"), str(folder / "uv.exe")]
    candidates.append(shutil.which("uv"))
    return next((c for c in candidates if c and os.path.isfile(c) and os.access(c, os.X_OK)), None)


def read_layout(python: str) -> EnvironmentLayout:
    """The facts of ``choose_installer`` for the environment of ``python`` (one child process)."""
    result = run_command([python, "-c", _PROBE], timeout=60)
    if not result.ok:
        raise UsageError(f"cannot run {python}: {result.error or result.stderr.strip()[-200:]}")
    prefix, has_pip = result.stdout.strip().splitlines()[-1].rsplit("|", 1)
    cfg = Path(prefix) / "pyvenv.cfg"
    text = cfg.read_text(encoding="utf-8", errors="replace") if cfg.is_file() else None
    return EnvironmentLayout(text, (Path(prefix) / "conda-meta").is_dir(), has_pip == "1", find_uv(python))


_PROBE = ("import importlib.util, sys; "
          "print(sys.prefix + '|' + ('1' if importlib.util.find_spec('pip') else '0'))")


@functools.lru_cache(maxsize=None)  # noqa: UP033 - functools.cache is 3.9+ too, kept explicit
def _installer_for(python: str, requested: str | None) -> Installer:
    layout = read_layout(python)
    name, why = choose_installer(layout, requested)
    return Installer(name, python, layout.uv if name == "uv" else None, why)


def installer_for(python: str = sys.executable) -> Installer:
    """The installer of ``python``'s environment (asked once per Python and ``MMBUILD_INSTALLER``)."""
    return _installer_for(python, os.environ.get(INSTALLER_VARIABLE) or None)
