"""THREADS_PER_BLOCK: mmcv's 512 unless the user sets it or a device's limits require less.

A kernel launch of N threads needs N x (registers per thread) registers in one block; mmcv's kernels
are written for 512 threads x 128 registers = 65,536 registers. A device with a lower thread limit or
fewer registers per block gets the largest power of two that keeps that budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmbuild.knowledge import build_resources
from mmbuild.model.environment import GPU
from mmbuild.model.findings import Finding, finding


@dataclass
class ThreadsChoice:
    threads: int
    reason: str
    findings: list[Finding] = field(default_factory=list)


def device_limit(gpu: GPU) -> int | None:
    """Threads per block this device can launch for mmcv's kernels (None: unknown limits)."""
    limits = []
    if gpu.max_threads_per_block:
        limits.append(gpu.max_threads_per_block)
    if gpu.regs_per_block:
        limits.append(gpu.regs_per_block // build_resources.registers_per_thread_budget())
    if not limits:
        return None
    return _power_of_two_floor(min(limits))


def choose_threads_per_block(gpus: list[GPU], requested: int | None) -> ThreadsChoice:
    default = build_resources.default_threads_per_block()
    limited = [(device_limit(g), g) for g in gpus]
    limited = [(n, g) for n, g in limited if n is not None]
    tightest = min(limited, key=lambda item: item[0]) if limited else None
    if requested is not None:
        findings = []
        if tightest and requested > tightest[0]:
            findings.append(
                finding("invalid-configuration-argument", "warning", message_key="threads_per_block",
                        requested=requested, gpu=tightest[1].name, limit=tightest[0])
            )
        return ThreadsChoice(requested, f"--threads-per-block {requested}", findings)
    if tightest and tightest[0] < default:
        return ThreadsChoice(
            tightest[0], f"{tightest[1].name} allows {tightest[0]} (mmcv's default {default})"
        )
    return ThreadsChoice(default, "mmcv's default; every device allows it" if limited else "mmcv's default")


def _power_of_two_floor(n: int) -> int:
    power = 32
    while power * 2 <= n:
        power *= 2
    return power if n >= 32 else max(n, 1)
