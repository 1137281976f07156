"""The build options ``plan``, ``install`` and ``build`` share (read back by model/options.py)."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def add_build_options(p: argparse.ArgumentParser, *, from_env_help: str | None) -> None:
    """The ``build options`` group, and ``--from-env`` (hidden when ``from_env_help`` is None)."""
    g = p.add_argument_group("build options")
    g.add_argument("--mmcv", metavar="VERSION", help="e.g. 2.1.0, mmcv-full==1.7.2 or onedl-mmcv==2.3.6")
    g.add_argument("--source", metavar="DIR|SDIST", help="build from this checkout or sdist")
    g.add_argument("--arch", metavar="LIST", help="GPU arches, e.g. 8.6, 7.5,8.0,9.0, Ampere")
    g.add_argument("--cpu-only", action="store_true", help="build CPU ops only")
    g.add_argument("--jobs", type=positive_int, metavar="N", help="parallel compile jobs")
    g.add_argument("--threads-per-block", type=positive_int, metavar="N",
                   help="THREADS_PER_BLOCK for mmcv's CUDA kernels")
    g.add_argument("--cuda-toolkit", metavar="auto|system|index|redist|DIR",
                   help="auto (default): a toolkit on this machine that fits, else one fetched (CUDA 13 "
                        "from the package index, CUDA 11 and 12 from NVIDIA's redistributable archives, "
                        "or MMBUILD_CUDA_REDIST_URL's mirror); system: only those on this machine; "
                        "index, redist: always from that source; DIR: this CUDA_HOME")
    g.add_argument("--cuda-home", metavar="DIR", help="the same as --cuda-toolkit DIR")
    g.add_argument("--cxx", metavar="PATH", help="the host C++ compiler to use")
    g.add_argument("--wheelhouse", metavar="DIR", help="reuse or add wheels in this wheelhouse")
    g.add_argument("--ops", metavar="LIST", help="build only these ops, e.g. nms,roi_align")
    g.add_argument("--compiler-cache", choices=("ccache", "sccache", "none"),
                   help="compiler cache (default: one that is installed)")
    g.add_argument("--no-pch", action="store_true",
                   help="compile torch's headers in every C++ unit (no precompiled header)")
    g.add_argument("--no-narrow-includes", action="store_true",
                   help="compile every .cu unit with all of torch's headers (no narrow includes)")
    g.add_argument("--no-unity", action="store_true",
                   help="compile each C++ unit on its own (no unity units)")
    g.add_argument("--debug-symbols", action="store_true",
                   help="keep debug info (-g from Python's CFLAGS) in the C++ units; default -g0")
    add_stack_arguments(p)
    p.add_argument("--from-env", metavar="FILE", action="append",
                   help=from_env_help if from_env_help is not None else argparse.SUPPRESS)


FROM_ENV_HELP = "plan for the machine of a saved 'mmbuild env --json' report (repeat for a fleet)"


def add_stack_arguments(p: argparse.ArgumentParser) -> None:
    """The downstream packages to resolve, build mmcv for and install (``mmbuild install mmdet ...``)."""
    p.add_argument("requests", nargs="*", metavar="REQUIREMENT",
                   help="OpenMMLab packages that use mmcv (mmdet, mmsegmentation==1.2.2, ...) and any "
                        "others to install beside them; mmbuild picks the mmcv they all accept")
    p.add_argument("-r", "--requirement", dest="requirement_files", metavar="FILE", action="append",
                   default=[], help="read requirements from this file (repeatable)")
