"""The catalogue of known problems (problems.toml beside this module), loaded as typed records.

One catalogue serves the findings of ``env``/``plan``, the remedies the plan applies and
``diagnose``. Signatures are data: plain-substring keywords that select the lines worth a
look, and a regex searched in each such line whose named groups are extracted.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

CATALOGUE_PATH = Path(__file__).resolve().parent / "problems.toml"

SEVERITIES = ("error", "warning", "info")
KINDS = ("root", "symptom", "hint")
SCOPES = ("build", "usage", "probe", "plan")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Companion:
    """A second line that must also appear somewhere in the log for a signature to count."""

    keywords: tuple[str, ...]
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Signature:
    """One way a problem shows in a log: keywords select lines, the regex confirms and extracts."""

    problem_id: str
    keywords: tuple[str, ...]
    regex: re.Pattern[str]
    kind: str = "root"
    severity: str = "error"
    also: Companion | None = None


@dataclass(frozen=True)
class Problem:
    """A known problem: what it is, why it happens, what to do, and how to spot it."""

    id: str
    title: str
    cause: str
    fix: str
    remedy: str
    severity: str
    signatures: tuple[Signature, ...]
    scope: str = "build"
    defaults: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    finding_fixes: dict[str, str] = field(default_factory=dict)

    def placeholders(self) -> set[str]:
        """Names used as ``{name}`` in cause, fix and remedy."""
        texts = (self.cause, self.fix, self.remedy)
        return {m.group(1) for text in texts for m in _PLACEHOLDER.finditer(text)}

    def fill(self, text: str, extracted: dict[str, str]) -> str:
        """Replace ``{name}`` with the extracted value, else the problem's default."""
        values = {**self.defaults, **extracted}
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


@dataclass(frozen=True)
class SharedTexts:
    """Finding templates any problem may use: for findings whose id is decided at run time."""

    messages: dict[str, str] = field(default_factory=dict)
    finding_fixes: dict[str, str] = field(default_factory=dict)


class CatalogueError(ValueError):
    """problems.toml is malformed (a packaging bug, not a user error)."""


def _texts(raw: dict, key: str, where: str) -> dict[str, str]:
    table = raw.get(key, {})
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise CatalogueError(f"{where}: {key} must map variant names to strings")
    return dict(table)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise CatalogueError(f"{where}: bad pattern {pattern!r}: {exc}") from None


def _signature(problem_id: str, severity: str, raw: dict) -> Signature:
    where = f"{problem_id} signature {raw.get('pattern')!r}"
    keywords = tuple(raw.get("keywords", ()))
    if not keywords or not all(isinstance(k, str) and k for k in keywords):
        raise CatalogueError(f"{where}: needs non-empty keywords")
    kind = raw.get("kind", "root")
    sig_severity = raw.get("severity", severity)
    if kind not in KINDS or sig_severity not in SEVERITIES:
        raise CatalogueError(f"{where}: kind {kind!r} / severity {sig_severity!r} unknown")
    also = None
    if "also" in raw:
        also = Companion(tuple(raw["also"]["keywords"]), _compile(raw["also"]["pattern"], where))
    return Signature(problem_id, keywords, _compile(raw["pattern"], where), kind, sig_severity, also)


def _problem(raw: dict) -> Problem:
    try:
        pid, severity = raw["id"], raw["severity"]
        if severity not in SEVERITIES or raw.get("scope", "build") not in SCOPES:
            raise CatalogueError(f"{pid}: severity {severity!r} / scope unknown")
        signatures = tuple(_signature(pid, severity, s) for s in raw.get("signature", ()))
        return Problem(id=pid, title=raw["title"], cause=raw["cause"], fix=raw["fix"], remedy=raw["remedy"],
                       severity=severity, signatures=signatures, scope=raw.get("scope", "build"),
                       defaults=dict(raw.get("defaults", {})),
                       messages=_texts(raw, "messages", pid), finding_fixes=_texts(raw, "finding_fixes", pid))
    except KeyError as exc:
        raise CatalogueError(f"problem {raw.get('id', '?')!r} lacks {exc}") from None


def parse_catalogue(text: str) -> dict[str, Problem]:
    """Parse the TOML text of a catalogue into problems by id (ids must be unique)."""
    return _problems(tomllib.loads(text))


def _problems(data: dict) -> dict[str, Problem]:
    problems: dict[str, Problem] = {}
    for raw in data.get("problem", []):
        problem = _problem(raw)
        if problem.id in problems:
            raise CatalogueError(f"duplicate problem id {problem.id!r}")
        problems[problem.id] = problem
    return problems


@lru_cache(maxsize=1)
def _shipped() -> dict:
    return tomllib.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_catalogue() -> dict[str, Problem]:
    """The shipped catalogue, by id, in file order."""
    return _problems(_shipped())


@lru_cache(maxsize=1)
def shared_texts() -> SharedTexts:
    """The shipped catalogue's ``[shared]`` finding templates."""
    shared = _shipped().get("shared", {})
    return SharedTexts(_texts(shared, "messages", "shared"), _texts(shared, "finding_fixes", "shared"))


def get_problem(problem_id: str) -> Problem:
    """The catalogue entry for an id; KeyError names the unknown id."""
    try:
        return load_catalogue()[problem_id]
    except KeyError:
        raise KeyError(f"unknown problem id {problem_id!r}") from None
