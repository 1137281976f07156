"""One arch type: every spelling that tools print or users type, and which code runs where."""

from __future__ import annotations

import pytest

from mmbuild.knowledge.arch import Arch, dotted


@pytest.mark.parametrize("text, expected", [
    ("8.6", "8.6"), ("86", "8.6"), ("sm_86", "8.6"), ("compute_86", "8.6"), ("SM_86", "8.6"),
    ("9.0a", "9.0a"), ("sm_90a", "9.0a"), ("compute_90a", "9.0a"), ("12.0", "12.0"), ("sm_120", "12.0"),
    ("120", "12.0"), ("sm_100a", "10.0a"), (" 7.5 ", "7.5"), ("3.5", "3.5"),
])
def test_every_spelling_names_the_same_arch(text, expected):
    assert str(Arch.parse(text)) == expected and dotted(text) == expected


@pytest.mark.parametrize("text", ["", "sm_", "8", "8.60", "Ampere", "sm_8x", "compute 86", "8.6+PTX"])
def test_what_is_not_an_arch_is_none(text):
    assert Arch.parse(text) is None


def test_names_and_order():
    arch = Arch.parse("sm_90a")
    assert (arch.number, arch.sm, arch.compute, arch.base) == ("90a", "sm_90a", "compute_90a", Arch(9, 0))
    assert sorted(Arch.parse(t) for t in ["12.0", "9.0", "8.6", "10.0"]) == [
        Arch(8, 6), Arch(9, 0), Arch(10, 0), Arch(12, 0)]


def test_which_code_runs_on_which_device():
    sm80, sm86, sm90, sm90a, sm120 = (Arch.parse(t) for t in ("8.0", "8.6", "9.0", "9.0a", "12.0"))
    assert sm80.sass_runs_on(sm86) and not sm86.sass_runs_on(sm80) and not sm80.sass_runs_on(sm90)
    assert sm80.ptx_runs_on(sm90) and sm80.ptx_runs_on(sm120) and not sm90.ptx_runs_on(sm86)
    assert sm90a.sass_runs_on(sm90) and not sm90a.sass_runs_on(Arch(9, 1))
    assert not sm90a.ptx_runs_on(sm120)
