"""Declarative, idempotent, CRLF-safe and revertible patches for source trees.

One engine serves mmcv's sources (patches/mmcv) and PyTorch's Windows headers
(patches/torch-windows)::

    report = apply_patches(root, ["mmcv-setup-pkg-resources"], package="mmcv",
                           version="2.2.0", platform="linux")
"""

from mmbuild.patching.engine import (
    ALREADY_APPLIED,
    APPLIED,
    CONFLICT,
    NEEDED,
    NOT_APPLICABLE,
    REVERTED,
    FileChange,
    HunkResult,
    PatchReport,
    apply_patches,
    check_patches,
    revert_patches,
)
from mmbuild.patching.files import ReadOnlyTreeError
from mmbuild.patching.spec import (
    Hunk,
    PatchSpec,
    current_platform,
    index_specs,
    load_spec,
    spec_digest,
    spec_digests,
)

__all__ = [
    "ALREADY_APPLIED", "APPLIED", "CONFLICT", "NEEDED", "NOT_APPLICABLE", "REVERTED",
    "FileChange", "Hunk", "HunkResult", "PatchReport", "PatchSpec", "ReadOnlyTreeError",
    "apply_patches", "check_patches", "current_platform", "index_specs", "load_spec",
    "revert_patches", "spec_digest", "spec_digests",
]
