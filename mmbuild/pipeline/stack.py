"""The stack in a run: the requested downstream packages resolved before the plan, installed after mmcv.

    probe -> resolve (downstream versions, mmengine, the mmcv release) -> plan for that mmcv
          -> ... build and install mmcv ...
          -> install the downstream pins (patched wheels where the plan patches one) under a
             constraint holding torch and the built mmcv -> verify (ops and stack checks)

``plan`` and ``install`` share these steps; the pipeline (run.py) sequences them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import parse_wheel_filename
from packaging.version import Version

from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment
from mmbuild.model.findings import merge_findings
from mmbuild.model.options import BuildOptions

if TYPE_CHECKING:
    from mmbuild.model.stack import StackResolution


def resolve_requests(options: BuildOptions, env: Environment, python: str) -> StackResolution:
    """The one consistent set of the requested packages (reads their real metadata: network)."""
    from mmbuild.plan.downstream_patches import downstream_fix
    from mmbuild.stack.install import resolve_for_install

    files = [Path(f) for f in options.requirement_files]
    resolution = resolve_for_install(list(options.requests), files, env, python)
    fixes = [fix.to_dict() for name, version in downstream_pins(resolution)
             if (fix := downstream_fix(name, version)) is not None]
    return replace(resolution, fixes=fixes)


def options_for(options: BuildOptions, resolution: StackResolution) -> BuildOptions:
    """The build options of the stack: its mmcv, unless ``--mmcv`` chose one."""
    return options if options.mmcv else replace(options, mmcv=resolution.mmcv)


def env_for_plan(env: Environment, resolution: StackResolution | None) -> Environment:
    """The machine as the plan should see it: with the torchvision the stack installs beside mmcv-full."""
    if resolution is None or not resolution.torchvision:
        return env
    version = Requirement(resolution.torchvision).specifier
    pinned = next((str(s.version) for s in version if s.operator == "=="), None)
    return replace(env, packages={**env.packages, "torchvision": pinned}) if pinned else env


def plan_with_stack(plan: BuildPlan, resolution: StackResolution | None) -> BuildPlan:
    """The plan with the stack's findings (a conflict blocks it like any error finding)."""
    if resolution is None or not resolution.findings:
        return plan
    return replace(plan, findings=merge_findings(resolution.findings, plan.findings))


def downstream_pins(resolution: StackResolution) -> list[tuple[str, str]]:
    """(name, version) of every package the stack installs beside mmcv: downstream, then mmengine."""
    pins = [(pin.name, pin.version) for pin in resolution.downstream]
    if resolution.mmengine:
        engine = Requirement(resolution.mmengine)
        pins += [(engine.name, str(spec.version)) for spec in engine.specifier if spec.operator == "=="]
    return pins


def install_targets(resolution: StackResolution, *, python: str, work_dir: Path) -> tuple[list[str], dict]:
    """What the installer gets: a patched wheel where the plan patches a package, else ``name==version``;
    and the record of the patches applied (name -> patch ids)."""
    from mmbuild.plan.downstream_patches import downstream_patches

    targets: list[str] = []
    patched: dict[str, list[str]] = {}
    for name, version in downstream_pins(resolution):
        patch_ids = downstream_patches(name, version)
        if patch_ids:
            from mmbuild.build.downstream_wheel import build_downstream_wheel

            wheel = build_downstream_wheel(name, version, patch_ids, python=python, work_dir=work_dir / name)
            targets.append(str(wheel))
            patched[name] = list(patch_ids)
        else:
            targets.append(f"{name}=={version}")
    if resolution.torchvision:
        targets.append(resolution.torchvision)
    return targets + list(resolution.others), patched


def installed_core(python: str) -> dict[str, str]:
    """The installed torch and numpy of ``python`` as the installer knows them (their distributions'
    versions): the package index's torch 2.0.1 says ``2.0.1+cu117`` at run time while its distribution
    is 2.0.1, and a pin on the former matches no distribution (torchvision 0.15.2, which requires
    ``torch==2.0.1``, could not be installed)."""
    from mmbuild.install.stack import installed_versions

    versions = installed_versions(python)
    return {name: versions[name] for name in ("torch", "numpy") if name in versions}


def held_versions(torch_version: str | None, mmcv_wheel: Path, numpy_version: str | None = None) -> list[str]:
    """The constraints that keep the installed torch and the built mmcv as they are, and numpy within
    its major version: a torch built against numpy 1.x (torch < 2.3) cannot use numpy 2, which the
    downstream packages' newest dependencies would otherwise bring."""
    name, version, _, _ = parse_wheel_filename(mmcv_wheel.name)
    held = [f"{name}=={version}"]
    if torch_version:
        held.insert(0, f"torch=={torch_version}")
    return held + numpy_hold(numpy_version)


def numpy_hold(numpy_version: str | None) -> list[str]:
    """The constraint that keeps numpy within its installed major version (none without numpy)."""
    return [f"numpy<{Version(numpy_version).major + 1}"] if numpy_version else []


def may_replace(resolution: StackResolution) -> list[str]:
    """The distributions whose files are backed up before the stack install: the pins and what they
    declare they require."""
    names = [name for name, _ in downstream_pins(resolution)] + list(resolution.others)
    for pin in resolution.downstream:
        names += list(pin.bounds.requires)
    return names
