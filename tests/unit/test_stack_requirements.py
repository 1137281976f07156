"""The user's requirements: PEP 508 from the command line and from -r files, bad input refused."""

from __future__ import annotations

import pytest

from mmbuild.errors import UsageError
from mmbuild.stack.requirements import is_mmcv_user, parse_requests


def test_arguments_and_files_give_one_requirement_per_distribution(tmp_path):
    base = tmp_path / "base.txt"
    base.write_text("mmsegmentation==1.2.2  # segmentation\n")
    main = tmp_path / "requirements.txt"
    main.write_text("# the stack\n-r base.txt\n\nmmdet>=3\nrequests\n")
    parsed = parse_requests(["mmdet<3.4", "MMPretrain"], [main])
    assert [str(r) for r in parsed] == ["mmdet<3.4,>=3", "MMPretrain", "mmsegmentation==1.2.2", "requests"]


@pytest.mark.parametrize(("args", "says"), [
    (["mmdet=3.3.0"], "is not a requirement"),
    (["mmdet @ https://example.org/mmdet.whl"], "a requirement with a URL"),
    (["torch==2.6"], "torch is kept as installed"),
    (["mmdet", "mmcv-lite"], "mmcv-lite installs the mmcv package without its ops"),
])
def test_bad_requirements_are_one_line_usage_errors(args, says):
    with pytest.raises(UsageError, match=says) as caught:
        parse_requests(args, [])
    assert "\n" not in caught.value.one_line()


def test_unreadable_files_and_options_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="cannot read the requirements file"):
        parse_requests([], [tmp_path / "missing.txt"])
    options = tmp_path / "r.txt"
    options.write_text("--index-url https://example.org/simple\nmmdet\n")
    with pytest.raises(UsageError, match="an option mmbuild does not follow"):
        parse_requests([], [options])


def test_the_openmmlab_packages_and_their_forks_are_mmcv_users():
    assert all(is_mmcv_user(n) for n in ("mmdet", "MMSegmentation", "mmdet3d", "onedl_mmpretrain"))
    assert not any(is_mmcv_user(n) for n in ("requests", "mmengine", "mmcv"))
