"""The verify report: one result per check, as in docs/schemas/verify-1.schema.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mmbuild.model.findings import Finding

KINDS = ("numeric", "load", "abi", "arch", "resources", "stack")
STATUSES = ("pass", "fail", "skip")


@dataclass
class CheckResult:
    """The outcome of one check on one device; ``id`` names a catalogue problem on failure.

    ``data`` is optional machine-readable detail (the arches in ``_ext``, registers per kernel);
    it is left out of the JSON when None, so checks without it keep the schema's fields (docs/schemas/).
    """

    name: str
    kind: str
    device: str
    status: str
    max_error: float | None = None
    seconds: float = 0.0
    seed: int | None = None
    id: str | None = None
    message: str = ""
    data: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown check kind {self.kind!r}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        result = asdict(self)
        if result["data"] is None:
            del result["data"]
        return result

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class VerifyReport:
    mmcv: dict[str, Any] = field(default_factory=dict)
    devices: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    no_cpu_kernel: list[str] = field(default_factory=list)
    no_cpu_kernel_source: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.checks) and not any(c.status == "fail" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mmcv": self.mmcv,
            "devices": self.devices,
            "checks": [c.to_dict() for c in self.checks],
            "findings": [asdict(f) for f in self.findings],
            "no_cpu_kernel": self.no_cpu_kernel,
            "no_cpu_kernel_source": self.no_cpu_kernel_source,
        }
