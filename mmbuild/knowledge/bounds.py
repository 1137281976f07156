"""What a table knows about a version beyond its rows: tested, untested, or known to fail.

Every bound in the knowledge tables is one of two kinds. "Tested up to X" means mmbuild has built
and verified up to X; past it the combination is untested (a warning, and the build is tried:
preflight and verify judge it). "Known to fail from X" (or below X) means it was measured to fail,
or upstream states it does; only that kind blocks, with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from packaging.version import Version

from mmbuild.knowledge.versions import parse_version, release

Status = Literal["tested", "untested", "fails", "unknown"]


@dataclass(frozen=True)
class Judgement:
    """Where one version stands against a row's bounds, with the sentence that says why."""

    status: Status
    reason: str = ""

    @property
    def blocks(self) -> bool:
        return self.status == "fails"


@dataclass(frozen=True)
class Bounds:
    """The bounds of one table row over some version (a torch, a CUDA toolkit)."""

    subject: str  # what is judged, e.g. "torch"
    owner: str  # whose bounds these are, e.g. "mmcv 2.2.0"
    fails_below: Version | None = None
    fails_below_because: str = ""
    tested_up_to: Version | None = None
    fails_from: Version | None = None
    fails_from_because: str = ""

    def judge(self, text: str | None) -> Judgement:
        """Known to fail (below or from a bound), untested (past the tested line), else tested."""
        version = parse_version(text)
        if version is None:
            return Judgement("unknown", f"the {self.subject} version is unknown")
        if self.fails_below is not None and version < self.fails_below:
            return Judgement(
                "fails",
                f"{self.owner} is known to fail with {self.subject} older than {self.fails_below}: "
                f"{self.fails_below_because}",
            )
        if self.fails_from is not None and version >= self.fails_from:
            return Judgement(
                "fails",
                f"{self.owner} is known to fail with {self.subject} {self.fails_from} and newer: "
                f"{self.fails_from_because}",
            )
        # Tested bounds are per release line: tested up to 2.15 covers every 2.15.x.
        if self.tested_up_to is not None and release(text) > release(str(self.tested_up_to)):
            return Judgement(
                "untested",
                f"{self.owner} has been tested with {self.subject} up to {self.tested_up_to}; "
                f"{self.subject} {text} is newer",
            )
        return Judgement("tested")
