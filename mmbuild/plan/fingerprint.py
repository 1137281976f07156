"""The build fingerprint: sha256 over a canonical JSON of everything that changes the binary.

Two builds with the same fingerprint produce interchangeable wheels; anything that does not change
the compiled code (job count, paths, findings) stays out.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from typing import Any

from mmbuild.model.build_plan import BuildPlan


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no whitespace: the same data always gives the same text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def fingerprint(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()


def with_source(plan: BuildPlan, source_sha256: str) -> BuildPlan:
    """``plan`` for the source whose sha256 is ``source_sha256``: only the fingerprint changes."""
    inputs = copy.deepcopy(plan.fingerprint_inputs)
    inputs.setdefault("mmcv", {})["source_sha256"] = source_sha256
    return dataclasses.replace(plan, fingerprint=fingerprint(inputs), fingerprint_inputs=inputs)
