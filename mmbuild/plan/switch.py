"""A build feature the plan turns on or off, with the reason it gives."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Switch:
    enabled: bool
    reason: str
