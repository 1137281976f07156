"""``mmbuild diagnose [FILE|-] [--json]``: explain a log with the catalogue of known problems.

Exit 0 whether or not a problem is recognised; 2 when the file cannot be read.
"""

from __future__ import annotations

import argparse
import sys

from mmbuild.diagnose import diagnose_file, diagnose_stream
from mmbuild.diagnose.report import render
from mmbuild.errors import EXIT_OK, UsageError
from mmbuild.util.console import emit_json, say

HELP = "explain a log: known problems found, causes, fixes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default="-", help="a log file, or - for stdin")


def run(args: argparse.Namespace) -> int:
    name = args.file or "-"
    if name == "-":
        diagnosis = diagnose_stream(sys.stdin.buffer)
        source_name = "standard input"
    else:
        try:
            diagnosis = diagnose_file(name)
        except FileNotFoundError:
            raise UsageError(f"no such file: {name}",
                             fix="give a log file, or - to read standard input") from None
        except IsADirectoryError:
            raise UsageError(f"{name} is a directory, not a log file") from None
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
        source_name = name
    if args.json:
        emit_json(diagnosis.to_dict())
    else:
        say(render(diagnosis, source_name))
    return EXIT_OK
