"""What one install or build run reports: its steps in the order they started, and the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.errors import MmbuildError


@dataclass
class Step:
    stage: str
    status: str                 # done | skipped | planned | failed
    detail: str = ""
    seconds: float = 0.0


@dataclass
class PipelineReport:
    command: str
    steps: list[Step] = field(default_factory=list)
    plan: dict | None = None
    source: dict | None = None
    wheel: str | None = None
    cache: str | None = None          # hit | wheelhouse | built
    log: str | None = None
    install: dict | None = None
    verify: dict | None = None
    error: dict | None = None
    stack: dict | None = None          # the resolved downstream packages (install mmdet ...)
    stack_install: dict | None = None  # what installing them changed
    seconds: float = 0.0               # wall time of the whole run (stages nest: verify runs in install)
    failure: MmbuildError | None = field(default=None, repr=False)   # what stopped the run (not JSON)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return {"ok": self.ok, "command": self.command, "plan": self.plan, "source": self.source,
                "wheel": self.wheel, "cache": self.cache, "log": self.log, "install": self.install,
                "verify": self.verify, "stack": self.stack, "stack_install": self.stack_install,
                "steps": [s.__dict__ for s in self.steps], "error": self.error, "seconds": self.seconds}
