"""Findings: a known problem (catalogue id) seen in an environment, plan or check."""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning", "info")


@dataclass
class Finding:
    """One problem or notable fact, named by its catalogue id."""

    id: str
    severity: str
    message: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is error-level."""
    return any(f.severity == "error" for f in findings)
