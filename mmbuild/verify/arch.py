"""Which embedded GPU code a device can run.

SASS for sm_XY runs on devices of the same major version with minor >= Y. PTX for compute_XY
is compiled by the driver for any device of capability >= XY (when the driver is at least as
new as the nvcc that wrote it). With neither, every launch fails with "no kernel image is
available for execution on the device".
"""

from __future__ import annotations

from mmbuild.verify.fatbin import EmbeddedCode


def capability_number(capability: str) -> int:
    """'8.6' -> 86; '12.0' -> 120."""
    major, _, minor = capability.partition(".")
    return int(major) * 10 + int(minor or 0)


def sass_runs_on(sass: int, device: int) -> bool:
    return sass // 10 == device // 10 and sass % 10 <= device % 10


def runnable_code(code: EmbeddedCode, capability: str) -> tuple[list[int], list[int]]:
    """(SASS arches that run natively, PTX arches the driver can JIT) for a device."""
    device = capability_number(capability)
    return ([a for a in code.sass if sass_runs_on(a, device)], [a for a in code.ptx if a <= device])


def describe(code: EmbeddedCode) -> str:
    parts = [f"sm_{a}" for a in code.sass] + [f"compute_{a} (PTX)" for a in code.ptx]
    return ", ".join(parts) or "no GPU code"
