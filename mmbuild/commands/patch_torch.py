"""``mmbuild patch-torch``: check, apply or revert the Windows PyTorch header patches.

The patches (patches/torch-windows) fix headers of torch 1.5-1.7 that nvcc + MSVC
reject when building CUDA extensions. ``--apply`` keeps a manifest and backups in
torch's include folder (``.mmbuild-patch-manifest.json`` and
``.mmbuild-patch-manifest-backup/``), so ``--revert`` restores the files byte for byte.
"""

from __future__ import annotations

import argparse

from mmbuild.errors import EXIT_OK, EXIT_PATCH_CONFLICT, PatchConflictError
from mmbuild.patching import (
    CONFLICT,
    NEEDED,
    PatchReport,
    apply_patches,
    check_patches,
    current_platform,
    revert_patches,
)
from mmbuild.patching.torch_headers import torch_patch_ids
from mmbuild.patching.torch_tree import locate_torch_tree
from mmbuild.util.console import emit_json, say, table


def _print(report: PatchReport, as_json: bool, extra: dict) -> None:
    if as_json:
        emit_json({**report.to_dict(), **extra})
        return
    say(f"torch {report.version or ''} headers in {report.root} "
        f"({report.mode}, platform {report.platform or '-'})")
    rows = [(h.patch, h.hunk, h.file, h.status + (f" ({h.reason})" if h.reason else ""))
            for h in report.hunks]
    if rows:
        say(table(rows))
    for f in report.files:
        say(f"  changed {f.file}" + (f" (backup {f.backup})" if f.backup else ""))
    if not report.hunks:
        say("  nothing to do")


HELP = "check, apply or revert the Windows PyTorch header patches"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_const", const="check", dest="mode")
    mode.add_argument("--apply", action="store_const", const="apply", dest="mode")
    mode.add_argument("--revert", action="store_const", const="revert", dest="mode")
    parser.set_defaults(mode="check")
    parser.add_argument("--torch-root", metavar="DIR", help="torch package dir or its include dir")


def run(args: argparse.Namespace) -> int:
    tree = locate_torch_tree(args.torch_root)
    ids = torch_patch_ids()
    common = {"package": "torch", "version": tree.version, "platform": current_platform()}
    extra = {"torch_dir": str(tree.package_dir)}
    if args.mode == "revert":
        report = revert_patches(tree.include_dir, tree.manifest_path)
        report.version, report.platform = tree.version, common["platform"]
    elif args.mode == "apply":
        try:
            report = apply_patches(tree.include_dir, ids, manifest_path=tree.manifest_path, **common)
        except PatchConflictError as exc:
            conflict = getattr(exc, "report", None)
            if conflict is not None:
                _print(conflict, args.json, extra)
            raise
    else:
        report = check_patches(tree.include_dir, ids, **common)
        _print(report, args.json, extra)
        if report.conflicts:
            say(f"mmbuild: error: {len(report.conflicts)} hunk(s) met unrecognised content "
                f"(first: {tree.include_dir / report.conflicts[0].file})")
            return EXIT_PATCH_CONFLICT
        if not args.json and any(h.status == NEEDED for h in report.hunks):
            say("run 'mmbuild patch-torch --apply' to apply the needed hunks")
        return EXIT_OK
    _print(report, args.json, extra)
    return EXIT_PATCH_CONFLICT if any(h.status == CONFLICT for h in report.hunks) else EXIT_OK
