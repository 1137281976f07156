"""Registers per kernel (cuobjdump or ptxas output) against THREADS_PER_BLOCK and the device.

A block of T threads launches only when ceil(T / 32) warps, each holding its registers in
units of 256 (32 threads x registers, rounded up), fit in the device's registers per block;
otherwise the launch fails with "too many resources requested for launch" / "invalid
configuration argument".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WARP = 32
REGISTER_UNIT = 256  # registers are allocated per warp in units of this many
DEFAULT_REGS_PER_BLOCK = 65536  # every architecture since 3.0


@dataclass
class KernelRegisters:
    arch: str      # "sm_80"
    kernel: str    # mangled name
    registers: int


_ARCH = re.compile(r"^\s*arch = (sm_\d+\w*)")
_FUNCTION = re.compile(r"^\s*Function (\S+?):\s*$")
_REG = re.compile(r"\bREG:(\d+)")
_PTXAS_ENTRY = re.compile(r"Compiling entry function '([^']+)' for '(sm_\d+\w*)'")
_PTXAS_USED = re.compile(r"Used (\d+) registers")


def parse_cuobjdump_resource_usage(text: str) -> list[KernelRegisters]:
    """``cuobjdump --dump-resource-usage`` (alias ``-res-usage``) output -> registers per kernel and arch."""
    found, arch, function = [], "?", None
    for line in text.splitlines():
        if m := _ARCH.match(line):
            arch = m.group(1)
        elif m := _FUNCTION.match(line):
            function = m.group(1)
        elif function and (m := _REG.search(line)):
            found.append(KernelRegisters(arch, function, int(m.group(1))))
            function = None
    return found


def parse_ptxas_verbose(text: str) -> list[KernelRegisters]:
    """``-Xptxas -v`` lines from a build log -> registers per entry function and arch."""
    found, entry = [], None
    for line in text.splitlines():
        if m := _PTXAS_ENTRY.search(line):
            entry = (m.group(1), m.group(2))
        elif entry and (m := _PTXAS_USED.search(line)):
            found.append(KernelRegisters(entry[1], entry[0], int(m.group(1))))
            entry = None
    return found


def unique_kernels(kernels: list[KernelRegisters]) -> list[KernelRegisters]:
    """One entry per (arch, kernel), the most registers where a kernel sits in several cubins
    (a template instantiated in several translation units), in the order first seen."""
    best: dict[tuple[str, str], KernelRegisters] = {}
    for k in kernels:
        key = (k.arch, k.kernel)
        if key not in best or k.registers > best[key].registers:
            best[key] = k
    return list(best.values())


def registers_per_block(registers: int, threads: int) -> int:
    per_warp = -(-registers * WARP // REGISTER_UNIT) * REGISTER_UNIT
    return -(-threads // WARP) * per_warp


def largest_block(registers: int, regs_per_block: int, max_threads: int = 1024) -> int:
    """The largest block size (a multiple of 32) whose registers fit; 0 when not even one warp fits."""
    per_warp = -(-max(registers, 1) * WARP // REGISTER_UNIT) * REGISTER_UNIT
    return min(regs_per_block // per_warp * WARP, max_threads - max_threads % WARP)


def launch_threads(kernel: str, threads_per_block: int) -> int:
    """The block ``kernel`` (a mangled name) is launched with: THREADS_PER_BLOCK, or the smaller
    block of mmbuild/knowledge/mmcv_kernel_launches.toml."""
    from mmbuild.knowledge import load_table

    for name, divisor in load_table("mmcv_kernel_launches")["divisors"].items():
        if f"{len(name)}{name}" in kernel:           # the Itanium-mangled identifier
            return max(WARP, threads_per_block // int(divisor))
    return threads_per_block


def kernels_over_budget(kernels: list[KernelRegisters], threads_per_block: int,
                        regs_per_block: int = DEFAULT_REGS_PER_BLOCK) -> list[KernelRegisters]:
    """The kernels that cannot launch with the block they get at ``threads_per_block`` on such a device."""
    return [k for k in kernels
            if registers_per_block(k.registers, launch_threads(k.kernel, threads_per_block)) > regs_per_block]
