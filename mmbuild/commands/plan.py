"""``mmbuild plan``: every build setting with its reason, then the findings; changes nothing.

``--from-env FILE`` plans for the machine of a saved ``mmbuild env --json`` report (repeat it for a
fleet: the first report is the build node). Exit 3 when the plan has an error finding (the plan is
still printed), 2 for bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TextIO

from mmbuild.commands.build_options import FROM_ENV_HELP, add_build_options
from mmbuild.errors import EXIT_BLOCKED, EXIT_OK
from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment, load_environment
from mmbuild.model.options import options_from_args
from mmbuild.util.console import emit_json, paint, render_findings, table


def load_environments(paths: list[str] | None) -> list[Environment]:
    if paths:
        return [load_environment(p) for p in paths]
    from mmbuild.probe import probe_environment

    return [probe_environment()]


HELP = "print the BuildPlan, changing nothing"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_build_options(parser, from_env_help=FROM_ENV_HELP)


def run(args) -> int:
    paths = getattr(args, "from_env", None)
    envs = load_environments(paths)
    names = [Path(p).stem for p in paths] if paths else None
    options = options_from_args(args)
    if not paths:   # planning for this machine: size the jobs for the compiler cache install would use
        from mmbuild.build.compiler_cache import choose_compiler_cache

        options = dataclasses.replace(options, compiler_cache=choose_compiler_cache(options.compiler_cache))
    resolution = None
    if options.wants_stack:
        from mmbuild.pipeline.stack import env_for_plan, options_for, plan_with_stack, resolve_requests

        resolution = resolve_requests(options, envs[0], sys.executable)
        options = options_for(options, resolution)
        envs[0] = env_for_plan(envs[0], resolution)
    from mmbuild.plan import plan_for_nodes

    plan = plan_for_nodes(envs, options, names=names)
    if resolution is not None:
        plan = plan_with_stack(plan, resolution)
    if args.json:
        emit_json({**plan.to_dict(), **({"stack": resolution.to_dict()} if resolution else {})})
    else:
        sys.stderr.write(render(plan, sys.stderr))
        if resolution is not None:
            sys.stderr.write(render_stack(resolution))
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


def render_stack(resolution) -> str:
    """The resolved downstream packages, each with the mmcv range it accepts and where that was read."""
    rows = [("package", "version", "accepts", "read from")]
    for pin in resolution.downstream:
        rows.append((pin.name, pin.version, f"{pin.bounds.mmcv_package}{pin.bounds.mmcv}",
                     ", ".join(pin.bounds.sources)))
    lines = [paint("stack", "bold", sys.stderr), table(rows),
             f"mmcv: {resolution.mmcv}" + (f"; {resolution.mmengine}" if resolution.mmengine else "")]
    for fix in resolution.fixes:
        for patch in fix["patches"]:
            lines.append(f"patched: {fix['package']} {fix['version']} ({patch['id']}): {patch['why']}")
    return "\n".join(lines) + "\n"
