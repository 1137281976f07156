"""The scan: finds the first line that matches each signature, streaming block by block.

Cost is bounded per block: every distinct keyword is searched with ``bytes.find`` (fast, no
regex), and a signature's regex runs only on a line that holds one of its keywords, at most
once per line, on at most ``WINDOW`` characters around the keyword. Signatures are simple
single-line regexes, so there is no backtracking blow-up to fear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from mmbuild.diagnose.reader import decode
from mmbuild.knowledge.problems import Signature

WINDOW = 4096

# A line that looks like an error, whatever the problem: used to point at the first one.
ERROR_LINE = Signature(
    problem_id="",
    keywords=("rror", "RROR", "fatal", "FAILED", "Traceback", "Killed", "egmentation fault", "段错误"),
    regex=re.compile(
        r"(?i:\berror\b)|[A-Z]\w*Error\b|\bfatal\b|\bFAILED\b|Traceback \(most recent call last\)"
        r"|\bKilled\b|egmentation fault|段错误"
    ),
    kind="hint",
)


@dataclass
class Hit:
    """The first line where a pattern matched."""

    line: int
    text: str
    match: re.Match[str]


@dataclass
class _Probe:
    """One pattern being looked for: a signature, its companion, or the error-line detector."""

    keywords: tuple[bytes, ...]
    regex: re.Pattern[str]
    hit: Hit | None = None


@dataclass
class ScanResult:
    """First hits per signature (None when not seen) and of the generic error-line detector."""

    hits: dict[Signature, Hit | None] = field(default_factory=dict)
    companions_seen: dict[Signature, bool] = field(default_factory=dict)
    first_error: Hit | None = None
    lines: int = 0


def _line_bounds(block: bytes, pos: int) -> tuple[int, int]:
    start = block.rfind(b"\n", 0, pos) + 1
    end = block.find(b"\n", pos)
    return start, (len(block) if end == -1 else end)


def _window(block: bytes, start: int, end: int, pos: int) -> str:
    """The line around a keyword, decoded (at most WINDOW bytes of an overlong line)."""
    if end - start > WINDOW:
        half = WINDOW // 2
        start, end = max(start, pos - half), min(end, pos + half)
    return decode(block[start:end])


class Scanner:
    """Feeds blocks of a log through every probe; keeps the earliest hit of each."""

    def __init__(self, signatures: Iterable[Signature]):
        self._signatures = list(signatures)
        self._probes: list[_Probe] = []
        self._by_signature: dict[Signature, _Probe] = {}
        self._companion: dict[Signature, _Probe] = {}
        for sig in self._signatures:
            self._by_signature[sig] = self._add(sig.keywords, sig.regex)
            if sig.also is not None:
                self._companion[sig] = self._add(sig.also.keywords, sig.also.regex)
        self._error_probe = self._add(ERROR_LINE.keywords, ERROR_LINE.regex)
        self._next_line = 1

    def _add(self, keywords: tuple[str, ...], regex: re.Pattern[str]) -> _Probe:
        probe = _Probe(tuple(k.encode("utf-8") for k in keywords), regex)
        self._probes.append(probe)
        return probe

    def feed(self, block: bytes) -> None:
        """Scan one block of whole lines (the next part of the log)."""
        pending = [p for p in self._probes if p.hit is None]
        if pending:
            best: dict[int, tuple[int, int, str, re.Match[str]]] = {}
            by_keyword: dict[bytes, list[int]] = {}
            for index, probe in enumerate(pending):
                for keyword in probe.keywords:
                    by_keyword.setdefault(keyword, []).append(index)
            for keyword, owners in by_keyword.items():
                self._search_keyword(block, keyword, owners, pending, best)
            for index, (_pos, start, text, match) in best.items():
                line = self._next_line + block.count(b"\n", 0, start)
                pending[index].hit = Hit(line, text, match)
        self._next_line += block.count(b"\n")

    @staticmethod
    def _search_keyword(block: bytes, keyword: bytes, owners: list[int], pending: list[_Probe],
                        best: dict[int, tuple[int, int, str, re.Match[str]]]) -> None:
        pos = block.find(keyword)
        while pos != -1:
            open_owners = [i for i in owners if i not in best or best[i][0] > pos]
            if not open_owners:
                return
            start, end = _line_bounds(block, pos)
            text = _window(block, start, end, pos)
            for index in open_owners:
                match = pending[index].regex.search(text)
                if match is not None:
                    best[index] = (pos, start, text, match)
            pos = block.find(keyword, end)

    def result(self) -> ScanResult:
        """The earliest hits seen so far."""
        return ScanResult(
            hits={sig: self._by_signature[sig].hit for sig in self._signatures},
            companions_seen={sig: probe.hit is not None for sig, probe in self._companion.items()},
            first_error=self._error_probe.hit,
            lines=self._next_line - 1,
        )
