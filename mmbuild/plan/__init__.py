"""The plan: a pure function from (Environment, BuildOptions, knowledge tables) to a BuildPlan.

The entry points load on first use, so that env_findings can share the plan's small helpers
(toolkit choice) without an import cycle.
"""

from __future__ import annotations

from typing import Any

__all__ = ["make_plan", "make_fleet_plan"]


def __getattr__(name: str) -> Any:
    if name == "make_plan":
        from mmbuild.plan.make import make_plan

        return make_plan
    if name == "make_fleet_plan":
        from mmbuild.plan.fleet import make_fleet_plan

        return make_fleet_plan
    raise AttributeError(f"module 'mmbuild.plan' has no attribute {name!r}")
