"""What every stage of one run can reach: the user's options, the settings, the collaborators, the trace."""

from __future__ import annotations

from dataclasses import dataclass

from mmbuild.model.options import BuildOptions
from mmbuild.pipeline.services import Services
from mmbuild.pipeline.settings import PipelineSettings
from mmbuild.pipeline.trace import Trace
from mmbuild.pipeline.work import WorkFolder
from mmbuild.wheels.store import WheelStore


@dataclass(frozen=True)
class Run:
    options: BuildOptions          # what the user asked for; never changed (a remedy replans a copy)
    settings: PipelineSettings
    services: Services
    trace: Trace
    work: WorkFolder
    store: WheelStore
    compiler_cache: str            # the compiler cache of every compile: ccache | sccache | none
