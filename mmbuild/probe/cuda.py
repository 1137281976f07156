"""CUDA toolkits: every one on the machine, where it was found, its nvcc version and GPU targets.

The places looked at, in order, are cuda_places.py's (the variables, every nvcc on ``PATH``,
/usr/local/cuda*, the distribution's package, /opt/cuda, conda, pip); all are reported, in that
order, deduplicated by the real path of the home, each with every label it was found by. For each:
``nvcc --version`` and ``nvcc --list-gpu-arch``, each with a timeout; an nvcc that fails or hangs
gives an entry without a version and a finding.

An ``nvcc`` on ``PATH`` may be a wrapper script outside any toolkit; its toolkit is then the folder
above the file it links to, or is read from ``nvcc --dryrun`` (the ``TOP=`` line).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import site
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mmbuild.knowledge.cuda_wheels import RECORD
from mmbuild.model.environment import CudaToolkit
from mmbuild.model.findings import Finding, finding
from mmbuild.probe.cuda_headers import locate_headers, toolkit_include_dirs
from mmbuild.probe.cuda_places import Place, all_places
from mmbuild.util.process import run_command

TIMEOUT_S = 10.0
NVCC = "nvcc.exe" if sys.platform == "win32" else "nvcc"

_RELEASE = re.compile(r"release (\d+)\.(\d+)")
_ARCH = re.compile(r"\b(?:compute|sm)_(\d+)([a-z]?)\b")
_TOP = re.compile(r"^#\$ TOP=(.+?)\s*$", re.MULTILINE)


def parse_nvcc_version(text: str) -> str | None:
    """``nvcc --version`` -> "13.0" (from "Cuda compilation tools, release 13.0, V13.0.88")."""
    match = _RELEASE.search(text)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def parse_gpu_arch_list(text: str) -> list[str]:
    """``nvcc --list-gpu-arch`` (compute_XX lines) or ``--list-gpu-code`` -> sorted ["sm_75", ...]."""
    arches = {(int(m.group(1)), m.group(2)) for m in _ARCH.finditer(text)}
    return [f"sm_{number}{suffix}" for number, suffix in sorted(arches)]


def parse_dryrun_top(text: str) -> str | None:
    """The toolkit root nvcc runs from, from the ``#$ TOP=...`` line of ``nvcc --dryrun``."""
    match = _TOP.search(text)
    return os.path.normpath(match.group(1)) if match else None


def _nvcc_in(home: str) -> str | None:
    path = os.path.join(home, "bin", NVCC)
    return path if os.path.isfile(path) else None


def _looks_like_toolkit(home: str) -> bool:
    return os.path.isfile(os.path.join(home, "include", "cuda_runtime.h")) or os.path.isdir(
        os.path.join(home, "targets"))


def _resolve_wrapper(nvcc: str, timeout: float) -> str | None:
    """The real toolkit root of an nvcc that is a wrapper script (e.g. /usr/local/bin/nvcc)."""
    result = run_command([nvcc, "--dryrun", "-E", "-x", "cu", "-"], timeout=timeout)
    return parse_dryrun_top(result.stdout + result.stderr)


def _home_of_path_nvcc(place: Place, timeout: float) -> tuple[str, str]:
    """(home, nvcc) of an nvcc found on PATH: its own folder's parent when that is a toolkit
    (``/usr`` for Debian's ``/usr/bin/nvcc``), else that of the file it links to, else ``TOP=``."""
    nvcc = place.nvcc or ""
    if _nvcc_in(place.home) and _looks_like_toolkit(place.home):
        return place.home, _nvcc_in(place.home) or nvcc
    home = str(Path(os.path.realpath(nvcc)).parent.parent)
    if not _looks_like_toolkit(home):
        home = _resolve_wrapper(nvcc, timeout) or home
    return home, _nvcc_in(home) or nvcc


Found = tuple[str, str, list[str]]  # (home, nvcc, found_by labels)


