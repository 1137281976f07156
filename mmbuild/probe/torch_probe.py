"""The installed torch, as its own import reports it, read in a child process.

Importing torch inside mmbuild would let a broken install (a missing
``libtorch_cuda_cu.so``, undefined symbols) crash or hang the tool, so a child
``python -c`` imports it with a timeout and prints one JSON line. Detection order:
the child's report; a failed import becomes a finding classified from its error
text (the shared matcher of ``mmbuild.diagnose`` when it is installed).

The child also reads the GPUs through ``torch.cuda`` when CUDA is usable: that is
the first source of GPU facts (see :mod:`mmbuild.probe.gpus`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

from mmbuild.model.environment import GPU, TorchInfo
from mmbuild.model.findings import Finding, finding
from mmbuild.util.process import run_command

# A venv that uv filled has no bytecode (uv does not compile by default, pip does), and with
# PYTHONDONTWRITEBYTECODE none is ever written: each import of torch compiles it again (17-30 s
# measured on a loaded 2-core machine). The timeout is for a hang, not for that.
TIMEOUT_S = 120.0
MARKER = "MMBUILD-TORCH-PROBE:"

# Printed as one marked line, so import-time chatter on stdout does not matter.
CHILD_SCRIPT = r"""
import json, os, sys
try:
    import torch
except BaseException as exc:
    import traceback
    error = "".join(traceback.format_exception_only(type(exc), exc))
    print("MMBUILD-TORCH-PROBE:" + json.dumps({"error": error}))
    sys.exit(0)
report = {"version": torch.__version__, "cuda": torch.version.cuda,
          "cxx11_abi": getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", None),
          "path": os.path.dirname(torch.__file__), "arch_list": [], "cuda_available": False, "gpus": []}
report["thc_headers"] = os.path.isfile(os.path.join(report["path"], "include", "THC", "THCAtomics.cuh"))
try:
    report["arch_list"] = list(torch.cuda.get_arch_list())
    report["cuda_available"] = bool(torch.cuda.is_available())
    for i in range(torch.cuda.device_count() if report["cuda_available"] else 0):
        p = torch.cuda.get_device_properties(i)
        report["gpus"].append({"index": i, "name": p.name, "major": p.major, "minor": p.minor,
            "total_memory": p.total_memory, "multi_processor_count": p.multi_processor_count,
            "max_threads_per_block": getattr(p, "max_threads_per_block", None),
            "regs_per_block": getattr(p, "regs_per_block", None)})
except Exception as exc:
    report["cuda_error"] = "%s: %s" % (type(exc).__name__, exc)
print("MMBUILD-TORCH-PROBE:" + json.dumps(report))
"""


@dataclass
class TorchReport:
    """What the torch probe learned: torch itself, its GPUs, and what went wrong."""

    torch: TorchInfo | None = None
    gpus: list[GPU] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def parse_child_output(stdout: str) -> dict | None:
    """The JSON document of the child's marked line, or None."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                data = json.loads(line[len(MARKER):])
            except json.JSONDecodeError:
                return None
            return data if isinstance(data, dict) else None
    return None


def torch_info_from_report(data: dict) -> TorchInfo:
    abi = data.get("cxx11_abi")
    return TorchInfo(
        version=str(data["version"]),
        cuda=data.get("cuda"),
        cxx11_abi=bool(abi) if abi is not None else None,
        arch_list=[str(a) for a in data.get("arch_list") or []],
        path=data.get("path"),
        cuda_available=bool(data.get("cuda_available")),
        thc_headers=data.get("thc_headers"),
    )


def gpus_from_report(data: dict) -> list[GPU]:
    gpus = []
    for g in data.get("gpus") or []:
        memory = g.get("total_memory")
        gpus.append(GPU(
            index=int(g["index"]),
            name=str(g["name"]),
            capability=f"{g['major']}.{g['minor']}" if g.get("major") is not None else None,
            memory_mib=int(memory) // (1024 * 1024) if memory else None,
            max_threads_per_block=g.get("max_threads_per_block"),
            regs_per_block=g.get("regs_per_block"),
            multiprocessors=g.get("multi_processor_count"),
        ))
    return gpus


def last_error_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def classify_import_error(text: str) -> Finding:
    """A finding for torch's import error text, by catalogue id where one matches."""
    line = last_error_line(text)
    lowered = text.lower()
    if "no module named 'torch'" in lowered or 'no module named "torch"' in lowered:
        return finding("torch-missing", "error")
    from mmbuild.diagnose import classify

    problem = classify(text)
    if problem is not None:
        return finding(problem.id, "error", message_key="torch_import", line=line)
    return finding("torch-import-failed", "error", line=line)


def probe_torch(python: str | None = None, timeout: float = TIMEOUT_S,
                env: dict[str, str] | None = None) -> TorchReport:
    """Import torch in ``python`` (this interpreter by default) and read its report."""
    result = run_command([python or sys.executable, "-c", CHILD_SCRIPT], timeout=timeout, env=env)
    if result.error is not None:
        return TorchReport(findings=[finding("torch-import-failed", "error", message_key="not_probed",
                                             error=result.error)])
    data = parse_child_output(result.stdout)
    if data is None:
        text = result.stderr or result.stdout or f"exit status {result.returncode}"
        return TorchReport(findings=[classify_import_error(text)])
    if "error" in data:
        return TorchReport(findings=[classify_import_error(str(data["error"]))])
    try:
        report = TorchReport(torch_info_from_report(data), gpus_from_report(data))
    except (KeyError, TypeError, ValueError) as exc:
        return TorchReport(findings=[finding("torch-import-failed", "error", message_key="unreadable_report",
                                             error=exc)])
    if data.get("cuda_error"):
        report.findings.append(finding("probe-incomplete", message_key="torch_cuda",
                                       error=data["cuda_error"]))
    return report
