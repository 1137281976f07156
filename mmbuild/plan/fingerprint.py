"""The build fingerprint: sha256 over a canonical JSON of everything that changes the binary.

Two builds with the same fingerprint produce interchangeable wheels; anything that does not change
the compiled code (job count, paths, findings) stays out.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no whitespace: the same data always gives the same text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def fingerprint(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()
