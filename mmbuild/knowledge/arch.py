"""A GPU architecture, one parser for every spelling: ``8.6``, ``86``, ``sm_86``, ``compute_86``,
``9.0a``, ``sm_90a``, ``12.0``, ``sm_120`` (``+PTX`` is a property of an arch list's entry, not of
the arch: ``plan/arch_list.py``).

Which code runs where: SASS for X.Y runs on devices X.Z with Z >= Y; PTX for X.Y is compiled by
the driver for any device of capability >= X.Y; code for an arch-specific target (``9.0a``) runs
only on that exact capability.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DOTTED = re.compile(r"^(\d{1,2})\.(\d)([a-z]?)$")
_DIGITS = re.compile(r"^(?:sm_|compute_)?(\d{1,2})(\d)([a-z]?)$")


@dataclass(frozen=True, order=True)
class Arch:
    major: int
    minor: int
    variant: str = ""        # "a": arch-specific features, runs only on this capability

    @classmethod
    def parse(cls, text: str) -> Arch | None:
        """The arch ``text`` names, or None when it names none."""
        cleaned = text.strip().lower()
        match = _DOTTED.match(cleaned) or _DIGITS.match(cleaned)
        if not match:
            return None
        major, minor, variant = match.groups()
        return cls(int(major), int(minor), variant)

    @property
    def base(self) -> Arch:
        return Arch(self.major, self.minor)

    @property
    def key(self) -> tuple[int, int]:
        return self.major, self.minor

    @property
    def number(self) -> str:
        """The digits nvcc's names use: ``86``, ``90a``, ``120``."""
        return f"{self.major}{self.minor}{self.variant}"

    @property
    def sm(self) -> str:
        return f"sm_{self.number}"

    @property
    def compute(self) -> str:
        return f"compute_{self.number}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}{self.variant}"

    def sass_runs_on(self, device: Arch) -> bool:
        if self.variant:
            return self.key == device.key
        return self.major == device.major and self.minor <= device.minor

    def ptx_runs_on(self, device: Arch) -> bool:
        return self.key == device.key if self.variant else self.key <= device.key


def dotted(text: str) -> str | None:
    """``"sm_86"`` -> ``"8.6"``, ``"sm_90a"`` -> ``"9.0a"``; None when ``text`` names no arch."""
    arch = Arch.parse(text)
    return str(arch) if arch else None