def discover_toolkits(environ: dict[str, str] | None = None, timeout: float = TIMEOUT_S, *,
                      root: str = "/", site_dirs: list[str] | None = None) -> list[Found]:
    """(home, nvcc, found_by labels) of every toolkit found, deduplicated by the real path of the home.

    ``root`` prefixes the fixed places (tests lay out captured trees under it); ``site_dirs`` are the
    site-packages a pip-installed toolkit is looked for in (this Python's by default).
    """
    environ = dict(os.environ) if environ is None else environ
    sites = python_site_dirs() if site_dirs is None else site_dirs
    by_home: dict[str, Found] = {}
    for place in all_places(environ, NVCC, root=root, site_dirs=sites):
        if place.found_by == "PATH":
            home, nvcc = _home_of_path_nvcc(place, timeout)
        else:
            home, nvcc = place.home, _nvcc_in(place.home) or ""
        if not nvcc:
            continue
        key = os.path.realpath(home)
        if key in by_home:
            if place.found_by not in by_home[key][2]:
                by_home[key][2].append(place.found_by)
            continue
        by_home[key] = (os.path.normpath(home), nvcc, [place.found_by])
    return list(by_home.values())


def python_site_dirs() -> list[str]:
    """This Python's site-packages (where ``pip install cuda-toolkit[nvcc]`` puts nvcc)."""
    dirs = [sysconfig.get_paths()["purelib"]]
    with contextlib.suppress(AttributeError):  # a virtualenv's old site.py lacks it
        dirs += site.getsitepackages()
    return list(dict.fromkeys(d for d in dirs if os.path.isdir(d)))


def probe_toolkit(home: str, nvcc: str, timeout: float = TIMEOUT_S) -> tuple[CudaToolkit, list[Finding]]:
    """Version and arch list of one toolkit; a failing or hanging nvcc degrades the entry."""
    findings: list[Finding] = []
    version_run = run_command([nvcc, "--version"], timeout=timeout)
    version = parse_nvcc_version(version_run.stdout) if version_run.ok else None
    if version is None:
        lines = version_run.stderr.strip().splitlines() or ["no version in its output"]
        why = version_run.error or lines[-1]
        findings.append(finding("probe-incomplete", message_key="cuda_version", nvcc=nvcc, why=why))
        return CudaToolkit(home, nvcc, None, []), findings
    arch_run = run_command([nvcc, "--list-gpu-arch"], timeout=timeout)
    arches = parse_gpu_arch_list(arch_run.stdout) if arch_run.ok else []
    if not arches:
        why = arch_run.error or "no architectures in its output (nvcc older than 11.0?)"
        findings.append(finding("probe-incomplete", "info", message_key="gpu_arch_list", nvcc=nvcc, why=why))
    headers = locate_headers(toolkit_include_dirs(home))
    return CudaToolkit(home, nvcc, version, arches, library_headers=headers), findings


def provisioned_toolkits(store: Path) -> list[tuple[str, str]]:
    """(home, nvcc) of the toolkits mmbuild provisioned into ``store`` (toolkits/store.py's layout)."""
    if not store.is_dir():
        return []
    homes = [f / "home" for f in sorted(store.glob("cuda-*")) if (f / RECORD).is_file()]
    return [(str(home), str(home / "bin" / NVCC)) for home in homes if (home / "bin" / NVCC).is_file()]


def provisioned_origin(home: str) -> str:
    """Where a provisioned toolkit came from, as its record says: "index" (also for records that do
    not say) or "redist"."""
    try:
        source = json.loads((Path(home).parent / RECORD).read_text(encoding="utf-8")).get("source")
    except (OSError, ValueError, AttributeError):
        source = None
    return source if source in ("index", "redist") else "index"


def probe_cuda_toolkits(environ: dict[str, str] | None = None, timeout: float = TIMEOUT_S,
                        store: Path | None = None, *, root: str = "/",
                        site_dirs: list[str] | None = None) -> tuple[list[CudaToolkit], list[Finding]]:
    """This machine's toolkits, then those in mmbuild's toolkit store (``origin`` "index" or "redist")."""
    found = discover_toolkits(environ, timeout, root=root, site_dirs=site_dirs)
    store_prefix = os.path.realpath(store) + os.sep if store else None
    system = [entry for entry in found
              if not (store_prefix and os.path.realpath(entry[0]).startswith(store_prefix))]
    index = [(home, nvcc, ["store"]) for home, nvcc in provisioned_toolkits(store)] if store else []
    entries = [(*entry, "system") for entry in system] + [(*entry, provisioned_origin(entry[0]))
                                                          for entry in index]
    if not entries:
        return [], []
    with ThreadPoolExecutor(max_workers=min(4, len(entries))) as pool:
        results = list(pool.map(lambda e: probe_toolkit(e[0], e[1], timeout=timeout), entries))
    for (_, _, found_by, origin), (toolkit, _) in zip(entries, results):
        toolkit.origin, toolkit.found_by = origin, found_by
    return [t for t, _ in results], [f for _, fs in results for f in fs]
