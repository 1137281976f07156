"""The local version label of a built wheel: what it was built for, after a ``+`` (PEP 440).

``2.1.0`` built against torch 2.13 for the CPU is ``2.1.0+torch2.13cpu``; for CUDA 13.0 (torch's CUDA)
``2.1.0+torch2.13cu130``. The label is in the wheel's file name and METADATA, so the user's own
tools tell mmbuild's wheel from the index's release (``pip install --find-links DIR``, uv's
find-links and sources), while a requirement ``mmcv==2.1.0`` (no label) still accepts it.
A version that already has a label (a checkout's ``2.2.0+abc``) gets this one appended.
"""

from __future__ import annotations

import re

_RELEASE = re.compile(r"^(\d+)\.(\d+)")


def local_label(target: str, torch_version: str | None, torch_cuda: str | None) -> str | None:
    """``torch2.13cpu`` / ``torch2.13cu130``; None without a torch release to name."""
    found = _RELEASE.match(torch_version or "")
    if not found:
        return None
    device = "cpu"
    if target == "cuda" and torch_cuda:
        device = "cu" + "".join(torch_cuda.split(".")[:2])
    return f"torch{found.group(1)}.{found.group(2)}{device}"


def labelled_version(version: str, label: str | None) -> str:
    """``version`` with ``label`` as (the end of) its local part."""
    if not label:
        return version
    return f"{version}.{label}" if "+" in version else f"{version}+{label}"
