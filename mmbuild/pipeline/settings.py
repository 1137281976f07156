"""How one install or build run is carried out, beyond the build options (docs/architecture.md)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from mmbuild.model.environment import Environment


@dataclass(frozen=True)
class PipelineSettings:
    """What the command asked of the run: which stages, where the wheel goes, which nodes it serves."""

    dry_run: bool = False
    verbose: bool = False
    verify: bool = True
    install: bool = True
    out_dir: Path | None = None                     # ``mmbuild build --out``
    python: str = sys.executable
    from_envs: tuple[Environment, ...] = ()         # nodes the wheel must also run on (fleet)
    from_env_names: tuple[str, ...] = ()
    live_probe: bool = True                         # False: from_envs[0] stands in for this machine
    preflight: bool = True
    specs_dir: Path | None = None                   # patch specs (default: the shipped patches/)
