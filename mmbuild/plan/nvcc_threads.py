"""nvcc ``--threads``: compile a unit's -gencode targets in parallel when CPUs outnumber jobs.

nvcc runs cicc and ptxas once per target, one after another; ``--threads N`` (CUDA 11.2+) runs up
to N targets at once. Measured on mmcv 2.2.0's nms_cuda.cu with nvcc 13.0 on 2 CPUs
(scripts/bench/README.md): 5 targets 91.5 s with one thread, 60.7 s with one per target; one target
gains nothing. It helps only with CPUs that the jobs leave idle (MAX_JOBS held down by memory, or
more CPUs than units), so the threads are the CPUs per job, at most one per target. The output does
not change, so the choice is not part of the fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmbuild.knowledge.versions import parse_version
from mmbuild.util.argv import drop_options

FIRST_CUDA = (11, 2)
FLAGS = ("--threads", "-t")


@dataclass(frozen=True)
class NvccThreads:
    threads: int | None     # None: no --threads flag
    reason: str


def choose_nvcc_threads(cpus: int, jobs: int, targets: int, cuda_version: str | None,
                        user_args: list[str]) -> NvccThreads:
    if any(arg.split("=", 1)[0] in FLAGS for arg in user_args):
        return NvccThreads(None, "set in the user's MMCV_CUDA_ARGS")
    if targets < 2:
        return NvccThreads(None, "one -gencode target per unit")
    cuda = parse_version(cuda_version)
    if cuda is None or cuda.release[:2] < FIRST_CUDA:
        return NvccThreads(None, f"nvcc {cuda_version or '?'} has no --threads (CUDA 11.2+)")
    per_job = max(cpus, 1) // max(jobs, 1)
    if per_job < 2:
        return NvccThreads(None, f"{jobs} jobs already use the {cpus} CPUs")
    threads = min(targets, per_job)
    return NvccThreads(threads, f"{targets} -gencode targets per unit, {cpus} CPUs for {jobs} jobs")


def without_nvcc_threads(tokens: list[str]) -> list[str]:
    """nvcc arguments less ``--threads N`` / ``-t N`` / ``--threads=N`` (for the fingerprint)."""
    return drop_options(tokens, FLAGS)
