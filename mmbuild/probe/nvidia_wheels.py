"""Where NVIDIA's CUDA wheels put things beside torch in site-packages.

CUDA 13 wheels share one folder, ``nvidia/cu13/`` (``include/``, ``bin/``, ``lib/``); CUDA 12 and
11 wheels have one folder per library, ``nvidia/<library>/``. Both the probe (headers) and verify
(cuobjdump) look there, in this order: the ``cu<major>`` folders first, then the others.
"""

from __future__ import annotations

from pathlib import Path


def nvidia_wheel_paths(site_dir: str | Path, relative: str) -> list[Path]:
    """Existing ``<site_dir>/nvidia/*/<relative>`` paths, the ``cu<major>`` folders first."""
    found = [p for p in sorted((Path(site_dir) / "nvidia").glob(f"*/{relative}")) if p.exists()]
    return sorted(found, key=lambda p: not p.relative_to(Path(site_dir) / "nvidia").parts[0].startswith("cu"))
