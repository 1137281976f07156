"""From a log to a Diagnosis: the known problems found, most relevant first.

Relevance: error-level before warnings; within a level, a line that states a cause (``root``)
before a consequence (``symptom``) before context (``hint``); then the earliest line first, so
the first hard error of a build beats the warnings before it and the fallout after it.
Info-level hints only support a problem; alone they report nothing.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmbuild.diagnose.matcher import Hit, Scanner, ScanResult
from mmbuild.diagnose.reader import BLOCK_BYTES, LogSource, iter_blocks
from mmbuild.knowledge.problems import KINDS, SEVERITIES, Problem, Signature, load_catalogue

EXCERPT_CHARS = 300
_BOX = re.compile(r"^[\s│|>]+")
_TRAILING_DIGITS = re.compile(r"\d+$")


@dataclass
class Match:
    """A known problem found in a log."""

    id: str
    line: int
    excerpt: str
    cause: str
    fix: str
    remedy: str
    extracted: dict[str, str] = field(default_factory=dict)
    severity: str = "error"
    title: str = ""
    kind: str = "root"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Diagnosis:
    """Every known problem found (most relevant first) and the first line that looks like an error."""

    problems: list[Match]
    first_error_line: int | None
    first_error_excerpt: str = ""
    lines: int = 0

    @property
    def has_errors(self) -> bool:
        return any(m.severity == "error" for m in self.problems)

    def ids(self) -> list[str]:
        return [m.id for m in self.problems]

    def to_dict(self) -> dict[str, Any]:
        return {"problems": [m.to_dict() for m in self.problems], "first_error_line": self.first_error_line}


def excerpt(text: str, match: re.Match[str] | None = None) -> str:
    """The matched line without pip's indentation and box drawing, cut to a readable length."""
    text = _BOX.sub("", text.replace("\r", " ")).rstrip()
    if len(text) <= EXCERPT_CHARS:
        return text
    centre = match.start() if match is not None else 0
    start = max(0, min(centre - EXCERPT_CHARS // 3, len(text) - EXCERPT_CHARS))
    return ("…" if start else "") + text[start:start + EXCERPT_CHARS] + "…"


def _extracted(match: re.Match[str]) -> dict[str, str]:
    """Named groups that matched; ``name2`` aliases (regex groups must be unique) fold into ``name``."""
    values: dict[str, str] = {}
    for name, value in match.groupdict().items():
        if value is not None:
            values.setdefault(_TRAILING_DIGITS.sub("", name), value)
    return values


def _rank(severity: str, kind: str, line: int) -> tuple[int, int, int]:
    return SEVERITIES.index(severity), KINDS.index(kind), line


def _best_hit(problem: Problem, scan: ScanResult) -> tuple[Signature, Hit] | None:
    found = [(sig, hit) for sig, hit in ((s, scan.hits.get(s)) for s in problem.signatures)
             if hit is not None and (sig.also is None or scan.companions_seen.get(sig, False))]
    if not found or all(sig.severity == "info" for sig, _ in found):
        return None
    return min(found, key=lambda pair: _rank(pair[0].severity, pair[0].kind, pair[1].line))


def _match(problem: Problem, sig: Signature, hit: Hit) -> Match:
    values = _extracted(hit.match)
    return Match(id=problem.id, line=hit.line, excerpt=excerpt(hit.text, hit.match),
                 cause=problem.fill(problem.cause, values), fix=problem.fill(problem.fix, values),
                 remedy=problem.fill(problem.remedy, values), extracted=values,
                 severity=sig.severity, title=problem.title, kind=sig.kind)


def diagnose_scan(scan: ScanResult, catalogue: dict[str, Problem]) -> Diagnosis:
    """Turn raw first hits into ranked problems."""
    ranked = []
    for problem in catalogue.values():
        best = _best_hit(problem, scan)
        if best is not None:
            sig, hit = best
            # On one line, the signature that explains more of it (a longer match) is the more specific.
            ranked.append((*_rank(sig.severity, sig.kind, hit.line), -len(hit.match.group(0)),
                           _match(problem, sig, hit)))
    ranked.sort(key=lambda entry: entry[:4])
    matches = [entry[4] for entry in ranked]
    candidates = [h.line for h in [scan.first_error] if h is not None]
    candidates += [m.line for m in matches if m.severity == "error"]
    first_line = min(candidates) if candidates else None
    first_excerpt = ""
    if first_line is not None:
        if scan.first_error is not None and scan.first_error.line == first_line:
            first_excerpt = excerpt(scan.first_error.text, scan.first_error.match)
        else:
            first_excerpt = next(m.excerpt for m in matches if m.line == first_line)
    return Diagnosis(matches, first_line, first_excerpt, scan.lines)


def diagnose_stream(source: LogSource, catalogue: dict[str, Problem] | None = None,
                    block_bytes: int = BLOCK_BYTES) -> Diagnosis:
    """Diagnose a log given as a binary or text stream, bytes, text, or an iterable of lines."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    scanner = Scanner(sig for problem in catalogue.values() for sig in problem.signatures)
    for block in iter_blocks(source, block_bytes):
        scanner.feed(block)
    return diagnose_scan(scanner.result(), catalogue)


def diagnose_text(text: str, catalogue: dict[str, Problem] | None = None) -> Diagnosis:
    """Diagnose error text: a build log, a traceback, a training log."""
    return diagnose_stream(text, catalogue)


def classify(text: str) -> Match | None:
    """The catalogue problem that best explains an error text (an exception, a log excerpt), or None:
    the one classifier that build, verify and the probe use."""
    problems = diagnose_text(text).problems
    return problems[0] if problems else None


def diagnose_file(path: str | Path, catalogue: dict[str, Problem] | None = None) -> Diagnosis:
    """Diagnose a log file, streamed (large logs never sit in memory whole)."""
    with open(path, "rb") as stream:
        return diagnose_stream(stream, catalogue)
