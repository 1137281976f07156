"""Findings the probe raises itself, named by catalogue id."""

from __future__ import annotations

from mmbuild.findings import Finding

PROBE_INCOMPLETE = "probe-incomplete"


def incomplete(what: str, why: str, fix: str = "") -> Finding:
    """A fact the probe could not read: the report is degraded, not wrong."""
    return Finding(PROBE_INCOMPLETE, "warning", f"could not read {what}: {why}", fix)
