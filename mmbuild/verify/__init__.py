"""``mmbuild verify``: check an installed mmcv from the outside.

A worker process (:mod:`mmbuild.verify.worker`) imports mmcv and runs the checks,
streaming one JSON line per result; the supervisor (:mod:`mmbuild.verify.supervisor`)
survives a crashing kernel, records it and restarts the worker past it. File-level
checks (the fatbinary's arches, register use) read ``_ext`` without loading it.
"""
