"""Build progress from ninja's ``[n/N]`` status lines: a bar with ETA on a terminal,
a line every so often otherwise (logs of CI jobs and batch schedulers)."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import TextIO

_STATUS = re.compile(r"^\s*\[(\d+)/(\d+)\]\s")


def parse_status(line: str) -> tuple[int, int] | None:
    """(finished, total) from a ninja status line such as ``[12/77] c++ ...``."""
    match = _STATUS.match(line)
    if not match:
        return None
    done, total = int(match.group(1)), int(match.group(2))
    return (done, total) if 0 <= done <= total and total > 0 else None


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def estimate_remaining(done: int, total: int, elapsed: float) -> float | None:
    """Seconds left, assuming the remaining steps take as long as the finished ones."""
    if done <= 0 or elapsed <= 0:
        return None
    return elapsed / done * (total - done)


class NinjaProgress:
    """Feed it every line of the build output; it reports progress on ``stream``."""

    def __init__(self, stream: TextIO | None = None, *, interactive: bool | None = None,
                 interval_s: float = 60.0, clock: Callable[[], float] = time.monotonic, width: int = 30):
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.interval_s = interval_s
        self.clock = clock
        self.width = width
        self.started = clock()
        self.done = 0
        self.total = 0
        self._last_report = -1.0
        self._last_fraction = -1.0

    def feed(self, line: str) -> None:
        status = parse_status(line)
        if status is None:
            return
        self.done, self.total = status
        self._report()

    def describe(self) -> str:
        elapsed = self.clock() - self.started
        eta = estimate_remaining(self.done, self.total, elapsed)
        eta_text = format_duration(eta) if eta is not None else "?"
        return f"{self.done}/{self.total} compiled, {format_duration(elapsed)} elapsed, ETA {eta_text}"

    def _report(self) -> None:
        now = self.clock()
        fraction = self.done / self.total
        if self.interactive:
            filled = int(self.width * fraction)
            bar = "=" * filled + (">" if filled < self.width else "") + " " * (self.width - filled - 1)
            self.stream.write(f"\r  [{bar[:self.width]}] {self.describe()}   ")
            self.stream.flush()
            return
        due = now - self._last_report >= self.interval_s or fraction - self._last_fraction >= 0.1
        if due or self.done == self.total:
            self.stream.write(f"  build: {self.describe()}\n")
            self.stream.flush()
            self._last_report, self._last_fraction = now, fraction

    def close(self) -> None:
        if self.interactive and self.total:
            self.stream.write("\n")
            self.stream.flush()
