"""Which embedded GPU code a device can run.

SASS for sm_XY runs on devices of the same major version with minor >= Y. PTX for compute_XY
is compiled by the driver for any device of capability >= XY (when the driver is at least as
new as the nvcc that wrote it). With neither, every launch fails with "no kernel image is
available for execution on the device".
"""

from __future__ import annotations

from mmbuild.knowledge.arch import Arch
from mmbuild.verify.fatbin import EmbeddedCode


def device_arch(capability: str) -> Arch:
    """A device's capability (``"8.6"``) as an arch; unreadable ones as 0.0, which runs nothing."""
    return Arch.parse(capability) or Arch(0, 0)


def runnable_code(code: EmbeddedCode, capability: str) -> tuple[list[int], list[int]]:
    """(SASS arches that run natively, PTX arches the driver can JIT) for a device."""
    device = device_arch(capability)
    return ([a for a in code.sass if Arch.parse(str(a)).sass_runs_on(device)],
            [a for a in code.ptx if Arch.parse(str(a)).ptx_runs_on(device)])


def code_names(code: EmbeddedCode) -> dict[str, list[str]]:
    """The arches as data: {"sass": ["sm_80", "sm_90"], "ptx": ["compute_90"]}."""
    return {"sass": [f"sm_{a}" for a in code.sass], "ptx": [f"compute_{a}" for a in code.ptx]}


def describe(code: EmbeddedCode) -> str:
    parts = [f"sm_{a}" for a in code.sass] + [f"compute_{a} (PTX)" for a in code.ptx]
    return ", ".join(parts) or "no GPU code"


def describe_reach(code: EmbeddedCode) -> str:
    """Which capabilities the code runs on, by the rules above: 'SASS runs on 8.0-8.x, 9.0-9.x; PTX is
    JIT-compiled on 9.0 and newer'."""
    lowest: dict[int, int] = {}
    for arch in code.sass:
        lowest[arch // 10] = min(lowest.get(arch // 10, 9), arch % 10)
    parts = []
    if lowest:
        spans = [f"{major}.{minor}-{major}.x" for major, minor in sorted(lowest.items())]
        parts.append("SASS runs on " + ", ".join(spans))
    if code.ptx:
        oldest = min(code.ptx)
        parts.append(f"PTX is JIT-compiled on {oldest // 10}.{oldest % 10} and newer")
    return "; ".join(parts) or "no GPU"
