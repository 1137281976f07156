"""GPU name -> compute capability (gpus.toml), for reports that lack the capability."""

from __future__ import annotations

import re

from mmbuild.knowledge import load_table


def capability_for_name(name: str) -> str | None:
    """``"NVIDIA GeForce RTX 3090"`` -> ``"8.6"``; None for a name the table does not know."""
    best: tuple[int, str] | None = None
    for row in load_table("gpus")["gpu"]:
        match = re.search(rf"(?<!\w)(?:{row['pattern']})(?!\w)", name, flags=re.IGNORECASE)
        if match and (best is None or len(match.group(0)) > best[0]):
            best = (len(match.group(0)), row["capability"])
    return best[1] if best else None
