"""The JSON Schemas of mmbuild's ``--json`` outputs (docs/schemas/), for tests to validate documents against.

Each schema is found by its name (``env``, ``plan``, ``pipeline``, ``verify``, ``diagnose``, ``cache``);
references between them (``plan-1.json#/$defs/plan``) resolve through one registry of all of them.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"
NAMES = ("env", "plan", "pipeline", "verify", "diagnose", "cache", "patch-torch")
MAJOR = 1


def schema_path(name: str) -> Path:
    return SCHEMAS / f"{name}-{MAJOR}.schema.json"


def load_schema(name: str) -> dict:
    return json.loads(schema_path(name).read_text(encoding="utf-8"))


@functools.cache
def validator(name: str):
    """A draft 2020-12 validator of schema ``name`` that resolves the references to the other schemas."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = [load_schema(n) for n in NAMES]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)
    return Draft202012Validator(load_schema(name), registry=registry)


def schema_errors(name: str, document: object) -> list[str]:
    """Every way ``document`` breaks schema ``name``, as 'path: message' lines; [] when it validates.

    An error of a ``oneOf`` is followed by the errors of each of its branches, so they name the key.
    """
    lines = []
    for error in sorted(validator(name).iter_errors(document), key=lambda e: list(e.absolute_path)):
        lines.append(f"{error.json_path}: {error.message[:300]}")
        lines += [f"  {sub.json_path}: {sub.message[:300]}" for sub in error.context or ()]
    return lines


def assert_valid(name: str, document: object) -> None:
    errors = schema_errors(name, document)
    assert errors == [], f"not a valid {name} document:\n" + "\n".join(errors[:20])
