"""The built wheel's local version label: what it says, and a wheel rewritten with it that installers take."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import subprocess
import sys
import zipfile

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from test_build_metadata import _env, _plan
from test_install import mmcv_wheel
from test_installer import UV

from mmbuild.wheels.local_version import labelled_version, local_label
from mmbuild.wheels.metadata import build_metadata
from mmbuild.wheels.relabel import relabel_wheel, wheel_version


def test_the_label_names_the_torch_release_and_the_device():
    assert local_label("cpu", "2.13.0+cpu", None) == "torch2.13cpu"
    assert local_label("cuda", "2.13.0+cu130", "13.0") == "torch2.13cu130"
    assert local_label("cuda", "2.4.1", "12.1") == "torch2.4cu121"
    assert local_label("cpu", "2.13.0+cu130", "13.0") == "torch2.13cpu"      # CPU ops on a CUDA torch
    assert local_label("cpu", None, None) is None


def test_a_labelled_version_is_a_local_version_that_the_plain_pin_accepts():
    version = labelled_version("2.1.0", "torch2.13cpu")
    assert version == "2.1.0+torch2.13cpu" and Version(version).local == "torch2.13cpu"
    assert Version(version) in SpecifierSet("==2.1.0")
    assert Version(version) in SpecifierSet(">=2.0.0rc4,<2.2.0")
    assert labelled_version("2.2.0+abc", "torch2.13cpu") == "2.2.0+abc.torch2.13cpu"
    assert labelled_version("2.1.0", None) == "2.1.0"


def test_the_build_metadata_records_the_wheels_version():
    doc = build_metadata(_plan(), _env())
    assert doc["version"] == "2.2.0" and doc["wheel_version"] == "2.2.0+torch2.13cpu"


def _members(wheel) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_relabelled_wheel_is_consistent_in_name_metadata_and_record(tmp_path):
    plain = mmcv_wheel(tmp_path, "2.1.0")
    labelled = relabel_wheel(plain, "2.1.0+torch2.13cpu")
    assert labelled.name == "mmcv-2.1.0+torch2.13cpu-py3-none-any.whl" and not plain.exists()
    assert wheel_version(labelled) == "2.1.0+torch2.13cpu"
    members = _members(labelled)
    info = "mmcv-2.1.0+torch2.13cpu.dist-info"
    assert {name.split("/")[0] for name in members} == {"mmcv", info}
    rows = list(csv.reader(io.StringIO(members[f"{info}/RECORD"].decode())))
    assert sorted(row[0] for row in rows) == sorted(members)
    for name, digest, size in rows:
        if name.endswith("/RECORD"):
            assert digest == size == ""
            continue
        data = members[name]
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={expected}" and int(size) == len(data)
    assert relabel_wheel(labelled, "2.1.0+torch2.13cpu") == labelled          # already labelled


def test_pip_with_find_links_picks_the_labelled_wheel(tmp_path):
    relabel_wheel(mmcv_wheel(tmp_path / "house", "2.1.0"), "2.1.0+torch2.13cpu")
    folder = next((tmp_path / "house").glob("*/"))
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--quiet",
                             "--ignore-installed", "--find-links", str(folder), "--report", "-",
                             "mmcv==2.1.0"],
                            capture_output=True, text=True, check=True)
    chosen = json.loads(result.stdout)["install"]
    picked = [(c["metadata"]["name"], c["metadata"]["version"]) for c in chosen]
    assert picked == [("mmcv", "2.1.0+torch2.13cpu")]


@pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)")
def test_uv_with_find_links_picks_the_labelled_wheel(tmp_path):
    relabel_wheel(mmcv_wheel(tmp_path / "house", "2.1.0"), "2.1.0+torch2.13cpu")
    folder = next((tmp_path / "house").glob("*/"))
    result = subprocess.run([UV, "pip", "compile", "-", "--no-index", "--find-links", str(folder), "--quiet",
                             "--no-header", "--no-annotate", "--python", sys.executable],
                            input="mmcv==2.1.0\n", capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["mmcv==2.1.0+torch2.13cpu"]
