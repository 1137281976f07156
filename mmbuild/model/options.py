"""Build options shared by ``plan``, ``install`` and ``build`` (flags win over env vars)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BuildOptions:
    """What the user asked for; ``None`` means "decide for me"."""

    mmcv: str | None = None              # "2.1.0", "mmcv==2.1.0", "mmcv-full==1.7.2", "onedl-mmcv==2.3.6"
    source: str | None = None            # a checkout directory or an sdist
    arch: str | None = None              # "8.6", "7.0,8.0,9.0", "Ampere", "sm_86"
    cpu_only: bool = False
    jobs: int | None = None
    threads_per_block: int | None = None
    cuda_home: str | None = None         # --cuda-home DIR or --cuda-toolkit DIR
    cuda_toolkit: str = "auto"           # "auto" | "system" | "index" | "redist" (--cuda-toolkit)
    cxx: str | None = None
    wheelhouse: str | None = None
    ops: list[str] = field(default_factory=list)
    compiler_cache: str | None = None    # "ccache" | "sccache" | "none"; None: use one if installed
    patch_torch: bool = False
    pch: bool = True                     # False: --no-pch
    narrow_includes: bool = True         # False: --no-narrow-includes
    unity: bool = True                   # False: --no-unity
    requests: list[str] = field(default_factory=list)            # downstream requirements (the stack)
    requirement_files: list[str] = field(default_factory=list)   # -r FILE
    debug_symbols: bool = False          # --debug-symbols: keep -g in the C++ units

    @property
    def wants_stack(self) -> bool:
        """Whether downstream packages were asked for (``mmbuild install mmdet ...``)."""
        return bool(self.requests or self.requirement_files)


def normalise_ops(ops: list[str] | str) -> list[str]:
    """``"nms, roi-align"`` or ``["nms", "roi_align"]`` -> ``["nms", "roi_align"]`` (sorted, unique)."""
    items = ops.split(",") if isinstance(ops, str) else [part for op in ops for part in op.split(",")]
    return sorted({item.strip().lower().replace("-", "_") for item in items if item.strip()})


def options_from_args(args: object) -> BuildOptions:
    """The build options of a parsed command line (plan, install and build share them)."""
    return BuildOptions(
        mmcv=getattr(args, "mmcv", None),
        source=getattr(args, "source", None),
        arch=getattr(args, "arch", None),
        cpu_only=bool(getattr(args, "cpu_only", False)),
        jobs=getattr(args, "jobs", None),
        threads_per_block=getattr(args, "threads_per_block", None),
        cuda_home=getattr(args, "cuda_home", None) or _toolkit_dir(getattr(args, "cuda_toolkit", None)),
        cuda_toolkit=_toolkit_mode(getattr(args, "cuda_toolkit", None)),
        cxx=getattr(args, "cxx", None),
        wheelhouse=getattr(args, "wheelhouse", None),
        ops=normalise_ops(getattr(args, "ops", None) or ""),
        compiler_cache=getattr(args, "compiler_cache", None),
        patch_torch=bool(getattr(args, "patch_torch", False)),
        pch=not getattr(args, "no_pch", False),
        narrow_includes=not getattr(args, "no_narrow_includes", False),
        unity=not getattr(args, "no_unity", False),
        debug_symbols=bool(getattr(args, "debug_symbols", False)),
        requests=list(getattr(args, "requests", None) or []),
        requirement_files=list(getattr(args, "requirement_files", None) or []),
    )


TOOLKIT_MODES = ("auto", "system", "index", "redist")


def _toolkit_mode(value: str | None) -> str:
    """``--cuda-toolkit``: a mode, or "auto" when it names a folder (that is ``cuda_home``)."""
    return value if value in TOOLKIT_MODES else "auto"


def _toolkit_dir(value: str | None) -> str | None:
    return value if value and value not in TOOLKIT_MODES else None
