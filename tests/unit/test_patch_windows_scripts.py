"""scripts/windows: the PowerShell script parses; the .bat wrapper passes everything on.

The parse uses tree-sitter's PowerShell grammar (PyPI: tree-sitter, tree-sitter-powershell);
the test is skipped where they are not installed. Running the scripts needs Windows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "windows"


def _parser():
    tree_sitter = pytest.importorskip("tree_sitter")
    grammar = pytest.importorskip("tree_sitter_powershell")
    return tree_sitter.Parser(tree_sitter.Language(grammar.language()))


def _error_lines(node, found: list[int]) -> list[int]:
    if node.type == "ERROR" or node.is_missing:
        found.append(node.start_point[0] + 1)
    for child in node.children:
        _error_lines(child, found)
    return found


def test_setup_msvc_ps1_parses() -> None:
    parser = _parser()
    tree = parser.parse((SCRIPTS / "setup_msvc.ps1").read_bytes())
    assert not tree.root_node.has_error, f"syntax errors at lines {_error_lines(tree.root_node, [])}"


def test_parser_catches_a_broken_script() -> None:
    assert _parser().parse(b"if ($x { Write-Host 'no closing paren' }\n").root_node.has_error


def test_setup_msvc_covers_the_required_steps() -> None:
    text = (SCRIPTS / "setup_msvc.ps1").read_text(encoding="utf-8")
    for needed in ("vswhere.exe", "Microsoft.VisualStudio.Component.VC.Tools.x86.x64",
                   "Launch-VsDevShell.ps1",
                   "vcvars64.bat", "$env:DISTUTILS_USE_SDK = '1'", "$env:CUDA_HOME = $env:CUDA_PATH",
                   "'-m', 'mmbuild', 'install'"):
        assert needed in text, needed


def test_bat_wrapper_forwards_arguments_and_exit_code() -> None:
    data = (SCRIPTS / "mmbuild-install.bat").read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n"), "cmd.exe scripts need CRLF line endings"
    text = data.decode()
    assert '-File "%~dp0setup_msvc.ps1" %*' in text and "exit /b %ERRORLEVEL%" in text
