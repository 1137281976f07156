"""Every finding text env and plan can print reads as a sentence: rendered here for every saved
machine (tests/fixtures/envs) under a spread of options, plus every usage error those options raise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmbuild.environment import load_environment
from mmbuild.errors import UsageError
from mmbuild.findings import Finding
from mmbuild.options import BuildOptions
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
        for finding in environment_findings(env):
            seen.setdefault(f"{path.stem} env {finding.id}", finding)
        for options in OPTIONS:
            try:
                plan = make_plan(env, BuildOptions(**options))
            except UsageError as error:
                seen.setdefault(f"{path.stem} {options} usage", error.one_line())
                continue
            for finding in plan.findings:
                seen.setdefault(f"{path.stem} {options} {finding.id}", finding)
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
