"""Shared front end of ``mmbuild install`` and ``mmbuild build``: options in, report out."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from mmbuild.errors import EXIT_OK
from mmbuild.model.environment import load_environment
from mmbuild.model.options import options_from_args
from mmbuild.pipeline.report import PipelineReport
from mmbuild.pipeline.run import PipelineSettings, run_pipeline
from mmbuild.util.console import emit_json, paint, render_findings, say, table


def run_command(args: argparse.Namespace, command: str, settings: PipelineSettings) -> int:
    """Run the pipeline for ``args``; print its report; a failure's one line and exit code."""
    if getattr(args, "from_env", None):
        settings = dataclasses.replace(settings, from_envs=tuple(load_environment(p) for p in args.from_env),
                                       from_env_names=tuple(args.from_env))
    report = run_pipeline(options_from_args(args), settings, command=command)
    _show(report, args.json, failed=report.failure is not None)
    if report.failure is None:
        return EXIT_OK
    if args.json:
        say(f"mmbuild: error: {report.failure.one_line()}")
        return report.failure.exit_code
    raise report.failure


def _show(report: PipelineReport, as_json: bool, failed: bool) -> None:
    if as_json:
        emit_json(report.to_dict())
        return
    import sys

    stream = sys.stderr
    _show_plan(report, stream)
    planned = [s for s in report.steps if s.status == "planned"]
    if planned:
        say(paint("steps it would take", "bold", stream))
        say(table([(s.stage, s.detail) for s in planned]))
    if failed:
        if report.log:
            say(f"build log: {report.log}")
        return
    _show_outcome(report, stream)
    if report.steps and not planned:
        say(f"done in {report.seconds:.0f} s")


def _show_plan(report: PipelineReport, stream) -> None:
    if not report.plan:
        return
    rows = [(d["name"], d["value"], d["reason"]) for d in report.plan.get("decisions", [])]
    if rows:
        say(paint("plan", "bold", stream))
        say(table(rows))
    for line in render_findings(report.plan.get("findings", []), stream):
        say(line)


def _show_outcome(report: PipelineReport, stream) -> None:
    if report.wheel:
        say(paint("ok", "ok", stream) + f": {Path(report.wheel).name} ({report.cache})")
    if report.verify:
        statuses = [c.get("status") for c in report.verify.get("checks", [])]
        counts = ", ".join(f"{statuses.count(s)} {s}" for s in ("pass", "fail", "skip") if s in statuses)
        say(f"verify: {counts or 'no checks'}")
