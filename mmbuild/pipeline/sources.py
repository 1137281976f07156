"""The source stage: ``--source`` as given, or the plan's sdist; and its extraction into the work folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mmbuild.model.build_plan import BuildPlan
from mmbuild.pipeline.records import SourceRecord
from mmbuild.pipeline.trace import Trace
from mmbuild.source.sdist import cached_sdist, download_sdist, locate_user_source, prepare_tree


def locate_source(trace: Trace, user_source: str | None, plan: BuildPlan | None, python: str) -> SourceRecord:
    """``--source`` as given, else the plan's sdist from the cache or the package index."""
    if user_source:
        with trace.stage("source", user_source):
            return SourceRecord(locate_user_source(user_source))
    mmcv = plan.mmcv
    with trace.stage("source", f"sdist of {mmcv.requirement}"):
        return SourceRecord(download_sdist(mmcv.package, mmcv.version, python=python))


def cached_source(plan: BuildPlan) -> SourceRecord | None:
    """The plan's sdist if the cache holds it (a dry run downloads nothing)."""
    archive = cached_sdist(plan.mmcv.package, plan.mmcv.version)
    return SourceRecord(archive) if archive is not None else None


def extract(trace: Trace, source: SourceRecord, work: Path) -> SourceRecord:
    """The source with its writable tree under ``work`` (once per run)."""
    if source.tree is not None:
        return source
    with trace.stage("extract", str(source.archive.path.name)):
        tree = prepare_tree(source.archive, work / "src")
    return dataclasses.replace(source, tree=tree)
