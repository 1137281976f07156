"""The wheel stage: the wheel of the plan from the wheelhouse, the cache, or a build under the lock.

The fingerprint's lock is held from the cache lookup until the wheel is stored, so concurrent runs
build it once; a wheelhouse serves any wheel that fits the node (wheels/choose.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from mmbuild.model.build_plan import BuildPlan
from mmbuild.model.environment import Environment
from mmbuild.model.options import BuildOptions
from mmbuild.pipeline import building
from mmbuild.pipeline.context import Run
from mmbuild.pipeline.records import BuiltWheel, PreparedTree, SourceRecord, WheelRecord
from mmbuild.util.console import say
from mmbuild.wheels.metadata import METADATA_MEMBER, build_metadata, embed_in_wheel
from mmbuild.wheels.relabel import relabel_wheel
from mmbuild.wheels.store import CacheEntry, Wheelhouse


def cache_entry(plan: BuildPlan) -> CacheEntry:
    return CacheEntry(fingerprint=plan.fingerprint, wheel="", sha256="", package=plan.mmcv.package,
                      version=plan.mmcv.version, target=plan.target, arch_list=list(plan.arch_list),
                      plan=plan.to_dict())


def embed_metadata(run: Run, built: BuiltWheel, prepared: PreparedTree, env: Environment) -> Path:
    """Embed the build metadata and give the wheel its local version label; returns its new path."""
    plan = built.plan
    document = build_metadata(plan, env, patches=plan.patches, source_sha256=prepared.source.archive.sha256,
                              compiler_cache=run.compiler_cache)
    document["patch_report"] = prepared.patch_report.get("hunks", [])
    if prepared.narrowed:
        document["narrow_report"] = prepared.narrowed
    if prepared.unity:
        document["unity_report"] = prepared.unity
    if prepared.subset:
        document["ops"] = prepared.subset["built_ops"]
        document["subset"] = prepared.subset
    embed_in_wheel(built.wheel, METADATA_MEMBER, json.dumps(document, indent=2).encode())
    return relabel_wheel(built.wheel, document["wheel_version"])


def build_from_source(run: Run, plan: BuildPlan, options: BuildOptions, source: SourceRecord,
                      env: Environment, replan: building.Replan) -> tuple[Path, BuildPlan]:
    """Patch, fetch the toolkit, build and label: the wheel (still in the work folder) and its plan."""
    prepared = building.prepare_tree(run, plan, source, env)
    if plan.provision:
        building.provision_toolkit(run.trace, plan, env, run.settings.python)
    built = building.build(run, plan, options, prepared.source.tree.root, env, replan)
    return embed_metadata(run, built, prepared, env), built.plan


def obtain_wheel(run: Run, plan: BuildPlan, options: BuildOptions, source: SourceRecord, env: Environment,
                 replan: building.Replan) -> WheelRecord:
    """The wheel of the final plan (see the module docstring); a new one is added to ``--wheelhouse``."""
    from mmbuild.wheels.choose import wheel_from_wheelhouse

    house = Wheelhouse(Path(run.options.wheelhouse)) if run.options.wheelhouse else None
    if house and (found := wheel_from_wheelhouse(house.folder, plan, env, arch_given=bool(run.options.arch))):
        run.trace.done("wheel", f"from the wheelhouse: {found[0]} ({found[1]})")
        return WheelRecord(found[0], "wheelhouse", plan)
    with run.store.locked(plan.fingerprint, on_wait=lambda: say(
            "==> waiting for another mmbuild that is building the same wheel")):
        found = run.store.lookup(plan.fingerprint)
        if found:
            run.trace.done("wheel", f"from the cache: {found[0]}")
            record = WheelRecord(found[0], "hit", plan)
        else:
            wheel, plan = build_from_source(run, plan, options, source, env, replan)
            record = WheelRecord(run.store.store(wheel, cache_entry(plan)), "built", plan)
    if house:
        house.add(record.path, cache_entry(record.plan))
    return record
