"""Every finding mmbuild's code raises is built from the catalogue: it names an entry and a message
variant that entry (or the shared table) has, and passes exactly the facts the variant's texts use."""

from __future__ import annotations

import ast
import pathlib
from dataclasses import dataclass

import pytest

from mmbuild.knowledge.problems import get_problem, load_catalogue, shared_texts
from mmbuild.model.findings import placeholders

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "mmbuild"
# Modules that still write a Finding's text themselves (none once every site is converted).
UNCONVERTED: set[str] = set()


@dataclass(frozen=True)
class Call:
    """One ``finding(...)`` call in mmbuild's code."""

    where: str
    problem_id: str | None  # None: decided at run time
    message_key: str | None  # None: not a literal
    facts: frozenset[str]
    spread: bool  # passes **facts


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _calls(name: str) -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _name(node.func) == name:
                found.append((f"{where}:{node.lineno}", node))
    return found


def finding_calls() -> list[Call]:
    calls = []
    for where, node in _calls("finding"):
        keywords = {k.arg: k.value for k in node.keywords}
        key = _literal(keywords.pop("message_key")) if "message_key" in keywords else "default"
        facts = frozenset(k for k in keywords if k is not None)
        calls.append(Call(where, _literal(node.args[0]) if node.args else None, key, facts, None in keywords))
    return calls


CALLS = finding_calls()


def _texts(call: Call) -> tuple[str, str | None]:
    """The message template of a call's variant, and its own fix template (None: the entry's fix)."""
    problem = get_problem(call.problem_id) if call.problem_id else None
    if problem is not None and call.message_key in problem.messages:
        return problem.messages[call.message_key], problem.finding_fixes.get(call.message_key)
    shared = shared_texts()
    return shared.messages[call.message_key], shared.finding_fixes.get(call.message_key)


def test_the_scan_sees_the_probe_and_plan_findings() -> None:
    ids = {c.problem_id for c in CALLS}
    assert {"torch-import-failed", "probe-incomplete", "mmcv-dual-install"} <= ids


def test_no_finding_text_is_written_in_the_code() -> None:
    by_hand = {where.split(":")[0] for where, _ in _calls("Finding")} - {"model/findings.py"}
    assert by_hand <= UNCONVERTED, sorted(by_hand - UNCONVERTED)
    assert not UNCONVERTED - by_hand, f"converted, drop from UNCONVERTED: {sorted(UNCONVERTED - by_hand)}"


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.where)
def test_every_call_names_a_catalogued_id_and_variant(call: Call) -> None:
    assert call.message_key is not None, "message_key must be a literal"
    shared = shared_texts().messages
    if call.problem_id is None:
        assert call.message_key in shared, "an id decided at run time needs a [shared] variant"
        return
    problem = load_catalogue().get(call.problem_id)
    assert problem is not None, f"{call.problem_id!r} is not in the catalogue"
    assert call.message_key in problem.messages or call.message_key in shared


@pytest.mark.parametrize("call", [c for c in CALLS if not c.spread], ids=lambda c: c.where)
def test_every_call_passes_exactly_the_facts_its_texts_use(call: Call) -> None:
    message, fix = _texts(call)
    used = placeholders(message) | placeholders(fix or "")
    assert used <= call.facts, f"facts missing: {sorted(used - call.facts)}"
    assert call.facts <= used, f"facts no text uses: {sorted(call.facts - used)}"
