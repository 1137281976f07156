"""Build options shared by ``plan``, ``install`` and ``build`` (flags win over env vars)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BuildOptions:
    """What the user asked for; ``None`` means "decide for me"."""

    mmcv: str | None = None              # "2.1.0", "mmcv==2.1.0", "mmcv-full==1.7.2"
    source: str | None = None            # a checkout directory or an sdist
    source_sha256: str | None = None     # filled in once the source is known
    arch: str | None = None              # "8.6", "7.0,8.0,9.0", "Ampere", "sm_86"
    cpu_only: bool = False
    jobs: int | None = None
    threads_per_block: int | None = None
    cuda_home: str | None = None
    cxx: str | None = None
    wheelhouse: str | None = None
    ops: list[str] = field(default_factory=list)
    compiler_cache: str | None = None    # "ccache" | "sccache" | "none"; None: use one if installed
    patch_torch: bool = False
