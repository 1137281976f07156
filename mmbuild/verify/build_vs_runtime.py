"""Build metadata embedded in a built mmcv (``mmcv/_mmbuild.json``) against the running torch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmbuild.verify.report import CheckResult
from mmbuild.wheels.fit import NodeFacts, mismatches

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


# The torch checks of the wheel-fits-node rule (wheels/fit.py), as verify words them.
_FAILED = {
    "torch": ("torch version", "ops built for torch {built}, running torch {node}: rebuild mmcv "
                               "(mmbuild install) for this torch"),
    "torch CUDA": ("torch CUDA", "ops built with CUDA {built}, running torch uses CUDA {node}"),
    "C++ ABI": ("C++ ABI", "ops built with {built}, torch uses {node}"),
}


def check_build_vs_runtime(metadata: dict[str, Any] | None, runtime: RuntimeTorch) -> list[CheckResult]:
    """Torch version, CUDA version and C++ ABI the ops were built for vs the running torch."""
    if metadata is None:
        return [CheckResult("build metadata", "abi", "-", "skip",
                            message=f"no mmcv/{METADATA_FILE}: this mmcv was not built by mmbuild")]
    node = NodeFacts(None, None, None, runtime.version, runtime.cuda, runtime.cxx11_abi)
    found = {m.what: m for m in mismatches(metadata, node)}
    built = metadata.get("torch") or {}
    passed = {
        "torch": f"built for torch {built.get('version') or '?'}",
        "torch CUDA": f"target {metadata.get('target', '?')}, CUDA {built.get('cuda') or 'none'}",
        "C++ ABI": f"_GLIBCXX_USE_CXX11_ABI={int(bool(runtime.cxx11_abi))}",
    }
    results = []
    for what, (name, template) in _FAILED.items():
        mismatch = found.get(what)
        if mismatch:
            results.append(CheckResult(name, "abi", "-", "fail", id=mismatch.problem_id,
                                       message=template.format(built=mismatch.built, node=mismatch.node)))
        else:
            results.append(CheckResult(name, "abi", "-", "pass", message=passed[what]))
    return results
