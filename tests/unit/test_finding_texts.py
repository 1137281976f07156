"""Every finding text env and plan can print reads as a sentence: rendered here for every saved
machine (tests/fixtures/envs) under a spread of options, plus every usage error those options raise;
and every message variant of the catalogue renders with no placeholder left."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmbuild.errors import UsageError
from mmbuild.knowledge.problems import get_problem, load_catalogue, shared_texts
from mmbuild.model.environment import load_environment
from mmbuild.model.findings import Finding, finding, placeholders
from mmbuild.model.options import BuildOptions
from mmbuild.plan import make_plan
from mmbuild.plan.environment_checks import environment_findings

ENVS = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "envs").glob("*.json"))
OPTIONS = [
    {},
    {"cpu_only": True},
    {"arch": "8.6"},
    {"arch": "7.5,9.0,12.0"},
    {"mmcv": "2.2.0"},
    {"mmcv": "mmcv-full==1.7.2"},
    {"mmcv": "mmcv-full==1.5.3"},
    {"mmcv": "9.9.9"},
    {"jobs": 64},
    {"threads_per_block": 1024},
    {"ops": "nms,roi_align"},
]
# Signs of a sentence assembled from an empty or missing part.
BROKEN = [
    (re.compile(r"^[\s,;:.)\]]"), "starts with punctuation or space"),
    (re.compile(r"\bNone\b"), "prints None"),
    (re.compile(r"\(\s*\)|\[\s*\]"), "empty brackets"),
    (re.compile(r"[,;:]\s*[,;:)]"), "punctuation with nothing between"),
    (re.compile(r"\s[,;.]"), "space before punctuation"),
    (re.compile(r"\S {2,}\S"), "double space"),
    (re.compile(r"(?<!\{)\{[a-z_]+\}(?!\})"), "unfilled placeholder"),
    (re.compile(r"\s$"), "trailing space"),
]


def _problems(text: str) -> list[str]:
    if not text.strip():
        return ["empty"]
    return [why for pattern, why in BROKEN if pattern.search(text)]


def _rendered() -> dict[str, Finding | str]:
    seen: dict[str, Finding | str] = {}
    for path in ENVS:
        env = load_environment(path)
        for item in environment_findings(env):
            seen.setdefault(f"{path.stem} env {item.id}", item)
        for options in OPTIONS:
            try:
                plan = make_plan(env, BuildOptions(**options))
            except UsageError as error:
                seen.setdefault(f"{path.stem} {options} usage", error.one_line())
                continue
            for item in plan.findings:
                seen.setdefault(f"{path.stem} {options} {item.id}", item)
    return seen


RENDERED = _rendered()


def test_the_spread_reaches_many_distinct_findings() -> None:
    ids = {f.id for f in RENDERED.values() if isinstance(f, Finding)}
    assert len(ids) >= 18, sorted(ids)
    assert {"untested-version", "mmcv-version-incompatible", "gcc-unsupported"} <= ids


@pytest.mark.parametrize("key", sorted(RENDERED))
def test_finding_reads_as_a_sentence(key: str) -> None:
    item = RENDERED[key]
    if isinstance(item, str):
        assert not _problems(item), (item, _problems(item))
        return
    assert not _problems(item.message), (item.message, _problems(item.message))
    assert not item.fix or not _problems(item.fix), (item.fix, _problems(item.fix))


VARIANTS = [(pid, key) for pid, problem in load_catalogue().items() for key in problem.messages]
SHARED = sorted(shared_texts().messages)
UNFILLED = re.compile(r"\{\w+\}")


def _render(problem_id: str, key: str) -> Finding:
    problem = get_problem(problem_id)
    texts = shared_texts() if key not in problem.messages else problem
    used = placeholders(texts.messages[key]) | placeholders(texts.finding_fixes.get(key, ""))
    return finding(problem_id, message_key=key, **{name: f"<{name}>" for name in used})


def test_the_catalogue_has_finding_texts() -> None:
    assert len(VARIANTS) >= 10 and {"torch_import", "checks_failed"} <= set(SHARED)


@pytest.mark.parametrize(("problem_id", "key"), VARIANTS + [("segfault", key) for key in SHARED])
def test_every_variant_renders_with_no_placeholder_left(problem_id: str, key: str) -> None:
    rendered = _render(problem_id, key)
    assert rendered.message and not UNFILLED.search(rendered.message), rendered.message
    assert not UNFILLED.search(rendered.fix), rendered.fix
    assert not rendered.message.startswith(" ") and not rendered.message.endswith(" ")


@pytest.mark.parametrize("problem_id", sorted({pid for pid, _ in VARIANTS}))
def test_fixes_and_messages_name_the_same_variants(problem_id: str) -> None:
    problem = get_problem(problem_id)
    assert set(problem.finding_fixes) <= set(problem.messages), "a fix without its message"


def test_the_constructor_takes_severity_and_text_from_the_catalogue() -> None:
    made = finding("torch-import-failed", line="ImportError: libcudart.so.12")
    assert made == Finding("torch-import-failed", "error",
                           "torch cannot be imported: ImportError: libcudart.so.12",
                           "fix or reinstall torch in this environment, then run 'mmbuild env' again")
    assert finding("torch-import-failed", "warning", line="x").severity == "warning"
    shared = finding("mmcv-version-incompatible", message_key="torch_import", line="x")
    entry = get_problem("mmcv-version-incompatible")
    assert shared.fix == entry.fill(entry.fix, {})
    assert "{" not in shared.fix


def test_unknown_ids_variants_and_missing_facts_are_key_errors() -> None:
    with pytest.raises(KeyError, match="no-such-problem"):
        finding("no-such-problem")
    with pytest.raises(KeyError, match="no-such-variant"):
        finding("torch-import-failed", message_key="no-such-variant", line="x")
    with pytest.raises(KeyError, match="line"):
        finding("torch-import-failed")
