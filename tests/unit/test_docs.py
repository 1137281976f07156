"""docs/ stays true to the code: every command, option, exit code and mmbuild variable is in the CLI
contract, every package in the architecture, and every file the docs name exists."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from mmbuild import errors
from mmbuild.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CLI = (DOCS / "cli.md").read_text(encoding="utf-8")
ARCHITECTURE = (DOCS / "architecture.md").read_text(encoding="utf-8")
OLD_DESIGN_FILE = "DESIGN" + ".md"   # a design file outside the repository, no longer cited


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_cli_contract_names_every_command_and_its_options(command: str) -> None:
    parser = _subparsers()[command]
    options = {s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"}
    assert f"`mmbuild {command}`" in CLI
    assert sorted(o for o in options if f"`{o}" not in CLI and f" {o}" not in CLI) == []


def test_the_cli_contract_lists_every_exit_code() -> None:
    codes = {name: value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    assert len(codes) >= 7
    for name, value in codes.items():
        assert re.search(rf"^\| {value} \| `{name}` \|", CLI, flags=re.M), name
    assert "| 130 |" in CLI and "mmbuild: error: [problem-id] message. Fix: what to do" in CLI


def test_the_cli_contract_names_every_mmbuild_variable_the_code_reads() -> None:
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "mmbuild").rglob("*.py"))
    variables = set(re.findall(r"\bMMBUILD_[A-Z0-9_]+\b", code))
    assert "MMBUILD_CACHE_DIR" in variables
    assert sorted(v for v in variables if f"`{v}`" not in CLI) == []


def test_the_architecture_names_every_package() -> None:
    packages = sorted(p.parent.name for p in (ROOT / "mmbuild").glob("*/__init__.py"))
    assert [p for p in packages if f"`{p}/`" not in ARCHITECTURE] == []
    assert "<!-- stage-line" in ARCHITECTURE


def test_every_module_the_docs_name_exists() -> None:
    named = set(re.findall(r"`((?:[a-z_]+/)+[a-z_0-9]+\.(?:py|toml))`", ARCHITECTURE + CLI))
    missing = [n for n in sorted(named) if not any((base / n).exists() for base in
                                                   (ROOT, ROOT / "mmbuild", ROOT / "tests" / "unit"))]
    assert len(named) > 30 and missing == []


def test_every_link_of_the_docs_leads_to_a_file() -> None:
    broken = []
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert broken == []


def test_code_and_tests_cite_docs_that_exist() -> None:
    cited, stale = set(), []
    for folder in ("mmbuild", "tests", "scripts"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".sh", ".sbatch", ".md") or "fixtures" in path.parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if OLD_DESIGN_FILE in text:
                stale.append(str(path.relative_to(ROOT)))
            cited |= set(re.findall(r"\bdocs/[\w/.-]*\w", text))
    assert stale == [] and cited
    assert sorted(c for c in cited if not (ROOT / c).exists()) == []
