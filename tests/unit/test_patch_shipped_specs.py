"""The shipped specs: mmcv source patches and the Windows torch header patches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mmbuild.cli import main
from mmbuild.commands import patch_torch
from mmbuild.patching import apply_patches, check_patches, index_specs, spec_digest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "patching"
MMCV_IDS = ["mmcv-setup-pkg-resources", "mmcv-setup-cxx-std", "mmcv-setup-cuda-args",
            "mmcv-threads-per-block", "mmcv-thc-atomics"]
TORCH_IDS = ["torch15-all-slots", "torch16-in-class-initializer", "torch17-profile-kind"]


def test_every_agreed_id_ships_and_has_a_digest() -> None:
    assert set(MMCV_IDS + TORCH_IDS) <= set(index_specs().specs)
    digest = spec_digest("mmcv-thc-atomics")
    assert len(digest) == 64 and digest != spec_digest("mmcv-setup-cxx-std")


def torch_tree(tmp_path: Path, *parts: str, crlf: bool = False) -> Path:
    """A torch package folder: version.py plus include/ assembled from fixture folders."""
    root = tmp_path / "torch"
    for part in parts:
        for src in (FIXTURES / part).rglob("*"):
            if src.is_file():
                rel = src.relative_to(FIXTURES / part)
                dest = root / rel if rel.name == "version.py" else root / "include" / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                data = src.read_bytes()
                dest.write_bytes(data.replace(b"\n", b"\r\n") if crlf and dest.suffix == ".h" else data)
    return root


def run_cli(args: list[str], capsys) -> tuple[int, dict]:
    code = main(["patch-torch", "--json", *args])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else {})


@pytest.fixture()
def on_windows(monkeypatch) -> None:
    monkeypatch.setattr(patch_torch, "current_platform", lambda: "windows")


@pytest.mark.parametrize("crlf", [False, True])
def test_torch17_apply_and_revert_byte_for_byte(tmp_path: Path, capsys, on_windows, crlf: bool) -> None:
    root = torch_tree(tmp_path, "torch-1.7", crlf=crlf)
    headers = {p: p.read_bytes() for p in (root / "include").rglob("*.h")}
    code, doc = run_cli(["--check", "--torch-root", str(root)], capsys)
    assert code == 0
    needed = {(h["patch"], h["hunk"]) for h in doc["hunks"] if h["status"] == "needed"}
    hunks = ("ir-profile-op-kind", "ir-profile-optional-op-kind", "pybind11-holder-cast", "module-policies")
    assert needed == {("torch17-profile-kind", h) for h in hunks}
    assert {p: p.read_bytes() for p in headers} == headers

    code, doc = run_cli(["--apply", "--torch-root", str(root / "include")], capsys)
    assert code == 0 and len(doc["files"]) == 3
    nl = "\r\n" if crlf else "\n"
    ir = (root / "include/torch/csrc/jit/ir/ir.h").read_bytes().decode()
    assert "Symbol Kind" not in ir and f"struct ProfileOp : public Node {{{nl}  ProfileOp(" in ir
    cast = (root / "include/pybind11/cast.h").read_bytes().decode()
    assert "explicit operator type&() { return *((type*)this->value); }" + nl in cast
    module = (root / "include/torch/csrc/jit/api/module.h").read_bytes().decode()
    assert module.count("static const bool all_slots") == 4 and "CONSTEXPR" not in module
    assert (root / "include" / ".mmbuild-patch-manifest.json").is_file()

    code, doc = run_cli(["--apply", "--torch-root", str(root)], capsys)
    assert code == 0 and doc["files"] == [] and {h["status"] for h in doc["hunks"]} >= {"already-applied"}

    code, doc = run_cli(["--revert", "--torch-root", str(root)], capsys)
    assert code == 0
    assert {p: p.read_bytes() for p in headers} == headers
    assert not (root / "include" / ".mmbuild-patch-manifest.json").exists()


def test_torch15_all_slots_leaves_named_policy(tmp_path: Path) -> None:
    root = torch_tree(tmp_path, "torch-1.5")
    report = apply_patches(root / "include", TORCH_IDS, package="torch", version="1.5.0", platform="win32")
    assert [(h.patch, h.status, h.occurrences) for h in report.hunks if h.status != "not-applicable"] == [
        ("torch15-all-slots", "applied", 3), ("torch15-all-slots", "applied", 1)]
    text = (root / "include/torch/csrc/jit/api/module.h").read_text()
    assert text.count("static const bool all_slots = false;") == 3
    assert "static const bool all_slots = true;" in text
    assert "static constexpr bool all_slots = Policy::all_slots;" in text


def test_torch17_partly_fixed_upstream(tmp_path: Path) -> None:
    root = torch_tree(tmp_path, "torch-1.7")
    shutil.copy(FIXTURES / "torch-1.8/torch/csrc/jit/ir/ir.h", root / "include/torch/csrc/jit/ir/ir.h")
    report = apply_patches(root / "include", ["torch17-profile-kind"], package="torch", version="1.7.1",
                           platform="windows")
    status = {h.hunk: (h.status, h.reason) for h in report.hunks}
    assert status["ir-profile-op-kind"] == ("not-applicable", "fixed upstream")
    assert status["ir-profile-optional-op-kind"] == ("not-applicable", "fixed upstream")
    assert status["pybind11-holder-cast"][0] == status["module-policies"][0] == "applied"


def test_torch_unknown_content_exit_6_nothing_touched(tmp_path: Path, capsys, on_windows) -> None:
    root = torch_tree(tmp_path, "torch-1.7")
    cast = root / "include/pybind11/cast.h"
    cast.write_text(cast.read_text().replace("return *(this->value);", "return *(this->ptr);"))
    before = {p: p.read_bytes() for p in (root / "include").rglob("*") if p.is_file()}
    assert run_cli(["--apply", "--torch-root", str(root)], capsys)[0] == 6
    assert run_cli(["--check", "--torch-root", str(root)], capsys)[0] == 6
    assert {p: p.read_bytes() for p in (root / "include").rglob("*") if p.is_file()} == before


def test_new_torch_on_linux_is_not_applicable(tmp_path: Path) -> None:
    root = torch_tree(tmp_path, "torch-1.8")
    report = check_patches(root / "include", TORCH_IDS, package="torch", version="1.8.0", platform="windows")
    assert {h.status for h in report.hunks} == {"not-applicable"}


@pytest.mark.parametrize("bad", ["missing-dir", "not-torch"])
def test_bad_torch_root_exit_2(tmp_path: Path, capsys, bad: str) -> None:
    target = tmp_path / bad
    if bad == "not-torch":
        target.mkdir()
    assert main(["patch-torch", "--check", "--torch-root", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


MMCV_SETUP = """import os
import platform
import re
from pkg_resources import DistributionNotFound, get_distribution, parse_version


