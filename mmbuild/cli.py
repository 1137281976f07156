"""The ``mmbuild`` command line: parses arguments and dispatches to mmbuild.commands.

Exit codes (DESIGN.md): 0 ok, 1 unexpected failure, 2 usage or bad input,
3 blocked by an error-level finding, 4 build failed, 5 verify failed,
6 patch conflict. Errors print one actionable line; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from mmbuild import __version__
from mmbuild.errors import EXIT_UNEXPECTED, EXIT_USAGE, MmbuildError

COMMANDS = {
    "env": "probe this machine and print the Environment with findings",
    "plan": "print the BuildPlan, changing nothing",
    "install": "build, install and verify mmcv with ops for this machine",
    "build": "build the wheel only (for a wheelhouse)",
    "verify": "verify the installed mmcv",
    "patch-torch": "check, apply or revert the Windows PyTorch header patches",
    "diagnose": "explain a log: known problems found, causes, fixes",
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors get our format."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise MmbuildError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _add_build_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("build options")
    g.add_argument("--mmcv", metavar="VERSION", help="e.g. 2.1.0, mmcv-full==1.7.2 or onedl-mmcv==2.3.6")
    g.add_argument("--source", metavar="DIR|SDIST", help="build from this checkout or sdist")
    g.add_argument("--arch", metavar="LIST", help="GPU arches, e.g. 8.6, 7.5,8.0,9.0, Ampere")
    g.add_argument("--cpu-only", action="store_true", help="build CPU ops only")
    g.add_argument("--jobs", type=_positive_int, metavar="N", help="parallel compile jobs")
    g.add_argument("--threads-per-block", type=_positive_int, metavar="N",
                   help="THREADS_PER_BLOCK for mmcv's CUDA kernels")
    g.add_argument("--cuda-home", metavar="DIR", help="the CUDA toolkit to use")
    g.add_argument("--cxx", metavar="PATH", help="the host C++ compiler to use")
    g.add_argument("--wheelhouse", metavar="DIR", help="reuse or add wheels in this wheelhouse")
    g.add_argument("--ops", metavar="LIST", help="build only these ops, e.g. nms,roi_align")
    g.add_argument("--compiler-cache", choices=("ccache", "sccache", "none"),
                   help="compiler cache (default: one that is installed)")
    g.add_argument("--no-pch", action="store_true",
                   help="compile torch's headers in every C++ unit (no precompiled header)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mmbuild", description="Build, install and verify mmcv with ops for this machine.")
    parser.add_argument("--version", action="version", version=f"mmbuild {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        _add_command_arguments(name, p)
    return parser


def _add_command_arguments(name: str, p: argparse.ArgumentParser) -> None:
    if name in ("plan", "install", "build"):
        _add_build_options(p)
        p.add_argument("--from-env", metavar="FILE", action="append",
                       help="plan for the machine of a saved 'mmbuild env --json' report "
                            "(repeat for a fleet)" if name != "install" else argparse.SUPPRESS)
    if name == "install":
        p.add_argument("--dry-run", action="store_true", help="print the plan and the steps, change nothing")
        p.add_argument("--verbose", action="store_true", help="stream the build log")
        p.add_argument("--patch-torch", action="store_true",
                       help="allow editing torch headers in site-packages (Windows, torch 1.5-1.7)")
        p.add_argument("--no-verify", action="store_true", help="skip the verify stage")
    if name == "build":
        p.add_argument("--out", metavar="DIR", required=True, help="wheelhouse directory to write")
        p.add_argument("--verbose", action="store_true", help="stream the build log")
    if name == "verify":
        p.add_argument("--device", choices=("cpu", "cuda", "all"), default="all")
        p.add_argument("--ops", metavar="LIST", help="check only these ops")
        p.add_argument("--seed", type=int, help="replay a run with this seed")
    if name == "patch-torch":
        mode = p.add_mutually_exclusive_group()
        mode.add_argument("--check", action="store_const", const="check", dest="mode")
        mode.add_argument("--apply", action="store_const", const="apply", dest="mode")
        mode.add_argument("--revert", action="store_const", const="revert", dest="mode")
        p.set_defaults(mode="check")
        p.add_argument("--torch-root", metavar="DIR", help="torch package dir or its include dir")
    if name == "diagnose":
        p.add_argument("file", nargs="?", default="-", help="a log file, or - for stdin")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        try:
            args = build_parser().parse_args(argv)
        except MmbuildError as exc:
            print(f"mmbuild: error: {exc.message}", file=sys.stderr)
            return EXIT_USAGE
        module = importlib.import_module(f"mmbuild.commands.{args.command.replace('-', '_')}")
        return int(module.run(args) or 0)
    except MmbuildError as exc:
        if debug:
            traceback.print_exc()
        print(f"mmbuild: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mmbuild: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            traceback.print_exc()
        print(f"mmbuild: unexpected error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_UNEXPECTED
