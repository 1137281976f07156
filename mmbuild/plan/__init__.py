"""The plan: a pure function from (Environment, BuildOptions, knowledge tables) to a BuildPlan.

The checks of an environment on its own (``environment_checks.py``, what ``mmbuild env`` reports)
are part of the same policy and live here too.
"""

from __future__ import annotations

from mmbuild.plan.fleet import make_fleet_plan, plan_for_nodes
from mmbuild.plan.make import make_plan

__all__ = ["make_plan", "make_fleet_plan", "plan_for_nodes"]
