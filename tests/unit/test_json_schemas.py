"""The JSON Schemas of docs/schemas/ hold for mmbuild's real ``--json`` outputs and fail broken documents.

Three sources of documents: outputs captured on a real machine (tests/fixtures/outputs/, its README says
which command made each), documents made here in-process by the commands themselves (so a schema cannot
drift from the code), and real documents with a required key taken out or a key of the wrong type.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from json_schemas import NAMES, SCHEMAS, load_schema, schema_errors, validator

from mmbuild.cli import main
from mmbuild.model.environment import SCHEMA as ENVIRONMENT_SCHEMA

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OUTPUTS = FIXTURES / "outputs"
ENVS = sorted((FIXTURES / "envs").glob("*.json"))
LOGS = sorted(p for p in (FIXTURES / "logs").rglob("*") if p.is_file() and p.name != "README.md")
# A captured output's schema, by the first word of its file name (the command that printed it).
SCHEMA_OF_COMMAND = {"env": "env", "plan": "plan", "install": "pipeline", "build": "pipeline",
                     "verify": "verify", "diagnose": "diagnose", "cache": "cache", "patch": "patch-torch"}
CAPTURED = sorted(OUTPUTS.glob("*.json"))


def _schema_of(path: Path) -> str:
    return SCHEMA_OF_COMMAND[path.name.split("-")[0].split(".")[0]]


def _top_level_required(schema: dict, document: dict) -> set[str]:
    """The keys a document must have: those of the schema, of its branch (cache) or of its $ref (plan)."""
    if "oneOf" in schema:
        branches = [b for b in schema["oneOf"] if set(b["required"]) <= set(document)]
        return {key for branch in branches for key in branch["required"]}
    if schema.get("$ref", "").startswith("#/$defs/"):
        return set(schema["$defs"][schema["$ref"].rsplit("/", 1)[1]]["required"])
    return set(schema["required"])


def _run_json(capsys, argv: list[str]) -> tuple[int, object]:
    rc = main([*argv, "--json"])
    return rc, json.loads(capsys.readouterr().out)


# ---------------------------------------------------------------- the schemas themselves


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_a_valid_draft_2020_12_schema_with_a_versioned_id(name: str) -> None:
    from jsonschema import Draft202012Validator

    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://github.com/mmbuild/mmbuild/docs/schemas/{name}-1.json"
    assert "schema version 1." in schema["title"] and schema["$comment"].startswith("version 1.")


def test_every_schema_file_is_one_of_the_named_outputs() -> None:
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(f"{n}-1.schema.json" for n in NAMES)


def test_the_environment_schema_number_is_the_schema_major_version() -> None:
    assert load_schema("env")["properties"]["schema"]["const"] == ENVIRONMENT_SCHEMA


def test_the_docs_link_every_schema() -> None:
    cli = (SCHEMAS.parent / "cli.md").read_text(encoding="utf-8")
    assert all(f"schemas/{name}-1.schema.json" in cli for name in NAMES)


# ---------------------------------------------------------------- captured real outputs


def test_every_schema_has_captured_real_outputs() -> None:
    assert {_schema_of(p) for p in CAPTURED} == set(NAMES)
    readme = (OUTPUTS / "README.md").read_text(encoding="utf-8")
    assert [p.name for p in CAPTURED if f"`{p.name}`" not in readme] == []


@pytest.mark.parametrize("path", CAPTURED, ids=lambda p: p.name)
def test_captured_output_validates(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert schema_errors(_schema_of(path), document) == []


def test_the_captured_install_outputs_cover_success_dry_run_and_failure() -> None:
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in CAPTURED if _schema_of(p) == "pipeline"]
    assert any(r["ok"] and r["verify"] and r["install"] for r in reports)
    assert any(r["ok"] and r["stack"] and r["stack_install"] and r["stack_install"]["added"] for r in reports)
    assert any(r["ok"] and any(s["status"] == "planned" for s in r["steps"]) for r in reports)
    assert {r["error"]["exit_code"] for r in reports if not r["ok"]} >= {2, 3}


# ---------------------------------------------------------------- live outputs, made here


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.stem)
def test_live_plan_from_every_saved_environment_validates(capsys, env: Path) -> None:
    rc, document = _run_json(capsys, ["plan", "--from-env", str(env)])
    assert rc == (0 if document["ok"] else 3)
    assert schema_errors("plan", document) == []


def test_live_fleet_plan_validates(capsys) -> None:
    nodes = [str(ENVS[0]), str(FIXTURES / "envs" / "fleet-node-l4.json")]
    _, document = _run_json(capsys, ["plan", *(a for n in nodes for a in ("--from-env", n))])
    assert schema_errors("plan", document) == []


def test_live_diagnose_of_every_log_fixture_validates(capsys) -> None:
    broken = {}
    for log in LOGS:
        rc, document = _run_json(capsys, ["diagnose", str(log)])
        errors = schema_errors("diagnose", document)
        if rc != 0 or errors:
            broken[str(log.relative_to(FIXTURES))] = errors or rc
    assert len(LOGS) > 100 and broken == {}


def test_live_cache_list_and_prune_on_an_empty_cache_validate(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(tmp_path / "cache"))
    forms = (["cache"], ["cache", "list"], ["cache", "prune", "--all"], ["cache", "prune", "logs", "work"])
    for argv in forms:
        rc, document = _run_json(capsys, argv)
        assert rc == 0 and schema_errors("cache", document) == [], argv


def test_live_cache_prune_of_real_entries_validates(capsys, tmp_path, monkeypatch) -> None:
    root = tmp_path / "cache"
    (root / "logs").mkdir(parents=True)
    (root / "logs" / "build-old.log").write_text("log\n", encoding="utf-8")
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(root))
    rc, document = _run_json(capsys, ["cache", "prune", "logs"])
    assert rc == 0 and document["removed"] == {"logs": [str(root / "logs" / "build-old.log")]}
    assert schema_errors("cache", document) == []


def test_live_patch_torch_check_validates(capsys) -> None:
    pytest.importorskip("torch")        # it reads the installed torch's headers
    rc, document = _run_json(capsys, ["patch-torch", "--check"])
    assert rc == 0 and schema_errors("patch-torch", document) == []


def test_live_install_dry_run_and_its_blocked_form_validate(capsys) -> None:
    """The run report of this machine's dry run, and of one its plan blocks (mmcv-full 1.5 forces C++14,
    which the test's torch refuses): nothing is built either way."""
    pytest.importorskip("torch")        # the plan is made for the installed torch
    rc, document = _run_json(capsys, ["install", "--dry-run"])
    assert rc == 0 and document["ok"] and schema_errors("pipeline", document) == []
    rc, document = _run_json(capsys, ["install", "--dry-run", "--mmcv", "mmcv-full==1.5.0"])
    assert rc == 3 and document["error"]["exit_code"] == 3
    assert schema_errors("pipeline", document) == []


