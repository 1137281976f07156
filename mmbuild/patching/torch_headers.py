"""The Windows torch header patches as a step of a build: check, then apply with consent.

``mmbuild install`` on Windows with torch 1.5-1.7 lists these patches in its plan. They
edit torch's headers in site-packages, so they are applied only with the user's consent
(``--patch-torch``); without it the build is blocked with the command that fixes it.
"""

from __future__ import annotations

from pathlib import Path

from mmbuild.errors import BlockedError
from mmbuild.patching.engine import NEEDED, PatchReport, apply_patches, check_patches
from mmbuild.patching.spec import current_platform, index_specs
from mmbuild.patching.torch_tree import locate_torch_tree

TORCH_PATCH_FOLDER = "torch-windows"


def torch_patch_ids() -> list[str]:
    """Ids of every Windows torch header patch that ships with mmbuild."""
    specs = index_specs().specs.values()
    return sorted(spec.id for spec in specs if spec.path.parent.name == TORCH_PATCH_FOLDER)


def split_patch_ids(patch_ids: list[str]) -> tuple[list[str], list[str]]:
    """(patches of mmcv's sources, patches of torch's headers), each in the plan's order."""
    torch_ids = set(torch_patch_ids())
    return ([p for p in patch_ids if p not in torch_ids], [p for p in patch_ids if p in torch_ids])


def prepare_torch_headers(patch_ids: list[str], *, consent: bool, torch_root: str | Path | None = None,
                          platform: str | None = None) -> PatchReport:
    """Check ``patch_ids`` on the installed torch; apply the needed hunks when ``consent``.

    Raises BlockedError when hunks are needed without consent, PatchConflictError (exit 6)
    when a header holds content no spec recognises.
    """
    tree = locate_torch_tree(torch_root)
    common = {"package": "torch", "version": tree.version, "platform": platform or current_platform()}
    report = check_patches(tree.include_dir, patch_ids, **common)
    needed = sorted({h.patch for h in report.hunks if h.status == NEEDED})
    if report.conflicts or (needed and consent):
        return apply_patches(tree.include_dir, patch_ids, manifest_path=tree.manifest_path, **common)
    if needed:
        raise BlockedError(
            f"torch {tree.version}'s headers need the Windows fixes {', '.join(needed)} before nvcc + MSVC "
            "can compile against them",
            fix="rerun with --patch-torch to let mmbuild edit them (mmbuild patch-torch --revert undoes it)",
            problem_id=needed[0],
        )
    return report
