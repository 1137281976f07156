"""``mmbuild build --out DIR``: the pipeline up to the wheel, added to a wheelhouse."""

from __future__ import annotations

import argparse
from pathlib import Path

from mmbuild.commands._pipeline_command import run_command
from mmbuild.commands.build_options import FROM_ENV_HELP, add_build_options
from mmbuild.pipeline.run import PipelineSettings

HELP = "build the wheel only (for a wheelhouse)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_build_options(parser, from_env_help=FROM_ENV_HELP)
    parser.add_argument("--out", metavar="DIR", required=True, help="wheelhouse directory to write")
    parser.add_argument("--verbose", action="store_true", help="stream the build log")


def run(args: argparse.Namespace) -> int:
    settings = PipelineSettings(verbose=args.verbose, install=False, verify=False, out_dir=Path(args.out))
    return run_command(args, "build", settings)
