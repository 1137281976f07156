"""The install and build run as one straight line of stages (docs/architecture.md, "The run").

    probe -> resolve (the stack, when packages are named) -> plan -> (blocked: exit 3)
          -> source (the fingerprint covers its sha256)
          -> wheel: wheelhouse | cache | extract, patch, subset, toolkit, preflight, build, metadata
          -> install (stack, verify inside it; all undone on failure) (``mmbuild build`` stops at the wheel)

Each stage is a function that takes what it needs and returns its record; the line puts the records
in the trace and the report is assembled from them. Nothing in the user's environment changes before
a wheel exists: every stage up to the build works in a private folder under the cache root.
"""

from __future__ import annotations

import dataclasses
import time

from mmbuild.build.compiler_cache import choose_compiler_cache
from mmbuild.errors import MmbuildError
from mmbuild.install.installer import installer_for
from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment
from mmbuild.model.options import BuildOptions
from mmbuild.pipeline import installing, obtain, sources
from mmbuild.pipeline.context import Run
from mmbuild.pipeline.planning import PlanInputs, check_blocked, plan_attempt, plan_inputs
from mmbuild.pipeline.records import SourceRecord
from mmbuild.pipeline.report import PipelineReport
from mmbuild.pipeline.services import Services, default_services
from mmbuild.pipeline.settings import PipelineSettings
from mmbuild.pipeline.trace import Trace
from mmbuild.pipeline.work import WorkFolder
from mmbuild.util.console import say
from mmbuild.wheels.store import Wheelhouse, WheelStore

__all__ = ["PipelineSettings", "run_pipeline"]


def run_pipeline(options: BuildOptions, settings: PipelineSettings, *, command: str = "install",
                 services: Services | None = None) -> PipelineReport:
    """One run of install or build; a stage's MmbuildError ends it and is the report's ``failure``."""
    trace, work = Trace(command), WorkFolder()
    started, failure = time.monotonic(), None
    try:
        run = Run(options, settings, services or default_services(), trace, work, WheelStore(),
                  choose_compiler_cache(options.compiler_cache))
        _line(run)
    except MmbuildError as exc:
        failure = exc
    finally:
        work.remove()
    return trace.report(failure, seconds=round(time.monotonic() - started, 2))


def _line(run: Run) -> None:
    if not run.settings.dry_run:
        run.store.check_writable()
        # The installer every later step uses; neither pip nor uv is a usage error before anything runs.
        say(f"    installer: {installer_for(run.settings.python).describe()}")
    env = probe(run)
    resolution = resolve(run, env) if run.options.wants_stack else None
    # The plan sizes MAX_JOBS for the compiler cache the build will use (a farm behind sccache).
    options = dataclasses.replace(_stack_options(run.options, resolution), compiler_cache=run.compiler_cache)
    source = _given_source(run) if options.source else None
    if source is not None:   # the version to plan for is the one of the given source
        options = dataclasses.replace(options, mmcv=f"{source.tree.package}=={source.tree.version}")
    inputs = plan_inputs(env, run.settings, resolution, _patch_digests(run))
    with run.trace.stage("plan", "deciding every build setting"):
        plan = _plan(run, inputs, options, source)
    check_blocked(plan)
    if run.settings.dry_run:
        return describe(run, plan, source or sources.cached_source(plan), resolution)
    if source is None:
        source = sources.locate_source(run.trace, None, plan, run.settings.python)
        run.trace.source = source
        plan = _with_plan(run, plan, source)
    say(f"    fingerprint {plan.fingerprint[:16]}")
    wheel = obtain.obtain_wheel(run, plan, options, source, env, _replan(run, inputs, source))
    run.trace.wheel = wheel
    if run.settings.out_dir is not None:
        with run.trace.stage("wheelhouse", str(run.settings.out_dir)):
            house = Wheelhouse(run.settings.out_dir)
            run.trace.placed = house.add(wheel.path, obtain.cache_entry(wheel.plan))
    if run.settings.install:
        installing.install(run, wheel.path, env, resolution)   # verifies before it keeps the new mmcv


def probe(run: Run) -> Environment:
    """This machine (it builds), or the saved report standing in for it."""
    if not run.settings.live_probe and run.settings.from_envs:
        return run.settings.from_envs[0]
    with run.trace.stage("probe", "reading this machine"):
        return run.services.probe()


def resolve(run: Run, env: Environment):
    """The requested downstream packages, resolved (pipeline/stack.py); the trace keeps the resolution."""
    from mmbuild.pipeline.stack import resolve_requests

    options = run.options
    requested = " ".join([*options.requests, *(f"-r {f}" for f in options.requirement_files)])
    with run.trace.stage("resolve", requested) as step:
        resolution = resolve_requests(options, env, run.settings.python)
        run.trace.stack = resolution
        pins = ", ".join(f"{p.name} {p.version}" for p in resolution.downstream)
        engine = f", {resolution.mmengine}" if resolution.mmengine else ""
        step.detail = f"{pins}; {resolution.mmcv}{engine}"
    return resolution


def _stack_options(options: BuildOptions, resolution) -> BuildOptions:
    from mmbuild.pipeline.stack import options_for

    return options if resolution is None else options_for(options, resolution)


def _given_source(run: Run) -> SourceRecord:
    source = sources.locate_source(run.trace, run.options.source, None, run.settings.python)
    run.trace.source = source
    source = sources.extract(run.trace, source, run.work.path)
    run.trace.source = source
    return source


def _patch_digests(run: Run) -> dict[str, str]:
    from mmbuild.patching import spec_digests

    return spec_digests(run.settings.specs_dir)


def _plan(run: Run, inputs: PlanInputs, options: BuildOptions, source: SourceRecord | None) -> BuildPlan:
    """The plan of one attempt, in the trace as the run's plan."""
    plan = plan_attempt(run.services.planner, inputs, options, source.archive.sha256 if source else None)
    run.trace.plan = plan
    return plan


def _replan(run: Run, inputs: PlanInputs, source: SourceRecord):
    """The planner of a remedy's attempt: options in, a checked plan out (exit 3 when blocked)."""

    def replan(options: BuildOptions) -> BuildPlan:
        plan = _plan(run, inputs, options, source)
        check_blocked(plan)
        return plan

    return replan


def _with_plan(run: Run, plan: BuildPlan, source: SourceRecord) -> BuildPlan:
    """The plan made before its source was known, with the fingerprint that covers the source."""
    from mmbuild.plan.fingerprint import with_source

    plan = with_source(plan, source.archive.sha256)
    run.trace.plan = plan
    return plan


def describe(run: Run, plan: BuildPlan, source: SourceRecord | None, resolution) -> None:
    """The steps a real run would take (``--dry-run``)."""
    from mmbuild.pipeline.dry_run import planned_steps
    from mmbuild.pipeline.stack import downstream_pins

    if source is not None and run.trace.source is None:
        run.trace.source = source
        plan = _with_plan(run, plan, source)
    for name, detail in planned_steps(plan, run.options, run.settings, run.compiler_cache,
                                      source_known=source is not None):
        run.trace.planned(name, detail)
    if resolution is not None and run.settings.install:
        pins = ", ".join(f"{n}=={v}" for n, v in downstream_pins(resolution))
        run.trace.planned("stack", f"install {pins} beside the new mmcv (torch and mmcv held), then verify")
