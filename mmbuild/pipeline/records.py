"""The frozen records the stages return; the run report is assembled from them (trace.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mmbuild.model.build_plan import BuildPlan
from mmbuild.source.sdist import SourceArchive, SourceTree


@dataclass(frozen=True)
class SourceRecord:
    """The sdist or checkout the build starts from, and its extracted tree once there is one."""

    archive: SourceArchive
    tree: SourceTree | None = None

    def to_dict(self) -> dict:
        data = {"path": str(self.archive.path), "sha256": self.archive.sha256, "kind": self.archive.kind,
                "origin": self.archive.origin}
        if self.tree is not None:
            data.update(package=self.tree.package, version=self.tree.version, tree=str(self.tree.root))
        return data


@dataclass(frozen=True)
class PreparedTree:
    """The patched (and, with ``--ops``, cut down) tree of one build, with what was done to it."""

    source: SourceRecord
    patch_report: dict
    subset: dict | None
    narrowed: dict | None = None      # build/narrow_includes.py NarrowReport.to_dict()
    unity: dict | None = None         # build/unity.py UnityReport.to_dict()


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel the build stage made, and the plan of the attempt that made it (a remedy may retry)."""

    wheel: Path
    plan: BuildPlan


@dataclass(frozen=True)
class WheelRecord:
    """The wheel of the run: where it is, where it came from, and the plan it was made for."""

    path: Path
    cache: str                   # hit | wheelhouse | built
    plan: BuildPlan
