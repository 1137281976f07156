"""MSVC parsers on real cl banners and vswhere JSON (probing itself runs on Windows only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbuild.probe import msvc

FIXTURES = Path(__file__).parent.parent / "fixtures" / "probe" / "msvc"


@pytest.mark.parametrize(("name", "version", "msc_ver"), [
    ("cl-banner-19.33.31629.txt", "19.33.31629", 1933),
    ("cl-banner-19.41.34120.txt", "19.41.34120", 1941),
    ("cl-banner-19.26.28806.txt", "19.26.28806", 1926),
])
def test_parse_cl_banner(name, version, msc_ver):
    assert msvc.parse_cl_banner((FIXTURES / name).read_text()) == (version, msc_ver)


def test_parse_cl_banner_without_version():
    assert msvc.parse_cl_banner("'cl' is not recognized as an internal or external command") is None


@pytest.mark.parametrize(("name", "vs_version", "path_end"), [
    ("vswhere-vs2019-16.11.json", "16.11", "2019\\Community"),
    ("vswhere-buildtools-2022-17.13.json", "17.13", "2022\\BuildTools"),
])
def test_parse_vswhere_json(name, vs_version, path_end):
    info = msvc.parse_vswhere_json((FIXTURES / name).read_text(encoding="utf-8"))
    assert info["vs_version"] == vs_version
    assert info["path"].endswith(path_end)


def test_parse_vswhere_json_picks_the_newest_of_several():
    both = "[" + ",".join(
        (FIXTURES / n).read_text(encoding="utf-8").strip()[1:-1]
        for n in ("vswhere-buildtools-2022-17.13.json", "vswhere-vs2019-16.11.json")) + "]"
    assert msvc.parse_vswhere_json(both)["vs_version"] == "17.13"


@pytest.mark.parametrize("text", ["", "[]", "not json", '{"a": 1}'])
def test_parse_vswhere_json_empty_or_bad(text):
    assert msvc.parse_vswhere_json(text) is None
