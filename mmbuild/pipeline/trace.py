"""What a run has done so far: its steps as they start and end, and each completed stage's record.

The line (run.py) puts each stage's record here as the stage returns; ``report()`` assembles the run
report from them, also when a stage failed half way (the steps say where).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mmbuild.errors import MmbuildError
from mmbuild.model.build_plan import BuildPlan
from mmbuild.pipeline.records import SourceRecord, WheelRecord
from mmbuild.pipeline.report import PipelineReport, Step
from mmbuild.util.console import say

if TYPE_CHECKING:
    from mmbuild.model.stack import StackResolution


@dataclass
class Trace:
    command: str
    steps: list[Step] = field(default_factory=list)
    stack: StackResolution | None = None
    plan: BuildPlan | None = None
    source: SourceRecord | None = None
    log: Path | None = None
    wheel: WheelRecord | None = None
    placed: Path | None = None           # the wheel's copy in ``--out``
    install: object | None = None        # install/wheel.py InstallReport
    stack_install: dict | None = None
    verify: dict | None = None

    @contextlib.contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[Step]:
        """A step that runs now: announced, timed, and marked done or failed."""
        step = Step(name, "running", detail)
        self.steps.append(step)   # in the order the stages start (verify runs inside install)
        say(f"==> {name}{': ' + detail if detail else ''}")
        started = time.monotonic()
        try:
            yield step
            step.status = "done"
        except BaseException:
            step.status = "failed"
            raise
        finally:
            step.seconds = round(time.monotonic() - started, 2)

    def planned(self, name: str, detail: str) -> None:
        self.steps.append(Step(name, "planned", detail))

    def done(self, name: str, detail: str) -> None:
        """A step that took no time of its own (a wheel found in the cache or the wheelhouse)."""
        self.steps.append(Step(name, "done", detail))

    def report(self, failure: MmbuildError | None, seconds: float) -> PipelineReport:
        error = None if failure is None else {"message": failure.message, "fix": failure.fix,
                                              "problem_id": failure.problem_id,
                                              "exit_code": failure.exit_code}
        wheel = self.placed or (self.wheel.path if self.wheel else None)
        install = self.install
        if install is not None and dataclasses.is_dataclass(install):
            install = dict(install.__dict__)
        return PipelineReport(
            command=self.command, steps=self.steps,
            plan=self.plan.to_dict() if self.plan else None,
            source=self.source.to_dict() if self.source else None,
            wheel=str(wheel) if wheel else None, cache=self.wheel.cache if self.wheel else None,
            log=str(self.log) if self.log else None, install=install, verify=self.verify, error=error,
            stack=self.stack.to_dict() if self.stack else None, stack_install=self.stack_install,
            seconds=seconds, failure=failure)
