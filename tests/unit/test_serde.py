"""Plain-data round trips, including the annotation strings Python 3.9 cannot evaluate itself."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path

from mmbuild.model.environment import Environment, load_environment
from mmbuild.model.serde import _evaluate, from_dict, to_dict

ENVS = Path(__file__).resolve().parents[1] / "fixtures" / "envs"


@dataclass
class Inner:
    name: str
    size: int | None = None


@dataclass
class Outer:
    inner: Inner | None
    items: list[Inner] = field(default_factory=list)
    tags: dict[str, str | None] = field(default_factory=dict)


def test_pep604_strings_become_unions_like_python_310_reads_them() -> None:
    namespace = {"dict": dict, "list": list, "str": str, "int": int, "None": None, "Inner": Inner}
    assert _evaluate("dict[str, str | None]", namespace) == dict[str, typing.Optional[str]]
    assert _evaluate("Inner | None", namespace) == typing.Optional[Inner]
    assert _evaluate("list[Inner]", namespace) == list[Inner]


def test_nested_dataclasses_round_trip() -> None:
    value = Outer(Inner("a", 3), [Inner("b")], {"x": None, "y": "z"})
    assert from_dict(Outer, to_dict(value)) == value


def test_every_saved_report_round_trips() -> None:
    for path in sorted(ENVS.glob("*.json")):
        env = load_environment(path)
        assert from_dict(Environment, to_dict(env)) == env, path.name
