"""Naming the catalogue problem behind an error text from mmcv or a kernel launch."""

from __future__ import annotations

import re


def classify_error(text: str) -> str | None:
    """The catalogue id that explains ``text`` (an exception or a log excerpt), or None."""
    from mmbuild.diagnose import classify

    try:
        match = classify(text)
    except Exception:  # noqa: BLE001 - classification must never fail a check run
        return None
    return match.id if match else None


_NO_DEVICE_KERNEL = re.compile(r"implementation for device (\w+)(?::\d+)? not found", re.IGNORECASE)


def missing_device_kernel(text: str) -> str | None:
    """The device an op has no kernel for, from mmcv's registry message, or None."""
    match = _NO_DEVICE_KERNEL.search(text)
    return match.group(1).lower() if match else None


_NOT_BUILT_IN_SUBSET = re.compile(r"was not built by this mmbuild subset")


def not_built_in_subset(text: str) -> bool:
    """Whether ``text`` is the error a subset build binds in place of an op it left out."""
    return bool(_NOT_BUILT_IN_SUBSET.search(text))
