"""The command line: every command's arguments live next to its run(); parsing imports no torch."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from mmbuild.cli import COMMANDS, build_parser, main


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_module_has_help_arguments_and_run(name: str) -> None:
    module = importlib.import_module(f"mmbuild.commands.{name.replace('-', '_')}")
    assert module.HELP and callable(module.add_arguments) and callable(module.run)


def test_parsing_a_command_line_imports_no_torch() -> None:
    code = ("import sys, mmbuild.cli as cli; cli.build_parser().parse_args(['verify', '--device', 'cpu']); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_build_options_are_shared_and_from_env_is_hidden_for_install() -> None:
    parser = build_parser()
    plan = parser.parse_args(["plan", "--jobs", "3", "--from-env", "a.json"])
    install = parser.parse_args(["install", "--jobs", "3", "--dry-run"])
    assert plan.jobs == install.jobs == 3 and plan.from_env == ["a.json"] and install.dry_run


@pytest.mark.parametrize("argv", [["plan", "--jobs", "0"], ["build"], ["verify", "--device", "tpu"]])
def test_bad_arguments_are_exit_2_with_one_line(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mmbuild: error:") and "\n" not in err
