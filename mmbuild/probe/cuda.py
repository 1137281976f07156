"""CUDA toolkits: every one on the machine, with its nvcc version and GPU targets.

Detection order (all are reported, in this order, deduplicated by real path):
``CUDA_HOME``, ``CUDA_PATH``, ``CUDA_PATH_V*`` (Windows installers set one per
version), ``nvcc`` on ``PATH``, ``/usr/local/cuda`` and ``/usr/local/cuda-*``, and
conda's toolkit under ``$CONDA_PREFIX``. For each: ``nvcc --version`` and
``nvcc --list-gpu-arch``, each with a timeout; an nvcc that fails or hangs gives
an entry without a version and a finding.

An ``nvcc`` on ``PATH`` may be a wrapper script outside any toolkit; its toolkit
is then read from ``nvcc --dryrun`` (the ``TOP=`` line).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mmbuild.knowledge.cuda_wheels import RECORD
from mmbuild.model.environment import CudaToolkit
from mmbuild.model.findings import Finding, finding
from mmbuild.probe.cuda_headers import locate_headers, toolkit_include_dirs
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


def candidate_homes(environ: dict[str, str], which_nvcc: str | None,
                    usr_local: list[str], platform: str = sys.platform) -> list[tuple[str, str]]:
    """(source, toolkit home) pairs in detection order, before deduplication."""
    found: list[tuple[str, str]] = []
    for name in ("CUDA_HOME", "CUDA_PATH"):
        if environ.get(name):
            found.append((name, environ[name]))
    if platform == "win32":
        versioned = sorted((k for k in environ if k.startswith("CUDA_PATH_V")), reverse=True)
        found.extend((k, environ[k]) for k in versioned if environ[k])
    if which_nvcc:
        found.append(("PATH", str(Path(which_nvcc).parent.parent)))
    found.extend(("/usr/local", d) for d in usr_local)
    if environ.get("CONDA_PREFIX"):
        prefix = environ["CONDA_PREFIX"]
        found.append(("CONDA_PREFIX", os.path.join(prefix, "Library") if platform == "win32" else prefix))
    return found


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


def discover_toolkits(environ: dict[str, str] | None = None,
                      timeout: float = TIMEOUT_S) -> list[tuple[str, str]]:
    """(home, nvcc path) for every toolkit found, deduplicated by the real path of the home."""
    environ = dict(os.environ) if environ is None else environ
    which = shutil.which(NVCC, path=environ.get("PATH"))
    usr_local = sorted(glob.glob("/usr/local/cuda")) + sorted(glob.glob("/usr/local/cuda-*"))
    seen: set[str] = set()
    toolkits = []
    for source, home in candidate_homes(environ, which, usr_local):
        nvcc = _nvcc_in(home)
        if source == "PATH" and which and (nvcc is None or not _looks_like_toolkit(home)):
            real = os.path.realpath(which)
            home = str(Path(real).parent.parent)
            if not _looks_like_toolkit(home):
                home = _resolve_wrapper(which, timeout) or home
            nvcc = _nvcc_in(home) or which
        if nvcc is None:
            continue
        key = os.path.realpath(home)
        if key in seen:
            continue
        seen.add(key)
        toolkits.append((os.path.normpath(home), nvcc))
    return toolkits


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
                        store: Path | None = None) -> tuple[list[CudaToolkit], list[Finding]]:
    """This machine's toolkits, then those in mmbuild's toolkit store (``origin`` "index" or "redist")."""
    found = discover_toolkits(environ, timeout)
    store_prefix = os.path.realpath(store) + os.sep if store else None
    system = [(home, nvcc) for home, nvcc in found
              if not (store_prefix and os.path.realpath(home).startswith(store_prefix))]
    index = provisioned_toolkits(store) if store else []
    pairs = [(*pair, "system") for pair in system] + [(*pair, provisioned_origin(pair[0])) for pair in index]
    if not pairs:
        return [], []
    with ThreadPoolExecutor(max_workers=min(4, len(pairs))) as pool:
        results = list(pool.map(lambda p: probe_toolkit(p[0], p[1], timeout=timeout), pairs))
    for (_, _, origin), (toolkit, _) in zip(pairs, results):
        toolkit.origin = origin
    return [t for t, _ in results], [f for _, fs in results for f in fs]
