"""The collaborators a run calls out to, injected so that a test can replace any of them.

The probe reads the machine, the planner decides the build, the wheel builder runs the build frontend
(the one long-running process of a run) and the verifier runs ``mmbuild verify`` in the target
environment. ``default_services()`` gives the real ones; a test passes its own (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment
from mmbuild.model.options import BuildOptions


class Planner(Protocol):
    """plan/fleet.py ``plan_for_nodes``: the plan for the first node, checked against the others."""

    def __call__(self, envs: list[Environment], options: BuildOptions, *, names: list[str] | None = None,
                 patch_digests: dict[str, str] | None = None) -> BuildPlan: ...


class WheelBuilder(Protocol):
    """build/wheel.py ``build_wheel``: the build frontend on a prepared tree, its output in a log."""

    def __call__(self, source: Path, out_dir: Path, *, env: dict[str, str], log_path: Path,
                 python: str, verbose: bool): ...


@dataclass(frozen=True)
class Services:
    probe: Callable[[], Environment]
    planner: Planner
    build_wheel: WheelBuilder
    verify: Callable[..., dict]           # (python, *, stack) -> the verify report as a dict


def default_services(**replacements) -> Services:
    """The real collaborators, with ``replacements`` (by field name) put in their place."""
    from mmbuild.build.wheel import build_wheel
    from mmbuild.plan.fleet import plan_for_nodes
    from mmbuild.probe import probe_environment
    from mmbuild.verify.in_target import verify_in_target

    real = {"probe": probe_environment, "planner": plan_for_nodes, "build_wheel": build_wheel,
            "verify": verify_in_target}
    return Services(**{**real, **replacements})