def get_extensions():
    if EXT_TYPE == 'pytorch':
        cuda_args = os.getenv('MMCV_CUDA_ARGS')
        extra_compile_args['nvcc'] = [cuda_args] if cuda_args else []
        if platform.system() != 'Windows':
            if parse_version(torch.__version__) <= parse_version('1.12.1'):
                extra_compile_args['cxx'] = ['-std=c++14']
            else:
                extra_compile_args['cxx'] = ['-std=c++17']
        else:
            if parse_version(torch.__version__) <= parse_version('1.12.1'):
                extra_compile_args['cxx'] = ['/std:c++14']
            else:
                extra_compile_args['cxx'] = ['/std:c++17']
        if 'nvcc' in extra_compile_args and platform.system() != 'Windows':
            if parse_version(torch.__version__) <= parse_version('1.12.1'):
                extra_compile_args['nvcc'] += ['-std=c++14']
            else:
                extra_compile_args['nvcc'] += ['-std=c++17']
"""
MMCV_FILES = {
    "setup.py": MMCV_SETUP,
    "mmcv/ops/csrc/common/cuda/common_cuda_helper.hpp": "#include <cuda.h>\n#define THREADS_PER_BLOCK 512\n",
    "mmcv/ops/csrc/common/pytorch_cuda_helper.hpp": "#include <ATen/ATen.h>\n#include <THC/THCAtomics.cuh>\n",
    "mmcv/ops/csrc/pytorch/cuda/ms_deform_attn_cuda.cu": "#include <THC/THCAtomics.cuh>\n#include <cuda.h>\n",
}


def mmcv_tree(tmp_path: Path, crlf: bool) -> Path:
    for rel, text in MMCV_FILES.items():
        path = tmp_path / "mmcv-src" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((text.replace("\n", "\r\n") if crlf else text).encode())
    return tmp_path / "mmcv-src"


@pytest.mark.parametrize("crlf", [False, True])
def test_mmcv_specs_on_a_small_tree(tmp_path: Path, crlf: bool) -> None:
    root = mmcv_tree(tmp_path, crlf)
    report = apply_patches(root, MMCV_IDS, package="mmcv-full", version="1.7.2", platform="linux")
    assert {h.status for h in report.hunks} == {"applied"} and len(report.hunks) == 9
    setup = (root / "setup.py").read_bytes().decode()
    assert "pkg_resources" not in setup and setup.count("os.environ.get('MMBUILD_CXX_STD', 'c++17')") == 3
    lone_lf = setup.replace("\r\n", "").count("\n")
    assert (lone_lf == 0) if crlf else ("\r" not in setup)
    guard = (root / "mmcv/ops/csrc/common/cuda/common_cuda_helper.hpp").read_bytes().decode()
    nl = "\r\n" if crlf else "\n"
    assert nl.join(["#ifndef THREADS_PER_BLOCK", "#define THREADS_PER_BLOCK 512", "#endif", ""]) in guard
    again = apply_patches(root, MMCV_IDS, package="mmcv-full", version="1.7.2", platform="linux")
    assert {h.status for h in again.hunks} == {"already-applied"}


def test_patched_setup_gives_nvcc_each_cuda_arg_separately(tmp_path: Path) -> None:
    """The plan's MMCV_CUDA_ARGS, through the patched setup.py line, is the plan's list of flags."""
    from mmbuild.plan.cuda_args import join_cuda_args

    root = mmcv_tree(tmp_path, crlf=False)
    apply_patches(root, ["mmcv-setup-cuda-args"], package="mmcv", version="2.2.0", platform="linux")
    setup = (root / "setup.py").read_text()
    line = next(x.strip() for x in setup.splitlines() if "extra_compile_args['nvcc'] =" in x)
    flags = ["-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90,code=sm_90",
             "-DTHREADS_PER_BLOCK=256", "-Xcompiler", "-O2 -g", "-I/opt/my cuda/include"]
    scope = {"cuda_args": join_cuda_args(flags), "extra_compile_args": {}}
    exec("import os, shlex\n" + line, scope)  # noqa: S102 - the one patched line
    assert scope["extra_compile_args"]["nvcc"] == flags


def test_patched_setup_behaves_like_pkg_resources(tmp_path: Path) -> None:
    """choose_requirement's use: get_distribution raises DistributionNotFound for a missing one."""
    root = mmcv_tree(tmp_path, crlf=False)
    apply_patches(root, ["mmcv-setup-pkg-resources"], package="mmcv", version="2.2.0", platform="linux")
    head = (root / "setup.py").read_text().split("\n\n\n")[0]
    scope: dict = {}
    exec(compile(head, "setup.py", "exec"), scope)  # noqa: S102 - the three patched imports only
    assert scope["get_distribution"]("packaging").metadata["Name"] == "packaging"
    with pytest.raises(scope["DistributionNotFound"]):
        scope["get_distribution"]("surely-not-an-installed-distribution")
    assert scope["parse_version"]("2.13.0+cpu") > scope["parse_version"]("1.12.1")


