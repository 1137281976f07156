"""The ``mmbuild`` command line: parses arguments and dispatches to mmbuild.commands.

Exit codes (docs/cli.md): 0 ok, 1 unexpected failure, 2 usage or bad input,
3 blocked by an error-level finding, 4 build failed, 5 verify failed,
6 patch conflict. Errors print one actionable line; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from mmbuild import __version__
from mmbuild.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, MmbuildError

# The commands in the order ``--help`` lists them; each module has HELP, add_arguments() and run().
COMMANDS = ("env", "plan", "install", "build", "verify", "patch-torch", "diagnose", "cache")


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors get our format."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise MmbuildError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mmbuild", description="Build, install and verify mmcv with ops for this machine.")
    parser.add_argument("--version", action="version", version=f"mmbuild {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        module = _command_module(name)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP, parents=[common])
        module.add_arguments(p)
    return parser


def _command_module(name: str):
    return importlib.import_module(f"mmbuild.commands.{name.replace('-', '_')}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        try:
            args = build_parser().parse_args(argv)
        except MmbuildError as exc:
            print(f"mmbuild: error: {exc.message}", file=sys.stderr)
            return EXIT_USAGE
        return int(_command_module(args.command).run(args) or EXIT_OK)
    except MmbuildError as exc:
        if debug:
            traceback.print_exc()
        print(f"mmbuild: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mmbuild: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            traceback.print_exc()
        print(f"mmbuild: unexpected error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_UNEXPECTED
