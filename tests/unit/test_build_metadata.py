"""Build metadata: the document's content and its embedding into a wheel with a valid RECORD."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import zipfile

from mmbuild.model.build_plan import BuildPlan, MmcvChoice
from mmbuild.model.environment import Compiler, Compilers, Environment, OSInfo, PythonInfo, TorchInfo
from mmbuild.wheels.metadata import METADATA_MEMBER, build_metadata, embed_in_wheel, read_wheel_metadata


def _plan() -> BuildPlan:
    return BuildPlan(mmcv=MmcvChoice("mmcv", "2.2.0", "newest"), target="cpu", cxx_std="c++20",
                     host_compiler="/usr/bin/g++", patches=["mmcv-setup-pkg-resources"],
                     env={"MMCV_WITH_OPS": "1"}, fingerprint="f" * 64)


def _env() -> Environment:
    return Environment(os=OSInfo("Linux", "6.1", "x86_64"), python=PythonInfo("3.11.7", "/usr/bin/python3"),
                       torch=TorchInfo("2.13.0+cpu", None, True),
                       compilers=Compilers(cxx=Compiler("gcc", "12.2.0", "/usr/bin/g++")))


def test_metadata_records_what_the_binary_is_for():
    doc = build_metadata(_plan(), _env(), source_sha256="s" * 64, compiler_cache="ccache")
    assert doc["fingerprint"] == "f" * 64
    assert doc["torch"] == {"version": "2.13.0+cpu", "cuda": None, "cxx11_abi": True}
    assert doc["compiler"] == {"kind": "gcc", "version": "12.2.0", "path": "/usr/bin/g++"}
    assert doc["target"] == "cpu" and doc["cxx_std"] == "c++20" and doc["ops"] == "all"
    assert doc["patches"] == ["mmcv-setup-pkg-resources"] and doc["plan"]["fingerprint"] == "f" * 64
    json.dumps(doc)


def _record_rows(archive: zipfile.ZipFile) -> list[list[str]]:
    record = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
    return list(csv.reader(io.StringIO(archive.read(record).decode())))


def _fake_wheel(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mmcv/__init__.py", "")
        archive.writestr("mmcv/_ext.so", b"\x7fELF")
        archive.writestr("mmcv-2.2.0.dist-info/METADATA", "Name: mmcv\nVersion: 2.2.0\n")
        archive.writestr("mmcv-2.2.0.dist-info/RECORD", "mmcv/__init__.py,,\n")
    return path


def test_embedding_keeps_every_member_and_writes_a_correct_record(tmp_path):
    wheel = _fake_wheel(tmp_path / "mmcv-2.2.0-cp311-cp311-linux_x86_64.whl")
    embed_in_wheel(wheel, METADATA_MEMBER, b'{"fingerprint": "x"}')
    embed_in_wheel(wheel, METADATA_MEMBER, b'{"fingerprint": "y"}')     # replacing is idempotent
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("mmcv/_ext.so") == b"\x7fELF"
        rows = _record_rows(archive)
        names = [r[0] for r in rows]
        assert sorted(names) == sorted(archive.namelist())
        assert names.count(METADATA_MEMBER) == 1
        for name, digest, size in rows:
            if name.endswith("RECORD"):
                assert digest == "" and size == ""
                continue
            data = archive.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}" and int(size) == len(data)
    assert read_wheel_metadata(wheel) == {"fingerprint": "y"}
    assert not list(tmp_path.glob(".*.tmp"))
