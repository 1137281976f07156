"""The stack resolver against the real package index: the releases' own wheels are read."""

from __future__ import annotations

import sys

import pytest

from mmbuild.probe.collect import probe_environment
from mmbuild.stack.install import resolve_for_install

pytestmark = pytest.mark.integration


def test_the_newest_mmdet_and_mmseg_resolve_mmcv_2_1_0_from_the_real_index(tmp_path, monkeypatch):
    monkeypatch.setenv("MMBUILD_CACHE_DIR", str(tmp_path / "cache"))
    resolution = resolve_for_install(["mmdet==3.3.0", "mmsegmentation==1.2.2"], [], probe_environment(),
                                     sys.executable)
    assert resolution.mmcv == "mmcv==2.1.0"
    assert [p.requirement for p in resolution.downstream] == ["mmdet==3.3.0", "mmsegmentation==1.2.2"]
    assert all(p.bounds.sources == ["metadata", "__init__.py"] for p in resolution.downstream)
    assert resolution.mmengine and resolution.mmengine.startswith("mmengine==0.")
    records = sorted(p.name for p in (tmp_path / "cache" / "downstream").iterdir())
    assert records == ["mmdet", "mmsegmentation"]
