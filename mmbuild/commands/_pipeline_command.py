"""Shared front end of ``mmbuild install`` and ``mmbuild build``: options in, report out."""

from __future__ import annotations

import argparse
from pathlib import Path

from mmbuild.errors import EXIT_OK, MmbuildError
from mmbuild.model.environment import load_environment
from mmbuild.model.options import options_from_args
from mmbuild.pipeline.report import PipelineReport
from mmbuild.pipeline.run import Pipeline, PipelineSettings
from mmbuild.util.console import emit_json, paint, render_findings, say, table


def run_pipeline(args: argparse.Namespace, command: str, settings: PipelineSettings) -> int:
    if getattr(args, "from_env", None):
        settings.from_envs = [load_environment(path) for path in args.from_env]
        settings.from_env_names = list(args.from_env)
    pipeline = Pipeline(options_from_args(args), settings, command=command)
    try:
        pipeline.run()
    except MmbuildError as exc:
        _show(pipeline.report, args.json, failed=True)
        if args.json:
            say(f"mmbuild: error: {exc.one_line()}")
            return exc.exit_code
        raise
    _show(pipeline.report, args.json, failed=False)
    return EXIT_OK


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
