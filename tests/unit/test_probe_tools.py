"""ninja probe."""

from __future__ import annotations

from pathlib import Path

from mmbuild.probe import tools

FIXTURES = Path(__file__).parent.parent / "fixtures" / "probe" / "ninja"


def test_parse_ninja_version():
    assert tools.parse_ninja_version((FIXTURES / "version-1.11.1.txt").read_text()) == "1.11.1"
    assert tools.parse_ninja_version((FIXTURES / "version-1.13.2.txt").read_text()) == "1.13.2"
    assert tools.parse_ninja_version("ninja: command not found") is None
