"""Knowledge tables: facts about CUDA, compilers, torch and mmcv, kept as data.

Each ``*.toml`` file here is one table; the small modules beside it are typed
lookups over it. A new CUDA release or mmcv version is a data edit.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

KNOWLEDGE_DIR = Path(__file__).resolve().parent


@cache
def load_table(name: str) -> dict[str, Any]:
    """Parse ``mmbuild/knowledge/<name>.toml`` (cached: the data never changes at run time)."""
    with (KNOWLEDGE_DIR / f"{name}.toml").open("rb") as fh:
        return tomllib.load(fh)
