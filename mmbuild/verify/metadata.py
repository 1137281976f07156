"""Build metadata embedded in a built mmcv (``mmcv/_mmbuild.json``) against the running torch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmbuild.verify.report import CheckResult

METADATA_FILE = "_mmbuild.json"


@dataclass
class RuntimeTorch:
    """The torch this process runs: what the compiled ops must match."""

    version: str
    cuda: str | None
    cxx11_abi: bool | None


def read_metadata(mmcv_dir: str | Path) -> dict[str, Any] | None:
    """The embedded metadata, or None when mmcv was installed without mmbuild."""
    path = Path(mmcv_dir) / METADATA_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _release(version: str) -> str:
    """'2.13.0+cu126' -> '2.13.0': the part that fixes torch's C++ ABI."""
    return version.split("+", 1)[0]


def _major_minor(version: str | None) -> str | None:
    return ".".join(version.split(".")[:2]) if version else None


def check_build_vs_runtime(metadata: dict[str, Any] | None, runtime: RuntimeTorch) -> list[CheckResult]:
    """Torch version, CUDA version and C++ ABI the ops were built for vs the running torch."""
    if metadata is None:
        return [CheckResult("build metadata", "abi", "-", "skip",
                            message=f"no mmcv/{METADATA_FILE}: this mmcv was not built by mmbuild")]
    built = metadata.get("torch") or {}
    results = []
    version = built.get("version")
    if version and _release(version) != _release(runtime.version):
        results.append(CheckResult(
            "torch version", "abi", "-", "fail", id="undefined-symbol",
            message=f"ops built for torch {version}, running torch {runtime.version}: rebuild mmcv "
                    "(mmbuild install) for this torch"))
    else:
        results.append(CheckResult("torch version", "abi", "-", "pass",
                                   message=f"built for torch {version or '?'}"))
    built_cuda = built.get("cuda")
    if metadata.get("target") == "cuda" and _major_minor(built_cuda) != _major_minor(runtime.cuda):
        results.append(CheckResult(
            "torch CUDA", "abi", "-", "fail", id="cuda-version-mismatch",
            message=f"ops built with CUDA {built_cuda}, running torch uses CUDA "
                    f"{runtime.cuda or 'none (CPU build)'}"))
    else:
        results.append(CheckResult("torch CUDA", "abi", "-", "pass",
                                   message=f"target {metadata.get('target', '?')}, "
                                           f"CUDA {built_cuda or 'none'}"))
    abi = built.get("cxx11_abi")
    if abi is not None and runtime.cxx11_abi is not None and bool(abi) != bool(runtime.cxx11_abi):
        results.append(CheckResult(
            "C++ ABI", "abi", "-", "fail", id="undefined-symbol",
            message=f"ops built with _GLIBCXX_USE_CXX11_ABI={int(abi)}, torch uses {int(runtime.cxx11_abi)}"))
    else:
        results.append(CheckResult("C++ ABI", "abi", "-", "pass",
                                   message=f"_GLIBCXX_USE_CXX11_ABI={int(bool(runtime.cxx11_abi))}"))
    return results
