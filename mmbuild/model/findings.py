"""Findings: a known problem (catalogue id) seen in an environment, plan or check.

Their text comes from the catalogue (mmbuild/knowledge/problems.toml): :func:`finding` picks an
entry's message template (and the fix that goes with it) and fills it with the facts of the case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmbuild.knowledge.problems import get_problem, shared_texts

SEVERITIES = ("error", "warning", "info")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


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


def finding(problem_id: str, severity: str | None = None, *, message_key: str = "default",
            **facts: object) -> Finding:
    """The finding ``problem_id`` with the catalogue's ``message_key`` wording filled from ``facts``.

    The severity defaults to the entry's; a variant without a fix of its own gets the entry's fix
    (its placeholders filled from the facts, else the entry's defaults).
    Variants of the catalogue's ``[shared]`` table serve every id. Unknown ids, variants and
    placeholders without a fact raise KeyError.
    """
    problem = get_problem(problem_id)
    shared = shared_texts()
    if message_key in problem.messages:
        message, fix = problem.messages[message_key], problem.finding_fixes.get(message_key)
    elif message_key in shared.messages:
        message, fix = shared.messages[message_key], shared.finding_fixes.get(message_key)
    else:
        raise KeyError(f"problem {problem_id!r} has no message {message_key!r}")
    values = {name: str(value) for name, value in facts.items()}
    where = f"{problem_id} {message_key}"
    fix_text = problem.fill(problem.fix, values) if fix is None else fill(fix, values, where)
    return Finding(problem_id, severity or problem.severity, fill(message, values, where), fix_text)


def fill(template: str, values: dict[str, str], where: str = "template") -> str:
    """``template`` with every ``{name}`` replaced by its value; a name without one is a KeyError."""

    def value(match: re.Match[str]) -> str:
        try:
            return values[match.group(1)]
        except KeyError:
            raise KeyError(f"{where}: no fact for {{{match.group(1)}}}") from None

    return _PLACEHOLDER.sub(value, template)


def placeholders(template: str) -> set[str]:
    """The ``{name}`` placeholders of a template."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(template)}


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is error-level."""
    return any(f.severity == "error" for f in findings)


def merge_findings(*groups: list[Finding]) -> list[Finding]:
    """All findings of ``groups``, errors first, without repeating one (same id and message)."""
    seen: set[tuple[str, str]] = set()
    merged = []
    for item in (f for group in groups for f in group):
        if (item.id, item.message) not in seen:
            seen.add((item.id, item.message))
            merged.append(item)
    return sorted(merged, key=lambda f: SEVERITIES.index(f.severity))