def test_install_splits_source_patches_from_torch_header_patches() -> None:
    from mmbuild.patching.torch_headers import split_patch_ids

    ids = ["mmcv-setup-pkg-resources", "torch17-profile-kind", "mmcv-setup-cxx-std"]
    source, headers = split_patch_ids(ids)
    assert source == ["mmcv-setup-pkg-resources", "mmcv-setup-cxx-std"]
    assert headers == ["torch17-profile-kind"]


def test_header_patches_block_without_consent_and_apply_with_it(tmp_path: Path) -> None:
    from mmbuild.errors import EXIT_BLOCKED, BlockedError
    from mmbuild.patching.torch_headers import prepare_torch_headers

    root = torch_tree(tmp_path, "torch-1.7", crlf=True)
    before = {p: p.read_bytes() for p in (root / "include").rglob("*.h")}
    with pytest.raises(BlockedError) as blocked:
        prepare_torch_headers(["torch17-profile-kind"], consent=False, torch_root=root, platform="windows")
    assert blocked.value.exit_code == EXIT_BLOCKED and "--patch-torch" in blocked.value.one_line()
    assert {p: p.read_bytes() for p in before} == before

    windows = {"torch_root": root, "platform": "windows"}
    report = prepare_torch_headers(["torch17-profile-kind"], consent=True, **windows)
    assert len(report.files) == 3 and (root / "include" / ".mmbuild-patch-manifest.json").is_file()
    again = prepare_torch_headers(["torch17-profile-kind"], consent=False, **windows)
    assert again.files == [] and {h.status for h in again.hunks} == {"already-applied"}


def test_header_patches_refuse_unknown_content(tmp_path: Path) -> None:
    from mmbuild.errors import PatchConflictError
    from mmbuild.patching.torch_headers import prepare_torch_headers

    root = torch_tree(tmp_path, "torch-1.7")
    ir = root / "include/torch/csrc/jit/ir/ir.h"
    ir.write_text(ir.read_text().replace("static constexpr Symbol Kind", "static inline Symbol Kind"))
    before = {p: p.read_bytes() for p in (root / "include").rglob("*.h")}
    with pytest.raises(PatchConflictError):
        prepare_torch_headers(["torch17-profile-kind"], consent=True, torch_root=root, platform="windows")
    assert {p: p.read_bytes() for p in before} == before
