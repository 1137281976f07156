"""Installed packages, downstream mmcv bounds read as text, and mmcv's _ext."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbuild.probe import packages

FIXTURES = Path(__file__).parent.parent / "fixtures" / "probe" / "downstream"


@pytest.mark.parametrize(("name", "bounds"), [
    ("mmdet-init-excerpt-1.x.py.txt", ("1.1.1", "1.2.0")),
    ("mmseg-init-excerpt-0.x.py.txt", ("1.1.0", "1.2.0")),
    ("mmdet-init-excerpt-3.3.0.py.txt", ("2.0.0rc4", "2.2.0")),
])
def test_parse_mmcv_bounds(name, bounds):
    assert packages.parse_mmcv_bounds((FIXTURES / name).read_text()) == bounds


def test_parse_mmcv_bounds_ignores_computed_values():
    # mmseg computes mmcv_min_version = digit_version(MMCV_MIN): only string literals count.
    assert packages.parse_mmcv_bounds("mmcv_min_version = digit_version(MMCV_MIN)\n") == (None, None)


STACK = Path(__file__).parent.parent / "fixtures" / "stack"


@pytest.mark.parametrize(("name", "mmcv", "mmengine"), [
    ("mmsegmentation-1.2.2.mmseg.__init__.py.txt", ("2.0.0rc4", "2.2.0"), ("0.5.0", "1.0.0")),  # MMCV_MIN
    ("mmpretrain-1.2.0.mmpretrain.__init__.py.txt", ("2.0.0", "2.4.0"), ("0.8.3", "1.0.0")),
    ("mmdet-2.28.2.mmdet.__init__.py.txt", ("1.3.17", "1.8.0"), (None, None)),
])
def test_parse_version_bounds_reads_mmcv_and_mmengine_apart(name, mmcv, mmengine):
    text = (STACK / name).read_text()
    assert packages.parse_version_bounds(text, "mmcv") == mmcv == packages.parse_mmcv_bounds(text)
    assert packages.parse_version_bounds(text, "mmengine") == mmengine


def test_has_ext_module():
    assert packages.has_ext_module(["mmcv/__init__.py", "mmcv/_ext.cpython-311-x86_64-linux-gnu.so"])
    assert packages.has_ext_module(["mmcv\\_ext.cp310-win_amd64.pyd"])
    assert not packages.has_ext_module(["mmcv/__init__.py", "mmcv/ops/nms.py"])


def test_mmcv_without_ext_is_ops_missing():
    files = {"mmcv": ["mmcv/__init__.py", "mmcv/ops/nms.py"]}
    findings = packages.mmcv_findings({"mmcv": "2.2.0"}, files_of=lambda n: files.get(n, []))
    assert [f.id for f in findings] == ["mmcv-ops-missing"]


def test_mmcv_with_ext_is_fine_and_lite_beside_it_is_a_dual_install():
    files = {"mmcv": ["mmcv/_ext.cpython-311-x86_64-linux-gnu.so"]}
    def files_of(name):
        return files.get(name, [])

    assert packages.mmcv_findings({"mmcv": "2.2.0"}, files_of=files_of) == []
    both = packages.mmcv_findings({"mmcv": "2.2.0", "mmcv-lite": "2.2.0"}, files_of=files_of)
    assert [f.id for f in both] == ["mmcv-dual-install"]


def test_installed_versions_of_this_environment():
    versions = packages.installed_versions()
    assert set(versions) >= {"mmcv", "mmcv-full", "setuptools"}
    assert versions["setuptools"]
    assert packages.installed_versions(("no-such-distribution-here",)) == {"no-such-distribution-here": None}


def test_downstream_constraints_from_an_installed_distribution(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "mmdet").mkdir(parents=True)
    (site / "mmdet" / "__init__.py").write_text((FIXTURES / "mmdet-init-excerpt-3.3.0.py.txt").read_text())
    info = site / "mmdet-3.3.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mmdet\nVersion: 3.3.0\n")
    (info / "RECORD").write_text("mmdet/__init__.py,,\nmmdet-3.3.0.dist-info/METADATA,,\n")
    monkeypatch.syspath_prepend(str(site))
    versions = packages.installed_versions(("mmdet",))
    assert versions == {"mmdet": "3.3.0"}
    [constraint] = packages.downstream_constraints(versions)
    assert (constraint.package, constraint.mmcv_min, constraint.mmcv_max) == ("mmdet", "2.0.0rc4", "2.2.0")
