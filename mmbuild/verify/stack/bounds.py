"""Whether the installed mmcv and mmengine fit the bounds a downstream package checks at import.

The bounds are read from the text of the package's ``__init__.py`` (never by importing it: an
import that asserts on them is what this check explains), with the parser ``mmbuild env`` uses.
The package's own test is ``minimum <= version < maximum`` on the release numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from mmbuild.probe.packages import parse_version_bounds


@dataclass(frozen=True)
class BoundCheck:
    """One dependency (mmcv or mmengine) against the range a package declares."""

    subject: str
    installed: str | None
    minimum: str | None
    maximum: str | None

    @property
    def declared(self) -> bool:
        return bool(self.minimum or self.maximum)

    @property
    def range(self) -> str:
        return ", ".join(p for p in (f">={self.minimum}" if self.minimum else "",
                                     f"<{self.maximum}" if self.maximum else "") if p)

    @property
    def holds(self) -> bool:
        """True when the installed version is inside the range (no range: nothing to break)."""
        if not self.declared:
            return True
        if self.installed is None:
            return False
        try:
            version = Version(Version(self.installed).public)  # a local label (+torch2.13cpu) aside
            low = Version(self.minimum) if self.minimum else None
            high = Version(self.maximum) if self.maximum else None
        except InvalidVersion:
            return False
        return (low is None or version >= low) and (high is None or version < high)

    def describe(self) -> str:
        if not self.declared:
            return f"{self.subject}: no bound declared"
        installed = self.installed or "not installed"
        verdict = "fits" if self.holds else "is outside"
        return f"{self.subject} {installed} {verdict} {self.range}"


def bound_checks(init_text: str, versions: dict[str, str | None]) -> list[BoundCheck]:
    """mmcv and mmengine against the bounds in ``init_text`` (a downstream ``__init__.py``)."""
    checks = []
    for subject in ("mmcv", "mmengine"):
        low, high = parse_version_bounds(init_text, subject)
        checks.append(BoundCheck(subject, versions.get(subject), low, high))
    return checks


def bounds_verdict(checks: list[BoundCheck]) -> tuple[str, str]:
    """("pass" | "fail", one line naming every bound) for a package's bound checks."""
    status = "pass" if all(c.holds for c in checks) else "fail"
    return status, "; ".join(c.describe() for c in checks)
