"""The downstream patch policy, its agreement with the shipped specs, and the record in a patched wheel."""

from __future__ import annotations

import json
import sys
import zipfile

import pytest
from packaging.specifiers import SpecifierSet

from mmbuild.build.downstream_wheel import PATCHES_MEMBER, patch_record
from mmbuild.patching import apply_patches, index_specs
from mmbuild.plan.downstream_patches import DOWNSTREAM_PATCHES, downstream_fix, downstream_patches
from mmbuild.verify.stack.supervisor import installed_stack
from mmbuild.wheels.metadata import embed_in_wheel


def test_the_newest_releases_get_their_patches_and_others_none():
    assert downstream_patches("mmengine", "0.10.7") == [
        "mmengine-checkpoint-safe-globals", "mmengine-package-utils-pkg-resources",
        "mmengine-setup-pkg-resources", "mmengine-setup-requirements"]
    assert downstream_patches("mmsegmentation", "1.2.2") == ["mmsegmentation-runtime-requirements"]
    assert downstream_patches("MMAction2", "1.2.0") == [
        "mmaction2-localizers-drn", "mmaction2-setup-requirements"]
    assert downstream_patches("mmaction2", "1.1.0") == []
    assert downstream_patches("mmdet", "3.3.0") == []
    assert downstream_patches("mmengine", "not-a-version") == []


def test_the_plan_record_says_what_was_patched_and_why():
    record = downstream_fix("mmaction2", "1.2.0").to_dict()
    assert record["package"] == "mmaction2" and record["action"] == "patch"
    assert record["patches"][0]["id"] == "mmaction2-localizers-drn"
    assert "localizers.drn" in record["patches"][0]["why"]
    assert downstream_fix("mmpretrain", "1.2.0") is None


@pytest.mark.parametrize("entry", DOWNSTREAM_PATCHES, ids=lambda e: e.patch_id)
def test_each_policy_entry_has_a_spec_for_the_same_releases(entry):
    spec = index_specs().get(entry.patch_id)
    ranges = {(t.package, t.versions) for t in spec.targets}
    assert (entry.package, SpecifierSet(entry.versions)) in ranges


def test_a_spec_refuses_text_it_was_not_written_for(tmp_path):
    root = tmp_path / "mmaction2-1.2.0"
    (root / "mmaction/models/localizers").mkdir(parents=True)
    init = root / "mmaction/models/localizers/__init__.py"
    init.write_text("from .bmn import BMN\n", encoding="utf-8")
    from mmbuild.errors import PatchConflictError

    with pytest.raises(PatchConflictError):
        apply_patches(root, ["mmaction2-localizers-drn"], package="mmaction2", version="1.2.0",
                      platform="linux")
    assert init.read_text(encoding="utf-8") == "from .bmn import BMN\n"


def test_the_patch_record_goes_into_the_wheel_under_the_package(tmp_path):
    wheel = tmp_path / "mmengine-0.10.7-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mmengine/__init__.py", "")
        zf.writestr("mmengine-0.10.7.dist-info/RECORD", "mmengine/__init__.py,,\n")
    record = patch_record("mmengine", "0.10.7", "ab" * 32, ["mmengine-checkpoint-safe-globals"])
    embed_in_wheel(wheel, f"mmengine/{PATCHES_MEMBER}", json.dumps(record).encode())
    with zipfile.ZipFile(wheel) as zf:
        assert json.loads(zf.read("mmengine/_mmbuild_patches.json"))["patches"] == [
            "mmengine-checkpoint-safe-globals"]
        assert "mmengine/_mmbuild_patches.json" in zf.read("mmengine-0.10.7.dist-info/RECORD").decode()


def test_installed_stack_reads_the_target_pythons_distributions(tmp_path):
    dist = tmp_path / "mmdet-3.3.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mmdet\nVersion: 3.3.0\n", encoding="utf-8")
    wrapper = tmp_path / "python"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={tmp_path} exec {sys.executable} \"$@\"\n", encoding="utf-8")
    wrapper.chmod(0o755)
    assert installed_stack(str(wrapper)).get("mmdet") == "3.3.0"
    assert installed_stack(str(tmp_path / "no-such-python")) == {}


def test_requirements_of_the_sdist_and_of_the_built_wheel(tmp_path):
    from mmbuild.build.downstream_wheel import sdist_requirements, wheel_requirements

    info = tmp_path / "mmengine.egg-info"
    info.mkdir()
    # The head of mmengine 0.10.7's sdist mmengine.egg-info/requires.txt.
    text = "addict\nmatplotlib\n\n[:sys_platform == \"win32\"]\nregex\n\n[all]\nx\n"
    (info / "requires.txt").write_text(text, encoding="utf-8")
    assert sdist_requirements(tmp_path) == ["addict", "matplotlib"]
    assert sdist_requirements(tmp_path / "elsewhere") == []
    wheel = tmp_path / "mmengine-0.10.7-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mmengine-0.10.7.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: mmengine\nVersion: 0.10.7\nRequires-Dist: addict\n"
                    "Requires-Dist: regex; sys_platform == \"win32\"\n"
                    "Requires-Dist: pytest; extra == \"tests\"\n")
    assert wheel_requirements(wheel) == ["addict", "regex; sys_platform == \"win32\""]
