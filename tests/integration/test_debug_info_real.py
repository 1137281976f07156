"""Debug info in a real CPU build of mmcv 2.2.0: none by default, kept with ``--debug-symbols``.

``--ops nms`` built twice with the session venv's torch and g++: the default ``_ext`` carries no
DWARF (no ``.debug_info`` section) and the ``--debug-symbols`` one does; the plan, the fingerprint
and the wheel's metadata say which; the precompiled header of the default build is the smaller;
and both ``_ext`` define the same exported symbols, weak ones included (debug info changes no code).
"""

from __future__ import annotations

import re
import shutil

import pytest
from ext_exports import ext_sections, wheel_exports, wheel_metadata
from real_install import build_mmcv

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("nm") is None or shutil.which("readelf") is None,
                                 reason="nm and readelf (binutils) are not installed")]


OPTIONS = ("--ops", "nms", "--compiler-cache", "none")


def _pch_mib(report: dict) -> int:
    build = next(s for s in report["steps"] if s["stage"] == "build")
    found = re.search(r"precompiled header (\d+) MiB", build["detail"])
    assert found, build["detail"]
    return int(found.group(1))


def test_no_debug_info_by_default_and_the_same_exports_with_it(venv, tmp_path):
    # no compiler cache: a warm one (an earlier run) would leave no unit to build the .gch
    plain = build_mmcv(venv["python"], venv["env"], tmp_path / "plain", *OPTIONS)
    debug = build_mmcv(venv["python"], venv["env"], tmp_path / "debug", *OPTIONS, "--debug-symbols")

    assert (plain["plan"]["debug_symbols"], debug["plan"]["debug_symbols"]) == (False, True)
    assert plain["plan"]["fingerprint"] != debug["plan"]["fingerprint"]
    assert (wheel_metadata(plain["wheel"])["debug_symbols"],
            wheel_metadata(debug["wheel"])["debug_symbols"]) == (False, True)

    assert ".debug_info" not in ext_sections(plain["wheel"], tmp_path / "plain-ext")
    assert ".debug_info" in ext_sections(debug["wheel"], tmp_path / "debug-ext")
    assert _pch_mib(plain) < _pch_mib(debug)

    exports = wheel_exports(plain["wheel"], tmp_path / "plain-nm")
    assert any("nms_cpu" in name for name in exports)
    assert exports == wheel_exports(debug["wheel"], tmp_path / "debug-nm")
