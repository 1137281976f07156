"""Naming the catalogue problem behind an error text from mmcv or a kernel launch."""

from __future__ import annotations

import re

# Used when the diagnose catalogue is unavailable; the most specific pattern comes first.
_FALLBACK: tuple[tuple[str, str], ...] = (
    (r"libtorch_cuda_cu\.so|libtorch_cuda_cpp\.so", "libtorch-cuda-cu-missing"),
    (r"undefined symbol|GLIBCXX_[\d.]+' not found|cannot open shared object file", "undefined-symbol"),
    (r"No module named '?mmcv\._ext'?|No module named '?mmcv\.ops'?|miss in module _ext"
     r"|has no function", "mmcv-ops-missing"),
    (r"not compiled with GPU support", "not-compiled-with-gpu"),
    (r"no kernel image is available|invalid device function", "no-kernel-image"),
    (r"invalid configuration argument|too many resources requested for launch",
     "invalid-configuration-argument"),
    (r"CUDA out of memory|OutOfMemoryError", "cuda-oom"),
)


def classify_error(text: str) -> str | None:
    """The catalogue id that explains ``text`` (an exception or a log excerpt), or None."""
    try:
        from mmbuild.diagnose import diagnose_text
    except ImportError:
        diagnose_text = None
    if diagnose_text is not None:
        try:
            problems = diagnose_text(text).problems
        except Exception:  # noqa: BLE001 - classification must never fail a check run
            problems = []
        if problems:
            return problems[0].id
    for pattern, problem_id in _FALLBACK:
        if re.search(pattern, text):
            return problem_id
    return None


_NO_DEVICE_KERNEL = re.compile(r"implementation for device (\w+)(?::\d+)? not found", re.IGNORECASE)


def missing_device_kernel(text: str) -> str | None:
    """The device an op has no kernel for, from mmcv's registry message, or None."""
    match = _NO_DEVICE_KERNEL.search(text)
    return match.group(1).lower() if match else None


_NOT_BUILT_IN_SUBSET = re.compile(r"was not built by this mmbuild subset")


def not_built_in_subset(text: str) -> bool:
    """Whether ``text`` is the error a subset build binds in place of an op it left out."""
    return bool(_NOT_BUILT_IN_SUBSET.search(text))
