"""``mmbuild install``: the whole pipeline, from probe to verify."""

from __future__ import annotations

import argparse

from mmbuild.commands._pipeline_command import run_pipeline
from mmbuild.pipeline import PipelineSettings


def run(args: argparse.Namespace) -> int:
    settings = PipelineSettings(dry_run=args.dry_run, verbose=args.verbose, verify=not args.no_verify,
                                install=True)
    return run_pipeline(args, "install", settings)
