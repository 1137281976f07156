"""``mmbuild build --out DIR``: the pipeline up to the wheel, added to a wheelhouse."""

from __future__ import annotations

import argparse
from pathlib import Path

from mmbuild.commands._pipeline_command import run_pipeline
from mmbuild.pipeline import PipelineSettings


def run(args: argparse.Namespace) -> int:
    settings = PipelineSettings(verbose=args.verbose, install=False, verify=False, out_dir=Path(args.out))
    return run_pipeline(args, "build", settings)
