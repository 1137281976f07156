"""Microsoft Visual C++ on Windows.

Detection order: ``cl.exe`` on PATH (a developer prompt or vcvars already chose
it), read from its banner; then the newest Visual Studio with the x64 C++ tools
from ``vswhere -latest -products * -requires
Microsoft.VisualStudio.Component.VC.Tools.x86.x64 -format json`` (vswhere lives
in ``%ProgramFiles(x86)%\\Microsoft Visual Studio\\Installer``). The banner gives
the compiler version and ``_MSC_VER``; vswhere gives the Visual Studio version.
"""

from __future__ import annotations

import json
import os
import re
import shutil

from mmbuild.model.environment import MSVC
from mmbuild.model.findings import Finding, finding
from mmbuild.util.process import run_command

VC_TOOLS = "Microsoft.VisualStudio.Component.VC.Tools.x86.x64"
# The banner is localised ("... Version 19.29.30133 for x64", "... 19.29.30133 版"),
# the version number is not.
_CL_VERSION = re.compile(r"\b(1\d)\.(\d{2})\.(\d{5})(?:\.\d+)?\b")


def parse_cl_banner(text: str) -> tuple[str, int] | None:
    """The ``cl`` banner -> ("19.29.30133", 1929)."""
    match = _CL_VERSION.search(text)
    if not match:
        return None
    major, minor, build = match.groups()
    return f"{major}.{minor}.{build}", int(major) * 100 + int(minor)


def parse_vswhere_json(text: str) -> dict | None:
    """vswhere's JSON -> the newest instance as {"vs_version": "16.11", "path": ..., "display_name": ...}."""
    try:
        instances = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(instances, list) or not instances:
        return None

    def version_key(inst: dict) -> tuple[int, ...]:
        parts = str(inst.get("installationVersion", "0")).split(".")
        return tuple(int(p) for p in parts if p.isdigit())

    newest = max((i for i in instances if isinstance(i, dict)), key=version_key, default=None)
    if newest is None:
        return None
    display = (newest.get("catalog") or {}).get("productDisplayVersion")
    installed = str(newest.get("installationVersion", ""))
    vs_version = ".".join(installed.split(".")[:2]) if installed else None
    return {"vs_version": vs_version, "product_version": display or None,
            "path": newest.get("installationPath"), "display_name": newest.get("displayName")}


def vswhere_path(environ: dict[str, str]) -> str | None:
    base = environ.get("ProgramFiles(x86)") or environ.get("ProgramFiles")
    if base:
        candidate = os.path.join(base, "Microsoft Visual Studio", "Installer", "vswhere.exe")
        if os.path.isfile(candidate):
            return candidate
    return shutil.which("vswhere", path=environ.get("PATH"))


def probe_msvc(environ: dict[str, str], timeout: float = 15.0) -> tuple[MSVC | None, list[Finding]]:
    findings: list[Finding] = []
    msvc = MSVC(None, None, None, None)
    cl = shutil.which("cl", path=environ.get("PATH"))
    if cl:
        banner = run_command([cl], timeout=timeout)  # cl prints its banner on stderr
        parsed = parse_cl_banner(banner.stderr + banner.stdout)
        if parsed:
            msvc.version, msvc.msc_ver = parsed
            msvc.path = cl
        else:
            findings.append(finding("probe-incomplete", message_key="version", program=cl,
                                    why=banner.error or "no version in its banner"))
    vswhere = vswhere_path(environ)
    if vswhere:
        result = run_command([vswhere, "-latest", "-products", "*", "-requires", VC_TOOLS, "-format", "json"],
                             timeout=timeout)
        info = parse_vswhere_json(result.stdout) if result.ok else None
        if info:
            msvc.vs_version = info["vs_version"]
            msvc.path = msvc.path or info["path"]
    if msvc.version is None and msvc.vs_version is None:
        return None, findings
    return msvc, findings
