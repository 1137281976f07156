"""The patch engine on small trees: exact bytes after apply and revert, LF and CRLF."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from mmbuild.errors import PatchConflictError
from mmbuild.patching import ReadOnlyTreeError, apply_patches, check_patches, revert_patches
from mmbuild.patching.hunks import apply, judge
from mmbuild.patching.spec import Hunk

SPEC = '''
id = "demo-fix"
title = "demo"
remedies = "demo-problem"
platforms = ["linux", "windows"]

[[applies_to]]
package = "demo"
versions = ">=1.0,<2"

[[hunks]]
id = "first"
file = "src/a.txt"
find = """
alpha = 1
beta = 2
"""
replace = """
alpha = 10
beta = 20
"""

[[hunks]]
id = "second"
file = "src/a.txt"
find = "gamma()"
replace = "gamma(safe=True)"
upstream_fixed = ["gamma(strict=True)"]

[[hunks]]
id = "guard"
file = "b.h"
find = """
#define N 512
"""
replace = """
#ifndef N
#define N 512
#endif
"""
'''

A_ORIGINAL = "head\nalpha = 1\nbeta = 2\ncall gamma() here\ntail\n"
A_PATCHED = "head\nalpha = 10\nbeta = 20\ncall gamma(safe=True) here\ntail\n"
B_ORIGINAL = "#pragma once\n#define N 512\nint x;\n"
B_PATCHED = "#pragma once\n#ifndef N\n#define N 512\n#endif\nint x;\n"
KW = {"package": "demo", "version": "1.2", "platform": "linux"}


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


@pytest.fixture()
def specs(tmp_path: Path) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "demo.toml").write_text(SPEC, encoding="utf-8")
    return folder


def make_tree(root: Path, a: str, b: str) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.txt").write_bytes(a.encode())
    (root / "b.h").write_bytes(b.encode())
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("newline", ["lf", "crlf"])
def test_apply_then_revert_exact_bytes(tmp_path: Path, specs: Path, newline: str) -> None:
    conv = crlf if newline == "crlf" else (lambda s: s)
    root = make_tree(tmp_path / "tree", conv(A_ORIGINAL), conv(B_ORIGINAL))
    manifest = tmp_path / "state" / "manifest.json"
    report = apply_patches(root, ["demo-fix"], specs_dir=specs, manifest_path=manifest, **KW)
    assert [h.status for h in report.hunks] == ["applied"] * 3
    assert (root / "src" / "a.txt").read_bytes() == conv(A_PATCHED).encode()
    assert (root / "b.h").read_bytes() == conv(B_PATCHED).encode()
    recorded = json.loads(manifest.read_text())
    entry = next(f for f in recorded["files"] if f["file"] == "b.h")
    assert entry["sha256_before"] == hashlib.sha256(conv(B_ORIGINAL).encode()).hexdigest()
    assert entry["sha256_after"] == hashlib.sha256(conv(B_PATCHED).encode()).hexdigest()

    again = apply_patches(root, ["demo-fix"], specs_dir=specs, manifest_path=manifest, **KW)
    assert [h.status for h in again.hunks] == ["already-applied"] * 3 and not again.changed

    reverted = revert_patches(root, manifest)
    assert {h.status for h in reverted.hunks} == {"reverted"}
    assert snapshot(root) == {"b.h": conv(B_ORIGINAL).encode(), "src/a.txt": conv(A_ORIGINAL).encode()}
    assert not manifest.exists() and not (manifest.parent / "manifest-backup").exists()


def test_mixed_line_endings_keep_every_other_byte(tmp_path: Path) -> None:
    hunk = Hunk("h", "f", "alpha = 1\nbeta = 2\n", "alpha = 10\nbeta = 20\n")
    text = "x\nalpha = 1\r\nbeta = 2\r\ny\n"
    assert apply(text, hunk) == "x\nalpha = 10\r\nbeta = 20\r\ny\n"


def test_guard_hunk_is_idempotent_although_find_is_inside_replace() -> None:
    hunk = Hunk("g", "b.h", "#define N 512\n", "#ifndef N\n#define N 512\n#endif\n")
    once = apply(B_ORIGINAL, hunk)
    assert judge(once, hunk) == "already-applied"
    assert apply(once, hunk) == once


def test_partly_fixed_upstream_gets_the_other_hunks(tmp_path: Path, specs: Path) -> None:
    upstream = A_ORIGINAL.replace("gamma()", "gamma(strict=True)")
    root = make_tree(tmp_path / "tree", upstream, B_ORIGINAL)
    report = apply_patches(root, ["demo-fix"], specs_dir=specs, **KW)
    status = {h.hunk: (h.status, h.reason) for h in report.hunks}
    assert status == {"first": ("applied", ""), "second": ("not-applicable", "fixed upstream"),
                      "guard": ("applied", "")}
    expected = upstream.replace("alpha = 1\nbeta = 2", "alpha = 10\nbeta = 20")
    assert (root / "src" / "a.txt").read_text() == expected


def test_unknown_content_refused_and_nothing_touched(tmp_path: Path, specs: Path) -> None:
    root = make_tree(tmp_path / "tree", A_ORIGINAL, "#define N 256\n")
    before = snapshot(root)
    manifest = tmp_path / "manifest.json"
    with pytest.raises(PatchConflictError) as caught:
        apply_patches(root, ["demo-fix"], specs_dir=specs, manifest_path=manifest, **KW)
    assert caught.value.exit_code == 6 and "b.h" in caught.value.message
    assert snapshot(root) == before and not manifest.exists()
    report = check_patches(root, ["demo-fix"], specs_dir=specs, **KW)
    assert [h.status for h in report.hunks] == ["needed", "needed", "conflict"]
    assert snapshot(root) == before


def test_missing_file_is_a_conflict(tmp_path: Path, specs: Path) -> None:
    root = make_tree(tmp_path / "tree", A_ORIGINAL, B_ORIGINAL)
    (root / "b.h").unlink()
    with pytest.raises(PatchConflictError, match="file is missing"):
        apply_patches(root, ["demo-fix"], specs_dir=specs, **KW)
    assert (root / "src" / "a.txt").read_text() == A_ORIGINAL


@pytest.mark.parametrize(("package", "version", "platform"), [
    ("other", "1.2", "linux"), ("demo", "2.0", "linux"), ("demo", "1.2", "darwin")])
def test_not_applicable_outside_targets(tmp_path: Path, specs: Path, package: str, version: str,
                                        platform: str) -> None:
    root = make_tree(tmp_path / "tree", A_ORIGINAL, B_ORIGINAL)
    report = apply_patches(root, ["demo-fix"], package=package, version=version, platform=platform,
                           specs_dir=specs)
    assert {h.status for h in report.hunks} == {"not-applicable"} and not report.changed


def test_read_only_tree_is_refused_untouched(tmp_path: Path, specs: Path, monkeypatch) -> None:
    root = make_tree(tmp_path / "tree", A_ORIGINAL, B_ORIGINAL)
    before = snapshot(root)
    real_access = os.access
    def access(path, mode):  # the src folder reads as not writable
        return False if Path(path) == root / "src" else real_access(path, mode)

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(ReadOnlyTreeError, match="read-only"):
        apply_patches(root, ["demo-fix"], specs_dir=specs, **KW)
    assert snapshot(root) == before


def test_revert_refuses_a_file_changed_since(tmp_path: Path, specs: Path) -> None:
    root = make_tree(tmp_path / "tree", A_ORIGINAL, B_ORIGINAL)
    manifest = tmp_path / "manifest.json"
    apply_patches(root, ["demo-fix"], specs_dir=specs, manifest_path=manifest, **KW)
    (root / "b.h").write_text("edited by hand\n")
    patched_a = (root / "src" / "a.txt").read_bytes()
    with pytest.raises(PatchConflictError, match="changed since"):
        revert_patches(root, manifest)
    assert (root / "src" / "a.txt").read_bytes() == patched_a and manifest.exists()


def test_unknown_patch_id_is_a_usage_error(tmp_path: Path, specs: Path) -> None:
    root = make_tree(tmp_path / "tree", A_ORIGINAL, B_ORIGINAL)
    with pytest.raises(Exception, match="unknown patch id 'nope'") as caught:
        check_patches(root, ["nope"], specs_dir=specs, **KW)
    assert caught.value.exit_code == 2