def test_live_env_of_this_machine_validates(capsys) -> None:
    rc, document = _run_json(capsys, ["env"])
    assert rc == 0 and schema_errors("env", document) == []


# ---------------------------------------------------------------- documents that break a schema


def _required_keys(name: str) -> list[tuple[Path, str]]:
    schema = load_schema(name)
    cases = []
    for path in CAPTURED:
        if _schema_of(path) != name:
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        cases += [(path, key) for key in sorted(_top_level_required(schema, document))]
    return cases


MISSING = [case for name in NAMES for case in _required_keys(name)]


@pytest.mark.parametrize(("path", "key"), MISSING, ids=[f"{p.stem}-{k}" for p, k in MISSING])
def test_a_document_missing_a_required_key_fails(path: Path, key: str) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    del document[key]
    assert any(key in error for error in schema_errors(_schema_of(path), document))


def _captured(name: str) -> dict:
    return json.loads((OUTPUTS / name).read_text(encoding="utf-8"))


def _broken(name: str, change) -> list[str]:
    document = copy.deepcopy(_captured(name))
    change(document)
    return schema_errors(_schema_of(OUTPUTS / name), document)


@pytest.mark.parametrize(("name", "change"), [
    ("env.json", lambda d: d["torch"].pop("cxx11_abi")),
    ("env.json", lambda d: d.update(cpus="2")),
    ("env.json", lambda d: d["findings"].append({"id": "x", "severity": "fatal", "message": "m", "fix": ""})),
    ("env.json", lambda d: d.update(schema=2)),
    ("plan.json", lambda d: d.update(target="rocm")),
    ("plan.json", lambda d: d["env"].update(MAX_JOBS=2)),
    ("plan.json", lambda d: d.update(fingerprint="not-a-sha256")),
    ("plan.json", lambda d: d.update(unknown_key=1)),
    ("install-ops-nms.json", lambda d: d["plan"].pop("fingerprint")),
    ("install-ops-nms.json", lambda d: d["verify"]["checks"][0].update(status="passed")),
    ("install-ops-nms.json", lambda d: d["verify"].pop("seed")),
    ("install-ops-nms.json", lambda d: d["steps"][0].pop("seconds")),
    ("install-ops-nms.json", lambda d: d.update(ok=False)),
    ("install-ops-nms.json", lambda d: d["install"].update(restored="no")),
    ("install-dry-run.json", lambda d: d["plan"].update(unknown_key=1)),
    ("install-dry-run.json", lambda d: d["steps"][-1].update(status="running")),
    ("install-stack-dry-run.json", lambda d: d["stack"]["downstream"][0]["bounds"].pop("mmcv")),
    ("install-stack-mmdet-mmseg.json", lambda d: d["stack_install"]["replaced"]["mmengine"].pop()),
    ("install-stack-mmdet-mmseg.json", lambda d: d["stack_install"].pop("patched")),
    ("install-stack-mmdet-mmseg.json", lambda d: d["source"].pop("package")),
    ("install-blocked-exit-3.json", lambda d: d.update(error=None)),
    ("install-blocked-exit-3.json", lambda d: d["error"].pop("exit_code")),
    ("verify.json", lambda d: d["checks"][0].update(kind="speed")),
    ("verify.json", lambda d: d.update(ok="yes")),
    ("diagnose-compiler-oom.json", lambda d: d["problems"][0].pop("cause")),
    ("diagnose-compiler-oom.json", lambda d: d.update(first_error_line="2")),
    ("cache-list.json", lambda d: d["parts"][0].update(part="everything")),
    ("cache-prune.json", lambda d: d.pop("in_use")),
    ("patch-torch-check.json", lambda d: d["hunks"][0].update(status="done")),
])
def test_a_real_document_with_a_wrong_key_fails(name: str, change) -> None:
    assert _broken(name, change) != []


def test_a_schema_accepts_nothing_that_is_not_an_object() -> None:
    for name in NAMES:
        assert not validator(name).is_valid([]) and not validator(name).is_valid({})
