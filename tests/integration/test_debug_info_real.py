"""Debug info in a real CPU build of mmcv 2.2.0: none by default, kept with ``--debug-symbols``.

``--ops nms`` built twice with the session venv's torch and g++: the default ``_ext`` carries no
DWARF (no ``.debug_info`` section) and the ``--debug-symbols`` one does; the plan, the fingerprint
and the wheel's metadata say which; the precompiled header of the default build is the smaller;
and both ``_ext`` define the same exported symbols, weak ones included (debug info changes no code).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from ext_exports import wheel_exports
from real_install import mmcv_args, run

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("nm") is None or shutil.which("readelf") is None,
                                 reason="nm and readelf (binutils) are not installed")]


def _build(venv: dict, out: Path, *extra: str) -> dict:
    argv = [venv["python"], "-m", "mmbuild", "build", "--json", "--ops", "nms", "--out", str(out),
            *mmcv_args("2.2.0"), *extra]
    done = run(argv, venv["env"], timeout=3600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def _sections(wheel: str, folder: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.startswith("mmcv/_ext")]
        path = archive.extract(name, folder)
    out = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"\]\s+(\.\S+)", out))


def _metadata(wheel: str) -> dict:
    with zipfile.ZipFile(wheel) as archive:
        return json.loads(archive.read("mmcv/_mmbuild.json"))


def _pch_mib(report: dict) -> int:
    build = next(s for s in report["steps"] if s["stage"] == "build")
    found = re.search(r"precompiled header (\d+) MiB", build["detail"])
    assert found, build["detail"]
    return int(found.group(1))


def test_no_debug_info_by_default_and_the_same_exports_with_it(venv, tmp_path):
    plain = _build(venv, tmp_path / "plain")
    debug = _build(venv, tmp_path / "debug", "--debug-symbols")

    assert (plain["plan"]["debug_symbols"], debug["plan"]["debug_symbols"]) == (False, True)
    assert plain["plan"]["fingerprint"] != debug["plan"]["fingerprint"]
    assert (_metadata(plain["wheel"])["debug_symbols"], _metadata(debug["wheel"])["debug_symbols"]) == (
        False, True)

    assert ".debug_info" not in _sections(plain["wheel"], tmp_path / "plain-ext")
    assert ".debug_info" in _sections(debug["wheel"], tmp_path / "debug-ext")
    assert _pch_mib(plain) < _pch_mib(debug)

    exports = wheel_exports(plain["wheel"], tmp_path / "plain-nm")
    assert any("nms_cpu" in name for name in exports)
    assert exports == wheel_exports(debug["wheel"], tmp_path / "debug-nm")
