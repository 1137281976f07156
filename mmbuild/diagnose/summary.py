"""What went wrong in a failed build's (or import's) output, in one place for every stage that reports it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmbuild.diagnose.diagnosis import diagnose_text


@dataclass
class FailureSummary:
    """What went wrong in a failed build log: a catalogue id when one matches, else the first error."""

    problem_id: str | None
    line: int | None
    excerpt: str
    fix: str | None
    extracted: dict


def summarise_failure(text: str) -> FailureSummary:
    """The most relevant problem in a failed build's output.

    A known problem of the catalogue first; otherwise the first compiler diagnostic
    (``file:line:col: error: ...``), which says more than ninja's ``FAILED:`` line; otherwise
    the first line that looks like an error.
    """
    diagnosis = diagnose_text(text)
    if diagnosis.problems:
        top = diagnosis.problems[0]
        return FailureSummary(top.id, top.line, top.excerpt.strip(), top.fix, dict(top.extracted or {}))
    compiler_error = _first_compiler_error(text)
    if compiler_error is not None:
        return compiler_error
    if diagnosis.first_error_line:
        lines = text.splitlines()
        index = diagnosis.first_error_line - 1
        excerpt = lines[index].strip() if 0 <= index < len(lines) else ""
        return FailureSummary(None, diagnosis.first_error_line, excerpt, None, {})
    return _first_error_line(text)


_COMPILER_ERROR = re.compile(r":\d+(:\d+)?: (fatal )?error\b|\berror( [A-Z]+\d+)?: |^\s*nvcc fatal\s*:")


def _first_compiler_error(text: str) -> FailureSummary | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if _COMPILER_ERROR.search(line):
            return FailureSummary(None, number, line.strip(), None, {})
    return None


def _first_error_line(text: str) -> FailureSummary:
    markers = ("error:", "Error:", "fatal", "ERROR", "Killed", "Traceback")
    for number, line in enumerate(text.splitlines(), start=1):
        if any(m in line for m in markers):
            return FailureSummary(None, number, line.strip(), None, {})
    tail = text.strip().splitlines()[-1:] or [""]
    return FailureSummary(None, None, tail[0].strip(), None, {})

