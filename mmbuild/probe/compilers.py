"""Host C++ compilers: the one a build would use, and every other candidate on PATH.

Detection order for the compiler a build uses: ``CXX``, then ``CC`` (its C++
sibling when it names gcc/clang), then ``c++``, ``g++``, ``clang++`` on PATH.
Candidates: those, plus every ``g++-N`` and ``clang++-N`` on PATH, deduplicated by
real path. Versions: ``-dumpfullversion -dumpversion`` for GCC (one number, also
on GCC < 7 where only ``-dumpversion`` exists), ``--version`` for Clang. The kind
comes from the ``--version`` banner, since ``c++`` and ``g++`` may be Clang.

MSVC is probed on Windows only (:mod:`mmbuild.probe.msvc`).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mmbuild.model.environment import Compiler, Compilers
from mmbuild.model.findings import Finding, finding
from mmbuild.util.process import run_command

TIMEOUT_S = 10.0
DEFAULT_NAMES = ("c++", "g++", "clang++")
_VERSIONED = re.compile(r"^(g\+\+|clang\+\+)-\d+(\.\d+)*$")
_CLANG = re.compile(r"\bclang version (\d+(?:\.\d+)*)")
_GCC_BANNER = re.compile(r"^\S*(?:g\+\+|gcc|c\+\+)\S* \(.*\) (\d+(?:\.\d+)*)", re.MULTILINE)
_DUMPVERSION = re.compile(r"^\s*(\d+(?:\.\d+)*)\s*$")


def parse_dumpversion(text: str) -> str | None:
    """``g++ -dumpfullversion -dumpversion`` -> "12.2.0"."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    match = _DUMPVERSION.match(first)
    return match.group(1) if match else None


def parse_version_banner(text: str) -> tuple[str, str | None] | None:
    """``--version`` banner -> (kind, version): ("clang", "14.0.0") or ("gcc", "12.2.0"); None if neither."""
    match = _CLANG.search(text)
    if match:
        return "clang", match.group(1)
    match = _GCC_BANNER.search(text)
    if match or "Free Software Foundation" in text:
        return "gcc", match.group(1) if match else None
    return None


def cxx_for_cc(cc: str) -> str:
    """The C++ driver beside a C compiler: gcc-12 -> g++-12, clang -> clang++ (others unchanged)."""
    path = Path(cc)
    name = re.sub(r"^(.*?)gcc(-[\d.]+)?$", r"\1g++\2", path.name)
    name = re.sub(r"^(.*?)clang(-[\d.]+)?$", r"\1clang++\2", name)
    return str(path.with_name(name)) if str(path.parent) != "." else name


def versioned_names(path_dirs: list[str]) -> list[str]:
    """Every g++-N / clang++-N file name in the PATH directories."""
    names = set()
    for directory in path_dirs:
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        names.update(e for e in entries if _VERSIONED.match(e))
    return sorted(names)


def probe_compiler(path: str, timeout: float = TIMEOUT_S) -> tuple[Compiler | None, Finding | None]:
    """Kind and version of one compiler executable."""
    banner = run_command([path, "--version"], timeout=timeout)
    if banner.error and banner.returncode is None:
        return None, finding("probe-incomplete", message_key="version", program=path, why=banner.error)
    parsed = parse_version_banner(banner.stdout + banner.stderr)
    if parsed is None:
        first = (banner.stdout or banner.stderr).strip().splitlines()
        return Compiler("unknown", None, path), finding(
            "probe-incomplete", "info", message_key="not_gcc_or_clang", path=path,
            banner=first[0] if first else "no banner")
    kind, version = parsed
    if kind == "gcc":
        dump = run_command([path, "-dumpfullversion", "-dumpversion"], timeout=timeout)
        version = parse_dumpversion(dump.stdout) or version
    return Compiler(kind, version, path), None


def deduplicate(paths: list[str], keep_as_given: set[str] = frozenset(),
                realpath=os.path.realpath) -> list[str]:
    """One path per real file, in first-seen order.

    Each is spelled by the alias named like the real file, else by a versioned alias
    (``c++`` and ``g++`` -> ``g++-12``), else by the first; a path the user set is kept as given.
    """
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(realpath(path), []).append(path)
    chosen = []
    for real, aliases in groups.items():
        if aliases[0] in keep_as_given:
            chosen.append(aliases[0])
            continue
        same_name = [a for a in aliases if os.path.basename(a) == os.path.basename(real)]
        versioned = [a for a in aliases if _VERSIONED.match(os.path.basename(a))]
        chosen.append((same_name or versioned or aliases)[0])
    return chosen


def _resolve(name: str, path_env: str | None) -> str | None:
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    return shutil.which(name, path=path_env)


def probe_compilers(environ: dict[str, str] | None = None,
                    timeout: float = TIMEOUT_S) -> tuple[Compilers, list[Finding]]:
    """The compiler a build would use (``cxx``) and every candidate, with versions."""
    environ = dict(os.environ) if environ is None else environ
    path_env = environ.get("PATH", "")
    findings: list[Finding] = []
    wanted: list[str] = []
    user_set: set[str] = set()
    for var in ("CXX", "CC"):
        value = environ.get(var, "").split()
        if value:
            exe = value[0] if var == "CXX" else cxx_for_cc(value[0])
            resolved = _resolve(exe, path_env)
            if resolved is None:
                findings.append(finding("probe-incomplete", message_key="compiler_variable",
                                        var=var, value=environ[var]))
            else:
                wanted.append(resolved)
                user_set.add(resolved)
    names = list(DEFAULT_NAMES) + versioned_names(path_env.split(os.pathsep))
    wanted += [p for p in (_resolve(n, path_env) for n in names) if p]
    unique = deduplicate(wanted, keep_as_given=user_set)
    if sys.platform == "win32":
        unique = [p for p in unique if not p.lower().endswith("cl.exe")]
    with ThreadPoolExecutor(max_workers=max(1, min(4, len(unique)))) as pool:
        results = list(pool.map(lambda p: probe_compiler(p, timeout), unique))
    candidates = [c for c, _ in results if c is not None]
    findings += [f for _, f in results if f is not None]
    compilers = Compilers(cxx=candidates[0] if candidates else None, candidates=candidates)
    if sys.platform == "win32":
        from mmbuild.probe.msvc import probe_msvc

        compilers.msvc, msvc_findings = probe_msvc(environ, timeout)
        findings += msvc_findings
    return compilers, findings
