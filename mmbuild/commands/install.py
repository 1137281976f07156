"""``mmbuild install``: the whole pipeline, from probe to verify."""

from __future__ import annotations

import argparse

from mmbuild.commands._pipeline_command import run_command
from mmbuild.commands.build_options import add_build_options
from mmbuild.pipeline.run import PipelineSettings

HELP = "build, install and verify mmcv with ops for this machine"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_build_options(parser, from_env_help=None)
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the steps, change nothing")
    parser.add_argument("--verbose", action="store_true", help="stream the build log")
    parser.add_argument("--patch-torch", action="store_true",
                        help="allow editing torch headers in site-packages (Windows, torch 1.5-1.7)")
    parser.add_argument("--no-verify", action="store_true", help="skip the verify stage")


def run(args: argparse.Namespace) -> int:
    settings = PipelineSettings(dry_run=args.dry_run, verbose=args.verbose, verify=not args.no_verify,
                                install=True)
    return run_command(args, "install", settings)
