"""The plan stage: one plan per attempt, for the nodes of the run, covering the source once known."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mmbuild.errors import BlockedError
from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment
from mmbuild.model.options import BuildOptions
from mmbuild.pipeline.services import Planner
from mmbuild.pipeline.settings import PipelineSettings
from mmbuild.pipeline.stack import env_for_plan, plan_with_stack
from mmbuild.plan.fingerprint import with_source

if TYPE_CHECKING:
    from mmbuild.model.stack import StackResolution


@dataclass(frozen=True)
class PlanInputs:
    """What every attempt's plan is made from, beside the attempt's options."""

    nodes: tuple[Environment, ...]        # the build node (as the stack leaves it) first, then the fleet
    names: tuple[str, ...]
    stack: StackResolution | None
    patch_digests: dict[str, str]


def plan_inputs(env: Environment, settings: PipelineSettings, stack: StackResolution | None,
                patch_digests: dict[str, str]) -> PlanInputs:
    """The nodes of the run: this machine (or the saved report standing in for it) and ``--from-env``."""
    nodes = [env, *settings.from_envs] if settings.live_probe else (list(settings.from_envs) or [env])
    names = ["this machine", *settings.from_env_names][:len(nodes)]
    return PlanInputs((env_for_plan(nodes[0], stack), *nodes[1:]), tuple(names), stack, patch_digests)


def plan_attempt(planner: Planner, inputs: PlanInputs, options: BuildOptions,
                 source_sha256: str | None) -> BuildPlan:
    """The plan of one attempt; its fingerprint covers the source when ``source_sha256`` is known."""
    nodes = list(inputs.nodes)
    names = list(inputs.names) if len(nodes) > 1 else None
    plan = planner(nodes, options, names=names, patch_digests=inputs.patch_digests)
    plan = plan_with_stack(plan, inputs.stack)
    return with_source(plan, source_sha256) if source_sha256 else plan


def check_blocked(plan: BuildPlan) -> None:
    """Raise BlockedError (exit 3) for the plan's first error-level finding."""
    errors = [f for f in plan.findings if f.severity == "error"]
    if errors:
        first = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise BlockedError(f"{first.message}{more}", fix=first.fix or None, problem_id=first.id)
