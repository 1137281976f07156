"""Build tools beside the compiler: ninja.

Detection order for ninja: the scripts directory of this Python (where the
``ninja`` distribution installs it), then ``PATH``.
"""

from __future__ import annotations

import os
import re
import shutil
import sysconfig

from mmbuild.model.environment import NinjaInfo
from mmbuild.util.process import run_command

_VERSION = re.compile(r"^\s*(\d+(?:\.\d+)+)")


def parse_ninja_version(text: str) -> str | None:
    """``ninja --version`` -> "1.11.1" (also "1.12.0.git.kitware.jobserver-1" -> "1.12.0")."""
    match = _VERSION.match(text)
    return match.group(1) if match else None


def find_ninja(environ: dict[str, str] | None = None) -> str | None:
    environ = dict(os.environ) if environ is None else environ
    scripts = sysconfig.get_path("scripts")
    return shutil.which("ninja", path=scripts) or shutil.which("ninja", path=environ.get("PATH"))


def probe_ninja(environ: dict[str, str] | None = None, timeout: float = 10.0) -> NinjaInfo | None:
    ninja = find_ninja(environ)
    if ninja is None:
        return None
    result = run_command([ninja, "--version"], timeout=timeout)
    version = parse_ninja_version(result.stdout) if result.ok else None
    return NinjaInfo(version) if version else None
