"""``mmbuild verify``: check an installed mmcv from the outside.

A worker process (:mod:`mmbuild.verify.worker`) imports mmcv and runs the checks,
streaming one JSON line per result; the supervisor (:mod:`mmbuild.verify.supervisor`)
survives a crashing kernel, records it and restarts the worker past it. File-level
checks (the fatbinary's arches, register use) read ``_ext`` without loading it.

Without a GPU, nothing is passed that needed one: the arches in ``_ext`` are reported as a skip
(listed in the check's ``data``), registers are judged against the 65536 registers per block of
every arch since 3.0 (device ``-``), and a CUDA build's CUDA checks are skipped on device ``cuda``.
"""
