"""``mmbuild plan``: every build setting with its reason, then the findings; changes nothing.

``--from-env FILE`` plans for the machine of a saved ``mmbuild env --json`` report (repeat it for a
fleet: the first report is the build node). Exit 3 when the plan has an error finding (the plan is
still printed), 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from mmbuild.commands.build_options import FROM_ENV_HELP, add_build_options
from mmbuild.errors import EXIT_BLOCKED, EXIT_OK
from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment, load_environment
from mmbuild.model.options import BuildOptions, options_from_args
from mmbuild.util.console import emit_json, paint, render_findings, table


def load_environments(paths: list[str] | None) -> list[Environment]:
    if paths:
        return [load_environment(p) for p in paths]
    from mmbuild.probe import probe_environment

    return [probe_environment()]


def build_plan(envs: list[Environment], options: BuildOptions, names: list[str] | None = None) -> BuildPlan:
    from mmbuild.plan import make_fleet_plan, make_plan

    if len(envs) > 1:
        return make_fleet_plan(envs, options, names=names)
    return make_plan(envs[0], options)


HELP = "print the BuildPlan, changing nothing"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_build_options(parser, from_env_help=FROM_ENV_HELP)


def run(args) -> int:
    paths = getattr(args, "from_env", None)
    envs = load_environments(paths)
    names = [Path(p).stem for p in paths] if paths else None
    plan = build_plan(envs, options_from_args(args), names)
    if args.json:
        emit_json(plan.to_dict())
    else:
        sys.stderr.write(render(plan, sys.stderr))
    return EXIT_OK if plan.ok else EXIT_BLOCKED


def render(plan: BuildPlan, stream: TextIO) -> str:
    """The decisions as a table with reasons, the build environment, then the findings."""
    rows = [(d.name, d.value, d.reason) for d in plan.decisions]
    parts = [paint("Plan", "bold", stream), table(rows), ""]
    parts += [
        paint("Build environment", "bold", stream),
        table([(k, v if v != "" else "''") for k, v in plan.env.items()]),
        "",
    ]
    parts.append(f"  fingerprint  {plan.fingerprint}\n")
    if plan.findings:
        parts.append(paint("Findings", "bold", stream))
        parts += render_findings(plan.findings, stream)
        parts.append("")
    verdict = "ok: ready to build" if plan.ok else "blocked: fix the errors above first"
    parts.append(paint(verdict, "ok" if plan.ok else "error", stream))
    return "\n".join(parts) + "\n"
